package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podrun/podrun/internal/logs"
	"github.com/podrun/podrun/internal/store"
)

var logT0 = time.Date(2026, 12, 3, 17, 20, 0, 0, time.UTC)

// logPod is a pod with a finished init container, a sidecar restarted
// once and a running main container; bad-image's image cannot be pulled.
func logPod() *corev1.Pod {
	always := corev1.ContainerRestartPolicyAlways
	started := metav1.NewTime(logT0)
	term := func(id string, code int32) *corev1.ContainerStateTerminated {
		return &corev1.ContainerStateTerminated{ContainerID: id, ExitCode: code, Reason: "Completed", StartedAt: started, FinishedAt: started}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", UID: "uid-1", Labels: map[string]string{"job-name": "nightly"}},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "setup"}, {Name: "proxy", RestartPolicy: &always}},
			Containers:     []corev1.Container{{Name: "main"}, {Name: "bad-image"}},
		},
		Status: corev1.PodStatus{
			InitContainerStatuses: []corev1.ContainerStatus{
				{Name: "setup", ContainerID: "runc://s0", State: corev1.ContainerState{Terminated: term("runc://s0", 0)}},
				{Name: "proxy", ContainerID: "runc://p1", RestartCount: 1,
					State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}},
					LastTerminationState: corev1.ContainerState{Terminated: term("runc://p0", 1)}},
			},
			ContainerStatuses: []corev1.ContainerStatus{
				{Name: "main", ContainerID: "runc://m0", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}},
				{Name: "bad-image", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}}},
			},
		},
	}
}

// writeLog appends lines to the log of one container instance, one second
// apart from start; "E:" marks a stderr line.
func writeLog(t *testing.T, s *store.Store, pod *corev1.Pod, container string, attempt int, start time.Time, lines ...string) string {
	t.Helper()
	path := filepath.Join(s.LogDir(pod.Namespace, pod.Name, pod.UID), container, fmt.Sprintf("%d.log", attempt))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i, l := range lines {
		e := logs.Entry{Time: start.Add(time.Duration(i) * time.Second), Stream: logs.Stdout, Content: []byte(l)}
		if rest, ok := strings.CutPrefix(l, "E:"); ok {
			e.Stream, e.Content = logs.Stderr, []byte(rest)
		}
		if _, err := f.Write(logs.Format(e)); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func logFixture(t *testing.T) (*store.Store, *globalOptions, *clocktesting.FakeClock) {
	s, g := newTestStore(t)
	pod := logPod()
	if _, err := s.PutPod(t.Context(), pod); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"nightly", "idle"} {
		job := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
			Spec:       batchv1.JobSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"job-name": name}}},
		}
		if _, err := s.PutJob(t.Context(), job); err != nil {
			t.Fatal(err)
		}
	}
	writeLog(t, s, pod, "setup", 0, logT0, "setting up", "E:warning: slow disk", "done")
	writeLog(t, s, pod, "proxy", 0, logT0.Add(10*time.Second), "proxy v1 starting", "E:crash")
	writeLog(t, s, pod, "proxy", 1, logT0.Add(20*time.Second), "proxy v1 starting", "proxy ready")
	writeLog(t, s, pod, "main", 0, logT0.Add(30*time.Second), "main 1", "main 2", "main 3", "main 4")
	return s, g, clocktesting.NewFakeClock(logT0.Add(35 * time.Second))
}

// TestLogsTranscript covers container choice, instances, filters and the
// kubelet's and kubectl's errors.
func TestLogsTranscript(t *testing.T) {
	_, g, clk := logFixture(t)
	var b strings.Builder
	for _, args := range [][]string{
		{"web"},
		{"pod/web", "-c", "setup"},
		{"web", "setup", "--timestamps"},
		{"web", "-c", "proxy"},
		{"web", "-c", "proxy", "--previous"},
		{"web", "-c", "setup", "-p"},
		{"web", "-c", "main", "--tail", "2"},
		{"web", "-c", "main", "--since", "3s"},
		{"web", "--all-containers", "--prefix"},
		{"web", "-c", "bad-image"},
		{"web", "-c", "nope"},
		{"missing"},
		{"web", "-c", "setup", "-f", "--tail", "1"},
		{"web", "main", "-c", "main"},
		{"web", "-c", "main", "--all-containers"},
		{"job/nightly", "-c", "setup", "--tail", "1"},
		{"job/idle"},
		{"job/missing"},
		{"event/x"},
	} {
		b.WriteString(transcript("logs", args, execute(t, t.Context(), logsCommand, g, clk, args...)))
	}
	checkGolden(t, "logs/transcript.txt", b.String())
}

