package runtimetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podrun/podrun/internal/runtime"
)

// Harness is one fresh runtime for one test case.
type Harness struct {
	// Runtime is the runtime under test, with no sandboxes.
	Runtime runtime.Runtime
	// Advance lets d of time pass: a fake steps its clock, a real runtime
	// sleeps. It is called from the test goroutine while other goroutines
	// may be blocked in WaitContainer.
	Advance func(d time.Duration)
	// Image is the image reference containers use ("busybox").
	Image string
	// LogDir is an empty directory for log files.
	LogDir string
}

// RunSuite runs every contract case against runtimes made by newRuntime,
// one per case.
func RunSuite(t *testing.T, newRuntime func(t *testing.T) Harness) {
	cases := []struct {
		name string
		run  func(t *testing.T, h Harness)
	}{
		{"SandboxLifecycle", testSandboxLifecycle},
		{"CreateTwiceIsAlreadyExists", testCreateTwice},
		{"UnknownIsNotFound", testUnknownIsNotFound},
		{"ExitCodesPreserved", testExitCodes},
		{"TrapTermExitsPromptly", testTrapTerm},
		{"PID1IgnoresTermWithoutHandler", testIgnoreTerm},
		{"SignalAndRemoveAreIdempotent", testIdempotent},
		{"WaitReturnsAfterExit", testWait},
		{"LogsWritten", testLogs},
		{"LogsSurviveRemoval", testLogsSurviveRemoval},
		{"ExecSync", testExec},
		{"StartFailureIsStartError", testStartFailure},
		{"RemovePodSandboxRemovesEverything", testRemoveSandbox},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newRuntime(t))
		})
	}
}

// testCtx bounds a case in real time so a broken runtime fails instead of
// hanging; it is never used to wait for progress.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newPod returns a pod whose containers run the given shell scripts.
func newPod(t *testing.T, h Harness, scripts ...string) *corev1.Pod {
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 50 {
		name = name[len(name)-50:]
	}
	name = strings.Trim(name, "-")
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)}}
	for i, s := range scripts {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{
			Name: fmt.Sprintf("c%d", i), Image: h.Image, Command: []string{"sh", "-c", s},
		})
	}
	return pod
}

// sandboxFor creates the pod's sandbox and removes it at cleanup.
func sandboxFor(t *testing.T, ctx context.Context, h Harness, pod *corev1.Pod) string {
	t.Helper()
	id, err := h.Runtime.RunPodSandbox(ctx, runtime.SandboxConfig{Pod: pod, LogDir: h.LogDir})
	if err != nil {
		t.Fatalf("RunPodSandbox(%s): %v", pod.Name, err)
	}
	t.Cleanup(func() { _ = h.Runtime.RemovePodSandbox(context.Background(), id) })
	return id
}

// containerCfg describes attempt of the i-th container of pod.
func containerCfg(h Harness, pod *corev1.Pod, i, attempt int) runtime.ContainerConfig {
	c := &pod.Spec.Containers[i]
	return runtime.ContainerConfig{
		Name: c.Name, Attempt: attempt, Pod: pod, Container: c, Image: h.Image,
		LogPath: filepath.Join(h.LogDir, fmt.Sprintf("%s_%s_%d.log", pod.Name, c.Name, attempt)),
	}
}

// start creates and starts the i-th container of pod.
func start(t *testing.T, ctx context.Context, h Harness, sb string, pod *corev1.Pod, i int) string {
	t.Helper()
	id, err := h.Runtime.CreateContainer(ctx, sb, containerCfg(h, pod, i, 0))
	if err != nil {
		t.Fatalf("CreateContainer(%s): %v", pod.Spec.Containers[i].Name, err)
	}
	if err := h.Runtime.StartContainer(ctx, id); err != nil {
		t.Fatalf("StartContainer(%s): %v", id, err)
	}
	return id
}

