package oci

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/podrun/podrun/internal/runtime"
)

// sh is a container running a shell script. The script goes through
// Kubernetes' $(VAR) expansion, so the shell's $$ is written $$$$.
func sh(name, script string) corev1.Container {
	return corev1.Container{Name: name, Command: []string{"sh", "-c", script}}
}

// TestE2ESiblingOverLoopback runs a server and a client in one pod: the
// client reaches the server on 127.0.0.1 and sees the pod's hostname.
func TestE2ESiblingOverLoopback(t *testing.T) {
	t.Parallel()
	tr := newTestRuntime(t)
	pod := testPod("loopback-pod",
		sh("server", "echo pong | nc -l -p 8080"),
		sh("client", `hostname; for i in $(seq 100); do if echo ping | nc 127.0.0.1 8080; then exit 0; fi; usleep 50000; done; exit 1`),
	)
	sb := tr.sandbox(pod)
	server := tr.run(sb, pod, "server")
	client := tr.run(sb, pod, "client")
	st := tr.wait(client)
	if st.ExitCode != 0 || st.Reason != "Completed" {
		t.Fatalf("client ended with %d (%s), want 0 (Completed); log:\n%s", st.ExitCode, st.Reason, strings.Join(logContent(t, st.LogPath), "\n"))
	}
	want := []string{"stdout F loopback-pod", "stdout F pong"}
	if diff := cmp.Diff(want, logContent(t, st.LogPath)); diff != "" {
		t.Errorf("client log (-want +got):\n%s", diff)
	}
	if st := tr.wait(server); st.ExitCode != 0 {
		t.Errorf("server ended with %d, want 0", st.ExitCode)
	}
}

// TestE2EExitCodes checks exit codes, signals and reasons as the kubelet
// reports them.
func TestE2EExitCodes(t *testing.T) {
	t.Parallel()
	share := true
	for _, tc := range []struct {
		name       string
		script     string
		sharePID   bool
		signal     syscall.Signal
		wantCode   int32
		wantSignal syscall.Signal
		wantReason string
	}{
		{name: "exit 0", script: "exit 0", wantCode: 0, wantReason: "Completed"},
		{name: "exit 1", script: "exit 1", wantCode: 1, wantReason: "Error"},
		{name: "SIGKILL is 137", script: "exec sleep 1000", signal: syscall.SIGKILL, wantCode: 137, wantSignal: syscall.SIGKILL, wantReason: "Error"},
		{name: "SIGTERM to a process that is not PID 1 is 143", script: "exec sleep 1000", sharePID: true,
			signal: syscall.SIGTERM, wantCode: 143, wantSignal: syscall.SIGTERM, wantReason: "Error"},
		{name: "a shell killing itself with SIGTERM outside PID 1 is 143", script: "kill -TERM $$$$; sleep 5", sharePID: true,
			wantCode: 143, wantSignal: syscall.SIGTERM, wantReason: "Error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := newTestRuntime(t)
			pod := testPod("exit-pod", sh("main", tc.script))
			if tc.sharePID {
				pod.Spec.ShareProcessNamespace = &share
			}
			sb := tr.sandbox(pod)
			id := tr.run(sb, pod, "main")
			if tc.signal != 0 {
				if err := tr.SignalContainer(context.Background(), id, tc.signal); err != nil {
					t.Fatalf("SignalContainer: %v", err)
				}
			}
			st := tr.wait(id)
			got := []any{st.State, st.ExitCode, st.Signal, st.Reason}
			want := []any{runtime.StateExited, tc.wantCode, tc.wantSignal, tc.wantReason}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("state, code, signal, reason (-want +got):\n%s", diff)
			}
			if st.StartedAt.IsZero() || st.FinishedAt.Before(st.StartedAt) {
				t.Errorf("startedAt %v, finishedAt %v: want started, finished after", st.StartedAt, st.FinishedAt)
			}
			// Signalling an exited container succeeds.
			if err := tr.SignalContainer(context.Background(), id, syscall.SIGKILL); err != nil {
				t.Errorf("SignalContainer after exit: %v", err)
			}
		})
	}
}

// TestE2EOOMKilled runs a container over its memory limit, on runc and
// on crun.
func TestE2EOOMKilled(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"runc", "crun"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if name == "crun" {
				requireCrun(t)
			}
			tr := newTestRuntime(t, func(o *Options) { o.Runtime = name })
			c := sh("hog", `x=$(head -c 67108864 /dev/zero | tr '\0' a); echo survived`)
			c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("16Mi")}
			pod := testPod("oom-pod", c)
			sb := tr.sandbox(pod)
			st := tr.wait(tr.run(sb, pod, "hog"))
			if st.Reason != "OOMKilled" || st.ExitCode != 137 {
				t.Errorf("hog ended with %d (%s), want 137 (OOMKilled)", st.ExitCode, st.Reason)
			}
		})
	}
}