// TestLogsFollow follows two running containers: lines appended while
// following are printed, and the command returns once both instances have
// stopped running, after printing the lines written just before.
func TestLogsFollow(t *testing.T) {
	s, g, clk := logFixture(t)
	pod := logPod()
	ctx := t.Context()
	if _, err := s.UpdatePod(ctx, "default", "web", func(p *corev1.Pod) error {
		p.Spec.Containers = p.Spec.Containers[:1] // no bad-image
		p.Status.ContainerStatuses = p.Status.ContainerStatuses[:1]
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	lines, out := newLineReader(t)
	done := make(chan error, 1)
	go func() {
		done <- executeTo(ctx, logsCommand, g, clk, Streams{Out: out, ErrOut: out}, "web", "--all-containers", "--prefix", "-f", "--tail", "1")
	}()
	var got []string
	for range 3 { // setup's last line, then proxy's and main's: both followed
		got = append(got, lines.next())
	}
	// The two followed lines can come in either order.
	if !strings.Contains(strings.Join(got, "\n"), "[pod/web/proxy] proxy ready") || !strings.Contains(strings.Join(got, "\n"), "[pod/web/main] main 4") {
		t.Fatalf("first lines = %q", got)
	}
	writeLog(t, s, pod, "main", 0, logT0.Add(40*time.Second), "main 5")
	if l := lines.next(); l != "[pod/web/main] main 5" {
		t.Errorf("appended line = %q", l)
	}
	// main exits: its last line is written, then the status says so.
	writeLog(t, s, pod, "main", 0, logT0.Add(41*time.Second), "main bye")
	if _, err := s.UpdatePod(context.Background(), "default", "web", func(p *corev1.Pod) error {
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ContainerID: "runc://m0"}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if l := lines.next(); l != "[pod/web/main] main bye" {
		t.Errorf("last line of main = %q", l)
	}
	// The sidecar is still followed; the pod's deletion ends it.
	writeLog(t, s, pod, "proxy", 1, logT0.Add(42*time.Second), "proxy still here")
	if l := lines.next(); l != "[pod/web/proxy] proxy still here" {
		t.Errorf("sidecar line = %q", l)
	}
	select {
	case err := <-done:
		t.Fatalf("logs -f returned %v while the sidecar still runs", err)
	default:
	}
	if err := s.DeletePod(context.Background(), "default", "web"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("logs -f returned %v", err)
	}
	if diff := cmp.Diff([]string(nil), lines.rest()); diff != "" {
		t.Errorf("unexpected output after the end (-want +got):\n%s", diff)
	}
}

// TestLogsPodWithoutUID reads the log directory the podworker names after
// namespace and name when the stored pod has no UID.
func TestLogsPodWithoutUID(t *testing.T) {
	s, g := newTestStore(t)
	pod := logPod()
	pod.UID = ""
	pod.Name = "NoUID"
	if _, err := s.PutPod(t.Context(), pod); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.LogDir("default", "NoUID", "default-nouid"), "main", "0.log")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, logs.Format(logs.Entry{Time: logT0, Stream: logs.Stdout, Content: []byte("hello")}), 0o644); err != nil {
		t.Fatal(err)
	}
	r := execute(t, t.Context(), logsCommand, g, clocktesting.NewFakeClock(logT0), "NoUID", "-c", "main")
	if diff := cmp.Diff(result{stdout: "hello\n"}, r, cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("logs of a pod without UID (-want +got):\n%s", diff)
	}
}

// TestLogsFollowWaitsForStart follows a container that has not started:
// like kubectl logs -f, it reports why and tries again on each change of
// the pod, then follows the container once it runs, or gives up after
// --pod-running-timeout.
func TestLogsFollowWaitsForStart(t *testing.T) {
	waiting := func(p *corev1.Pod) error {
		p.Status.ContainerStatuses[0] = corev1.ContainerStatus{Name: "main", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}
		return nil
	}
	setup := func(t *testing.T) (*store.Store, *globalOptions, *clocktesting.FakeClock) {
		s, g, clk := logFixture(t)
		if _, err := s.UpdatePod(t.Context(), "default", "web", waiting); err != nil {
			t.Fatal(err)
		}
		return s, g, clk
	}
	t.Run("starts", func(t *testing.T) {
		s, g, clk := setup(t)
		lines, out := newLineReader(t)
		done := make(chan error, 1)
		go func() {
			done <- executeTo(t.Context(), logsCommand, g, clk, Streams{Out: out, ErrOut: out}, "web", "-c", "main", "-f")
		}()
		if l := lines.next(); l != `container "main" in pod "web" is waiting to start: ContainerCreating` {
			t.Fatalf("first line = %q", l)
		}
		pod := logPod()
		writeLog(t, s, pod, "main", 1, logT0.Add(time.Minute), "second life")
		if _, err := s.UpdatePod(t.Context(), "default", "web", func(p *corev1.Pod) error {
			p.Status.ContainerStatuses[0] = corev1.ContainerStatus{Name: "main", ContainerID: "runc://m1", RestartCount: 1,
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if l := lines.next(); l != "second life" {
			t.Errorf("line of the started container = %q", l)
		}
		if _, err := s.UpdatePod(t.Context(), "default", "web", waiting); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Errorf("logs -f returned %v", err)
		}
	})
	t.Run("times out", func(t *testing.T) {
		_, g, clk := setup(t)
		lines, out := newLineReader(t)
		done := make(chan int, 1)
		go func() {
			err := executeTo(t.Context(), logsCommand, g, clk, Streams{Out: out, ErrOut: out}, "web", "-c", "main", "-f", "--pod-running-timeout", "5s")
			done <- exitCode(err, out)
		}()
		lines.next() // the refusal
		waitForTimer(clk)
		clk.Step(5 * time.Second)
		if code := <-done; code != ExitFailed {
			t.Errorf("exit code %d, want %d", code, ExitFailed)
		}
		if l := lines.next(); l != "error: context deadline exceeded" {
			t.Errorf("error line = %q", l)
		}
	})
}