// waitExit waits for id to exit while advancing time by step until max.
func waitExit(t *testing.T, ctx context.Context, h Harness, id string, step, max time.Duration) runtime.ContainerStatus {
	t.Helper()
	type result struct {
		st  runtime.ContainerStatus
		err error
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan result, 1)
	go func() {
		st, err := h.Runtime.WaitContainer(wctx, id)
		done <- result{st, err}
	}()
	for waited := time.Duration(0); waited < max; waited += step {
		select {
		case r := <-done:
			if r.err != nil {
				t.Fatalf("WaitContainer(%s): %v", id, r.err)
			}
			return r.st
		default:
		}
		h.Advance(step)
	}
	// Time enough has passed: the wait must return now (for a fake clock
	// the goroutine may simply not have run yet).
	r := <-done
	if r.err != nil {
		st, _ := h.Runtime.ContainerStatus(ctx, id)
		t.Fatalf("container %s did not exit within %s: %v; status %+v", id, max, r.err, st)
	}
	return r.st
}

func testSandboxLifecycle(t *testing.T, h Harness) {
	ctx := testCtx(t)
	pod := newPod(t, h)
	id, err := h.Runtime.RunPodSandbox(ctx, runtime.SandboxConfig{Pod: pod, LogDir: h.LogDir})
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	st, err := h.Runtime.PodSandboxStatus(ctx, id)
	if err != nil || st.ID != id || !st.Ready {
		t.Errorf("PodSandboxStatus(%s) = %+v, %v; want ready sandbox %s", id, st, err, id)
	}
	if err := h.Runtime.RemovePodSandbox(ctx, id); err != nil {
		t.Fatalf("RemovePodSandbox: %v", err)
	}
	if _, err := h.Runtime.PodSandboxStatus(ctx, id); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("PodSandboxStatus after removal: err = %v, want ErrNotFound", err)
	}
	if err := h.Runtime.RemovePodSandbox(ctx, id); err != nil {
		t.Errorf("second RemovePodSandbox: %v, want nil (idempotent)", err)
	}
}

func testCreateTwice(t *testing.T, h Harness) {
	ctx := testCtx(t)
	pod := newPod(t, h, "sleep 600")
	sb := sandboxFor(t, ctx, h, pod)
	id0, err := h.Runtime.CreateContainer(ctx, sb, containerCfg(h, pod, 0, 0))
	if err != nil {
		t.Fatalf("first CreateContainer: %v", err)
	}
	if _, err := h.Runtime.CreateContainer(ctx, sb, containerCfg(h, pod, 0, 0)); !errors.Is(err, runtime.ErrAlreadyExists) {
		t.Errorf("second CreateContainer of the same attempt: err = %v, want ErrAlreadyExists", err)
	}
	id1, err := h.Runtime.CreateContainer(ctx, sb, containerCfg(h, pod, 0, 1))
	if err != nil {
		t.Fatalf("CreateContainer attempt 1: %v", err)
	}
	if id0 == id1 {
		t.Errorf("attempts 0 and 1 share ID %q", id0)
	}
	st, err := h.Runtime.ContainerStatus(ctx, id1)
	if err != nil || st.State != runtime.StateCreated || st.Attempt != 1 || st.Name != "c0" {
		t.Errorf("ContainerStatus(attempt 1) = %+v, %v; want Created c0 attempt 1", st, err)
	}
}

func testUnknownIsNotFound(t *testing.T, h Harness) {
	ctx := testCtx(t)
	if _, err := h.Runtime.ContainerStatus(ctx, "no-such-container"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("ContainerStatus(unknown): err = %v, want ErrNotFound", err)
	}
	if _, err := h.Runtime.PodSandboxStatus(ctx, "no-such-sandbox"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("PodSandboxStatus(unknown): err = %v, want ErrNotFound", err)
	}
	if _, err := h.Runtime.WaitContainer(ctx, "no-such-container"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("WaitContainer(unknown): err = %v, want ErrNotFound", err)
	}
	pod := newPod(t, h, "exit 0")
	if _, err := h.Runtime.CreateContainer(ctx, "no-such-sandbox", containerCfg(h, pod, 0, 0)); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("CreateContainer in unknown sandbox: err = %v, want ErrNotFound", err)
	}
}