// TestE2ELogsSurviveKill checks the CRI log of a process killed right
// after writing, including a last line without newline.
func TestE2ELogsSurviveKill(t *testing.T) {
	t.Parallel()
	tr := newTestRuntime(t)
	share := true
	pod := testPod("logs-pod", sh("main", `echo one; echo two >&2; echo three; printf 'no newline'; kill -KILL $$$$`))
	pod.Spec.ShareProcessNamespace = &share
	sb := tr.sandbox(pod)
	st := tr.wait(tr.run(sb, pod, "main"))
	if st.ExitCode != 137 {
		t.Errorf("exit code %d, want 137", st.ExitCode)
	}
	got := logContent(t, st.LogPath)
	want := []string{"stderr F two", "stdout F no newline", "stdout F one", "stdout F three"}
	// The two streams are separate pipes; only each stream's order is kept.
	stdout := filterPrefix(got, "stdout")
	if diff := cmp.Diff([]string{"stdout F one", "stdout F three", "stdout F no newline"}, stdout); diff != "" {
		t.Errorf("stdout order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("log entries (-want +got):\n%s", diff)
	}
}

func filterPrefix(lines []string, prefix string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// TestE2ETerminationMessage checks terminationMessagePath and
// FallbackToLogsOnError.
func TestE2ETerminationMessage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		c       corev1.Container
		want    string
		wantErr int32
	}{
		{name: "file at the default path", c: sh("main", "echo -n bye > /dev/termination-log; exit 3"), want: "bye", wantErr: 3},
		{name: "file at a custom path", c: func() corev1.Container {
			c := sh("main", "echo custom > /tmp/msg")
			c.TerminationMessagePath = "/tmp/msg"
			return c
		}(), want: "custom\n"},
		{name: "fallback to logs on error", c: func() corev1.Container {
			c := sh("main", "echo first; echo last; exit 2")
			c.TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
			return c
		}(), want: "first\nlast\n", wantErr: 2},
		{name: "no fallback on success", c: func() corev1.Container {
			c := sh("main", "echo out")
			c.TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
			return c
		}(), want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := newTestRuntime(t)
			pod := testPod("msg-pod", tc.c)
			sb := tr.sandbox(pod)
			st := tr.wait(tr.run(sb, pod, "main"))
			if st.ExitCode != tc.wantErr || st.Message != tc.want {
				t.Errorf("exit %d message %q, want %d %q", st.ExitCode, st.Message, tc.wantErr, tc.want)
			}
		})
	}
}

// TestE2EStartError checks a command that does not exist.
func TestE2EStartError(t *testing.T) {
	t.Parallel()
	tr := newTestRuntime(t)
	pod := testPod("bad-pod", corev1.Container{Name: "main", Command: []string{"/no/such/binary"}})
	sb := tr.sandbox(pod)
	id := tr.create(sb, pod, "main")
	err := tr.StartContainer(context.Background(), id)
	var se *runtime.StartError
	if !errors.As(err, &se) || se.Reason != runtime.ReasonRunContainerError || !strings.Contains(se.Message, "/no/such/binary") {
		t.Fatalf("StartContainer error = %v, want a RunContainerError naming the binary", err)
	}
	st := tr.wait(id)
	if st.Reason != "StartError" || st.ExitCode != 128 || st.Message != se.Message {
		t.Errorf("status %d %s %q, want 128 StartError %q", st.ExitCode, st.Reason, st.Message, se.Message)
	}
}

// TestE2EExecSync runs commands in a running container.
func TestE2EExecSync(t *testing.T) {
	t.Parallel()
	tr := newTestRuntime(t)
	c := sh("main", "exec sleep 1000")
	c.Env = []corev1.EnvVar{{Name: "GREETING", Value: "hello"}}
	pod := testPod("exec-pod", c)
	sb := tr.sandbox(pod)
	id := tr.run(sb, pod, "main")
	ctx := context.Background()
	res, err := tr.ExecSync(ctx, id, []string{"sh", "-c", "echo $GREETING; echo oops >&2; exit 7"}, 0)
	if err != nil {
		t.Fatalf("ExecSync: %v", err)
	}
	if string(res.Stdout) != "hello\n" || string(res.Stderr) != "oops\n" || res.ExitCode != 7 {
		t.Errorf("ExecSync = %q %q %d, want %q %q 7", res.Stdout, res.Stderr, res.ExitCode, "hello\n", "oops\n")
	}
	start := time.Now()
	_, err = tr.ExecSync(ctx, id, []string{"sleep", "30"}, 300*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ExecSync past its timeout = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("ExecSync with a 300ms timeout took %v", d)
	}
	if err := tr.SignalContainer(ctx, id, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	tr.wait(id)
	if _, err := tr.ExecSync(ctx, id, []string{"true"}, 0); err == nil {
		t.Errorf("ExecSync in an exited container succeeded")
	}
}