func testExitCodes(t *testing.T, h Harness) {
	for _, tc := range []struct {
		name, script string
		kill         bool
		wantCode     int32
		wantSignal   syscall.Signal
		wantReason   string
	}{
		{name: "exit 0", script: "exit 0", wantCode: 0, wantReason: "Completed"},
		{name: "exit 1", script: "sleep 1; exit 1", wantCode: 1, wantReason: "Error"},
		{name: "exit 42", script: "exit 42", wantCode: 42, wantReason: "Error"},
		{name: "SIGKILL", script: "sleep 600", kill: true, wantCode: 137, wantSignal: syscall.SIGKILL, wantReason: "Error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			pod := newPod(t, h, tc.script)
			sb := sandboxFor(t, ctx, h, pod)
			id := start(t, ctx, h, sb, pod, 0)
			if tc.kill {
				if err := h.Runtime.SignalContainer(ctx, id, syscall.SIGKILL); err != nil {
					t.Fatalf("SignalContainer(SIGKILL): %v", err)
				}
			}
			st := waitExit(t, ctx, h, id, 500*time.Millisecond, 10*time.Second)
			if st.State != runtime.StateExited || st.ExitCode != tc.wantCode || st.Reason != tc.wantReason ||
				(tc.wantSignal != 0 && st.Signal != tc.wantSignal) {
				t.Errorf("%q: status = state %s exit %d signal %d reason %q; want Exited exit %d signal %d reason %q",
					tc.script, st.State, st.ExitCode, st.Signal, st.Reason, tc.wantCode, tc.wantSignal, tc.wantReason)
			}
			if st.StartedAt.IsZero() || st.FinishedAt.Before(st.StartedAt) {
				t.Errorf("%q: startedAt %s finishedAt %s: want startedAt set and not after finishedAt", tc.script, st.StartedAt, st.FinishedAt)
			}
		})
	}
}

func testTrapTerm(t *testing.T, h Harness) {
	ctx := testCtx(t)
	pod := newPod(t, h, "trap 'exit 0' TERM; sleep 600 & wait")
	sb := sandboxFor(t, ctx, h, pod)
	id := start(t, ctx, h, sb, pod, 0)
	h.Advance(time.Second)
	if err := h.Runtime.SignalContainer(ctx, id, syscall.SIGTERM); err != nil {
		t.Fatalf("SignalContainer(SIGTERM): %v", err)
	}
	st := waitExit(t, ctx, h, id, 200*time.Millisecond, 5*time.Second)
	if st.ExitCode != 0 || st.Reason != "Completed" {
		t.Errorf("after SIGTERM: exit %d reason %q, want 0 Completed", st.ExitCode, st.Reason)
	}
}

func testIgnoreTerm(t *testing.T, h Harness) {
	ctx := testCtx(t)
	pod := newPod(t, h, "sleep 600")
	sb := sandboxFor(t, ctx, h, pod)
	id := start(t, ctx, h, sb, pod, 0)
	h.Advance(500 * time.Millisecond)
	if err := h.Runtime.SignalContainer(ctx, id, syscall.SIGTERM); err != nil {
		t.Fatalf("SignalContainer(SIGTERM): %v", err)
	}
	h.Advance(2 * time.Second)
	if st, err := h.Runtime.ContainerStatus(ctx, id); err != nil || st.State != runtime.StateRunning {
		t.Fatalf("2 s after SIGTERM: state %s err %v, want still Running (PID 1 ignores SIGTERM)", st.State, err)
	}
	if err := h.Runtime.SignalContainer(ctx, id, syscall.SIGKILL); err != nil {
		t.Fatalf("SignalContainer(SIGKILL): %v", err)
	}
	if st := waitExit(t, ctx, h, id, 200*time.Millisecond, 5*time.Second); st.ExitCode != 137 {
		t.Errorf("after SIGKILL: exit %d, want 137", st.ExitCode)
	}
}

func testIdempotent(t *testing.T, h Harness) {
	ctx := testCtx(t)
	pod := newPod(t, h, "exit 3")
	sb := sandboxFor(t, ctx, h, pod)
	id := start(t, ctx, h, sb, pod, 0)
	st := waitExit(t, ctx, h, id, 200*time.Millisecond, 5*time.Second)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		if err := h.Runtime.SignalContainer(ctx, id, sig); err != nil {
			t.Errorf("SignalContainer(%s) on exited container: %v, want nil", sig, err)
		}
	}
	if again, err := h.Runtime.ContainerStatus(ctx, id); err != nil || again.ExitCode != st.ExitCode {
		t.Errorf("status after signalling an exited container = exit %d, %v; want exit %d unchanged", again.ExitCode, err, st.ExitCode)
	}
	for i := 0; i < 2; i++ {
		if err := h.Runtime.RemoveContainer(ctx, id); err != nil {
			t.Errorf("RemoveContainer #%d: %v, want nil", i+1, err)
		}
	}
	if _, err := h.Runtime.ContainerStatus(ctx, id); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("ContainerStatus after removal: err = %v, want ErrNotFound", err)
	}
}

func testWait(t *testing.T, h Harness) {
	ctx := testCtx(t)
	pod := newPod(t, h, "sleep 2; exit 3")
	sb := sandboxFor(t, ctx, h, pod)
	id := start(t, ctx, h, sb, pod, 0)
	st := waitExit(t, ctx, h, id, 500*time.Millisecond, 10*time.Second)
	if st.ExitCode != 3 {
		t.Errorf("WaitContainer: exit %d, want 3", st.ExitCode)
	}
	if d := st.FinishedAt.Sub(st.StartedAt); d < 2*time.Second || d > 4*time.Second {
		t.Errorf("ran %s between startedAt and finishedAt, want about 2 s", d)
	}
	again, err := h.Runtime.WaitContainer(ctx, id)
	if err != nil || again.ExitCode != 3 {
		t.Errorf("WaitContainer on an exited container = exit %d, %v; want 3 at once", again.ExitCode, err)
	}
}

func testLogs(t *testing.T, h Harness) {
	ctx := testCtx(t)
	pod := newPod(t, h, "echo hello; echo world; exit 0")
	sb := sandboxFor(t, ctx, h, pod)
	id := start(t, ctx, h, sb, pod, 0)
	waitExit(t, ctx, h, id, 200*time.Millisecond, 5*time.Second)
	path := containerCfg(h, pod, 0, 0).LogPath
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read log %s: %v", path, err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.SplitN(line, " ", 4)
		if len(f) != 4 {
			t.Fatalf("log line %q is not in CRI format (time stream tag text)", line)
		}
		if _, err := time.Parse(time.RFC3339Nano, f[0]); err != nil || f[1] != "stdout" || f[2] != "F" {
			t.Errorf("log line %q: want RFC3339Nano timestamp, stdout, F", line)
		}
		got = append(got, f[3])
	}
	if strings.Join(got, ",") != "hello,world" {
		t.Errorf("log lines = %q, want [hello world]", got)
	}
}

func testLogsSurviveRemoval(t *testing.T, h Harness) {
	ctx := testCtx(t)
	pod := newPod(t, h, "echo first; exit 1")
	sb := sandboxFor(t, ctx, h, pod)
	id := start(t, ctx, h, sb, pod, 0)
	waitExit(t, ctx, h, id, 200*time.Millisecond, 5*time.Second)
	if err := h.Runtime.RemoveContainer(ctx, id); err != nil {
		t.Fatalf("RemoveContainer: %v", err)
	}
	pod.Spec.Containers[0].Command = []string{"sh", "-c", "echo second"}
	id1, err := h.Runtime.CreateContainer(ctx, sb, containerCfg(h, pod, 0, 1))
	if err != nil {
		t.Fatalf("CreateContainer attempt 1: %v", err)
	}
	if err := h.Runtime.StartContainer(ctx, id1); err != nil {
		t.Fatalf("StartContainer attempt 1: %v", err)
	}
	waitExit(t, ctx, h, id1, 200*time.Millisecond, 5*time.Second)
	for attempt, want := range []string{"first", "second"} {
		path := containerCfg(h, pod, 0, attempt).LogPath
		data, err := os.ReadFile(path)
		if err != nil || !strings.HasSuffix(strings.TrimSpace(string(data)), " stdout F "+want) {
			t.Errorf("log of attempt %d (%s) = %q, %v; want the line %q (the previous instance's log outlives its removal)", attempt, path, data, err, want)
		}
	}
}

func testExec(t *testing.T, h Harness) {
	ctx := testCtx(t)
	pod := newPod(t, h, "trap 'exit 0' TERM; sleep 600 & wait")
	sb := sandboxFor(t, ctx, h, pod)
	id := start(t, ctx, h, sb, pod, 0)
	res, err := h.Runtime.ExecSync(ctx, id, []string{"sh", "-c", "echo hi; exit 3"}, 10*time.Second)
	if err != nil || res.ExitCode != 3 || string(res.Stdout) != "hi\n" {
		t.Errorf("ExecSync = exit %d stdout %q err %v; want exit 3 stdout \"hi\\n\"", res.ExitCode, res.Stdout, err)
	}
	res, err = h.Runtime.ExecSync(ctx, id, []string{"sh", "-c", "touch /tmp/x; test -f /tmp/x"}, 10*time.Second)
	if err != nil || res.ExitCode != 0 {
		t.Errorf("ExecSync touch+test = exit %d err %v; want 0 (exec shares the container's files)", res.ExitCode, err)
	}
	if _, err := h.Runtime.ExecSync(ctx, "no-such-container", []string{"true"}, time.Second); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("ExecSync(unknown): err = %v, want ErrNotFound", err)
	}
}

func testStartFailure(t *testing.T, h Harness) {
	ctx := testCtx(t)
	pod := newPod(t, h, "")
	pod.Spec.Containers[0].Command = []string{"/no/such/binary"}
	sb := sandboxFor(t, ctx, h, pod)
	id, err := h.Runtime.CreateContainer(ctx, sb, containerCfg(h, pod, 0, 0))
	if err == nil {
		err = h.Runtime.StartContainer(ctx, id)
	}
	var se *runtime.StartError
	if !errors.As(err, &se) || (se.Reason != runtime.ReasonRunContainerError && se.Reason != runtime.ReasonCreateContainerError) {
		t.Fatalf("starting a missing binary: err = %v, want *StartError with RunContainerError or CreateContainerError", err)
	}
	if id != "" && se.Reason == runtime.ReasonRunContainerError {
		st, err := h.Runtime.ContainerStatus(ctx, id)
		if err != nil || st.State != runtime.StateExited || st.Reason != "StartError" || st.ExitCode != 128 {
			t.Errorf("status after failed start = %s %q exit %d, %v; want Exited StartError 128", st.State, st.Reason, st.ExitCode, err)
		}
	}
}

func testRemoveSandbox(t *testing.T, h Harness) {
	ctx := testCtx(t)
	pod := newPod(t, h, "sleep 600", "trap 'exit 0' TERM; sleep 600 & wait", "exit 0")
	sb, err := h.Runtime.RunPodSandbox(ctx, runtime.SandboxConfig{Pod: pod, LogDir: h.LogDir})
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	var ids []string
	for i := range pod.Spec.Containers {
		ids = append(ids, start(t, ctx, h, sb, pod, i))
	}
	list, err := h.Runtime.ListContainers(ctx, sb)
	if err != nil || len(list) != 3 {
		t.Fatalf("ListContainers = %d containers, %v; want 3", len(list), err)
	}
	if err := h.Runtime.RemovePodSandbox(ctx, sb); err != nil {
		t.Fatalf("RemovePodSandbox: %v", err)
	}
	for _, id := range ids {
		if _, err := h.Runtime.ContainerStatus(ctx, id); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("ContainerStatus(%s) after RemovePodSandbox: err = %v, want ErrNotFound", id, err)
		}
	}
	if _, err := h.Runtime.PodSandboxStatus(ctx, sb); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("PodSandboxStatus after RemovePodSandbox: err = %v, want ErrNotFound", err)
	}
}
