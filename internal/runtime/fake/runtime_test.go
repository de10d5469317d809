package fake_test

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podrun/podrun/internal/runtime"
	"github.com/podrun/podrun/internal/runtime/fake"
	"github.com/podrun/podrun/internal/runtime/runtimetest"
)

var t0 = time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC)

func TestSuite(t *testing.T) {
	runtimetest.RunSuite(t, func(t *testing.T) runtimetest.Harness {
		clk := clocktesting.NewFakeClock(t0)
		return runtimetest.Harness{
			Runtime: fake.New(clk, nil),
			Advance: clk.Step,
			Image:   "busybox",
			LogDir:  t.TempDir(),
		}
	})
}

// world is one sandbox on a fake clock.
type world struct {
	clk *clocktesting.FakeClock
	rt  *fake.Runtime
	sb  string
	pod *corev1.Pod
}

func newWorld(t *testing.T, script fake.Script, containers ...corev1.Container) *world {
	t.Helper()
	clk := clocktesting.NewFakeClock(t0)
	rt := fake.New(clk, script)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: "uid-p"}}
	pod.Spec.Containers = containers
	pod.Spec.Volumes = []corev1.Volume{{Name: "shared"}}
	sb, err := rt.RunPodSandbox(context.Background(), runtime.SandboxConfig{Pod: pod})
	if err != nil {
		t.Fatal(err)
	}
	return &world{clk: clk, rt: rt, sb: sb, pod: pod}
}

func (w *world) start(t *testing.T, i int) string {
	t.Helper()
	ctx := context.Background()
	c := &w.pod.Spec.Containers[i]
	id, err := w.rt.CreateContainer(ctx, w.sb, runtime.ContainerConfig{Name: c.Name, Pod: w.pod, Container: c, Image: c.Image})
	if err != nil {
		t.Fatalf("create %s: %v", c.Name, err)
	}
	if err := w.rt.StartContainer(ctx, id); err != nil {
		t.Fatalf("start %s: %v", c.Name, err)
	}
	return id
}

func (w *world) status(t *testing.T, id string) runtime.ContainerStatus {
	t.Helper()
	st, err := w.rt.ContainerStatus(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func sh(name, script string) corev1.Container {
	return corev1.Container{Name: name, Image: "busybox", Command: []string{"sh", "-c", script}, VolumeMounts: []corev1.VolumeMount{{Name: "shared", MountPath: "/shared"}}}
}

// TestIdioms runs the busybox idioms of the conformance catalog and checks
// when the process exits and how.
func TestIdioms(t *testing.T) {
	type exit struct {
		After  time.Duration // since start
		Code   int32
		Signal syscall.Signal
		Reason string
	}
	for _, tc := range []struct {
		name   string
		script string
		term   time.Duration // send SIGTERM at; 0 = never
		kill   time.Duration // send SIGKILL at; 0 = never
		want   exit
	}{
		{name: "sleep then exit", script: "sleep 1; exit 0", want: exit{After: time.Second, Reason: "Completed"}},
		{name: "exit code", script: "sleep 2; exit 42", want: exit{After: 2 * time.Second, Code: 42, Reason: "Error"}},
		{name: "last status", script: "sleep 1; false", want: exit{After: time.Second, Code: 1, Reason: "Error"}},
		{name: "trap exit 0 in wait", script: "trap 'exit 0' TERM; sleep 600 & wait", term: 3 * time.Second, want: exit{After: 3 * time.Second, Reason: "Completed"}},
		{name: "trap drains then exits", script: "trap 'sleep 5; exit 0' TERM; sleep 60 & wait", term: 2 * time.Second, want: exit{After: 7 * time.Second, Reason: "Completed"}},
		{name: "trap exit 1", script: "trap 'sleep 1; exit 1' TERM; sleep 600 & wait", term: time.Second, want: exit{After: 2 * time.Second, Code: 1, Reason: "Error"}},
		{name: "trap waits for foreground sleep", script: "trap 'exit 0' TERM; sleep 5; exit 3", term: time.Second, want: exit{After: 5 * time.Second, Reason: "Completed"}},
		{name: "PID 1 ignores SIGTERM", script: "sleep 600", term: time.Second, kill: 11 * time.Second, want: exit{After: 11 * time.Second, Code: 137, Signal: syscall.SIGKILL, Reason: "Error"}},
		{name: "trap outlives grace", script: "trap 'sleep 20; exit 0' TERM; sleep 600 & wait", term: time.Second, kill: 6 * time.Second, want: exit{After: 6 * time.Second, Code: 137, Signal: syscall.SIGKILL, Reason: "Error"}},
		{name: "wait ends with background job", script: "trap 'exit 0' TERM; sleep 5 & wait", want: exit{After: 5 * time.Second, Reason: "Completed"}},
		{name: "trap without exit returns 143", script: "trap 'echo bye' TERM; sleep 600 & wait", term: time.Second, want: exit{After: time.Second, Code: 143, Reason: "Error"}},
		{name: "if on a file", script: "sleep 1; if [ -f /shared/once ]; then exit 0; fi; touch /shared/once; exit 42", want: exit{After: time.Second, Code: 42, Reason: "Error"}},
		{name: "and-or", script: "test -f /tmp/none && exit 3 || exit 4", want: exit{Code: 4, Reason: "Error"}},
		{name: "while with a counter", script: "i=0; while [ ! -f /tmp/hooked ] && [ $i -lt 30 ]; do sleep 1; i=$((i+1)); done; test -f /tmp/hooked", want: exit{After: 30 * time.Second, Code: 1, Reason: "Error"}},
		{name: "variables and arithmetic", script: "a=5; b=$((a+2-1)); [ $b -eq 6 ] && exit $b", want: exit{Code: 6, Reason: "Error"}},
		{name: "subshell in background", script: "trap 'exit 0' TERM; (sleep 2; touch /tmp/ready) & sleep 3; test -f /tmp/ready", want: exit{After: 3 * time.Second, Reason: "Completed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, nil, sh("c", tc.script))
			id := w.start(t, 0)
			ctx := context.Background()
			type ev struct {
				at  time.Duration
				sig syscall.Signal
			}
			var evs []ev
			if tc.term > 0 {
				evs = append(evs, ev{tc.term, syscall.SIGTERM})
			}
			if tc.kill > 0 {
				evs = append(evs, ev{tc.kill, syscall.SIGKILL})
			}
			for _, e := range evs {
				w.clk.SetTime(t0.Add(e.at))
				if err := w.rt.SignalContainer(ctx, id, e.sig); err != nil {
					t.Fatal(err)
				}
			}
			w.clk.SetTime(t0.Add(time.Hour))
			st := w.status(t, id)
			got := exit{After: st.FinishedAt.Sub(st.StartedAt), Code: st.ExitCode, Signal: st.Signal, Reason: st.Reason}
			if diff := cmp.Diff(tc.want, got); diff != "" || st.State != runtime.StateExited {
				t.Errorf("%q (SIGTERM at %s, SIGKILL at %s): state %s, exit mismatch (-want +got):\n%s", tc.script, tc.term, tc.kill, st.State, diff)
			}
		})
	}
}

func TestParseCommandRejectsWhatItCannotRun(t *testing.T) {
	for _, argv := range [][]string{
		{"sh", "-c", "until false; do sleep 1; done"},
		{"sh", "-c", "x=$(head -c 200 /dev/zero | tr '\\000' 'a'); echo ${#x}"},
		{"sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait; grep x y"},
	} {
		if _, err := fake.ParseCommand(argv); err == nil {
			t.Errorf("ParseCommand(%q) = nil error, want an error naming what is not supported", argv)
		}
	}
	for _, argv := range [][]string{
		{"sh", "-c", "trap 'exit 0' TERM; (sleep 15; touch /tmp/ready) & sleep 3600 & wait"},
		{"sh", "-c", `echo "$(date +%s) sidecar-1:prestop" >> /shared/marks; sleep 1`},
		{"sleep", "10000"},
		{"test", "-f", "/tmp/up"},
	} {
		if _, err := fake.ParseCommand(argv); err != nil {
			t.Errorf("ParseCommand(%q): %v, want it understood", argv, err)
		}
	}
}

func TestMarksAndEnvAndExec(t *testing.T) {
	w := newWorld(t, nil,
		sh("a", `echo "$(date +%s) a:start" >> /shared/marks; trap 'exit 0' TERM; sleep 600 & wait`),
		sh("b", `sleep 2; echo "$(date +%s) b:start" >> /shared/marks; echo $GREETING`))
	w.pod.Spec.Containers[1].Env = []corev1.EnvVar{{Name: "GREETING", Value: "hi"}}
	a := w.start(t, 0)
	w.clk.Step(time.Second)
	w.start(t, 1)
	w.clk.Step(5 * time.Second)
	res, err := w.rt.ExecSync(context.Background(), a, []string{"sh", "-c", "cat /shared/marks"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := "1796317200 a:start\n1796317203 b:start\n"
	if diff := cmp.Diff(want, string(res.Stdout)); diff != "" {
		t.Errorf("marks read through exec (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"1796317200 a:start", "1796317203 b:start"}, w.rt.ReadVolumeFile(w.sb, "shared", "marks")); diff != "" {
		t.Errorf("ReadVolumeFile (-want +got):\n%s", diff)
	}
}

func TestExecWaitsOnClock(t *testing.T) {
	w := newWorld(t, nil, sh("a", "trap 'exit 0' TERM; sleep 600 & wait"))
	id := w.start(t, 0)
	done := make(chan runtime.ExecResult)
	go func() {
		res, _ := w.rt.ExecSync(context.Background(), id, []string{"sh", "-c", "sleep 5; echo done"}, 0)
		done <- res
	}()
	for !w.clk.HasWaiters() {
		select {
		case <-done:
			t.Fatal("exec of sleep 5 returned before the clock moved")
		default:
		}
	}
	w.clk.Step(5 * time.Second)
	if res := <-done; string(res.Stdout) != "done\n" {
		t.Errorf("exec stdout %q, want done", res.Stdout)
	}
}

func TestScriptBehavior(t *testing.T) {
	script := fake.Script{
		"db":     {RunFor: fake.Forever, OnSIGTERM: fake.ExitAfter(200*time.Millisecond, 0)},
		"main":   {RunFor: 2 * time.Second, ExitCode: 3},
		"broken": {FailStart: &runtime.StartError{Reason: runtime.ReasonRunContainerError, Message: "boom"}},
		"config": {FailCreate: &runtime.StartError{Reason: runtime.ReasonCreateContainerConfigError, Message: "no key"}},
	}
	w := newWorld(t, script, sh("db", "exit 9"), sh("main", "exit 9"), sh("broken", "exit 0"), sh("config", "exit 0"))
	ctx := context.Background()
	db, main := w.start(t, 0), w.start(t, 1)
	w.clk.Step(3 * time.Second)
	if st := w.status(t, main); st.ExitCode != 3 || st.FinishedAt != t0.Add(2*time.Second) {
		t.Errorf("main: exit %d at %s, want 3 at +2s", st.ExitCode, st.FinishedAt)
	}
	if err := w.rt.SignalContainer(ctx, db, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	w.clk.Step(time.Second)
	if st := w.status(t, db); st.ExitCode != 0 || st.FinishedAt != t0.Add(3200*time.Millisecond) {
		t.Errorf("db: exit %d at %s, want 0 at +3.2s", st.ExitCode, st.FinishedAt)
	}
	c := &w.pod.Spec.Containers[2]
	id, err := w.rt.CreateContainer(ctx, w.sb, runtime.ContainerConfig{Name: c.Name, Pod: w.pod, Container: c})
	if err != nil {
		t.Fatal(err)
	}
	var se *runtime.StartError
	if err := w.rt.StartContainer(ctx, id); !errors.As(err, &se) || se.Reason != runtime.ReasonRunContainerError {
		t.Errorf("start broken: %v, want RunContainerError", err)
	}
	if st := w.status(t, id); st.Reason != "StartError" || st.ExitCode != 128 {
		t.Errorf("broken: reason %q exit %d, want StartError 128", st.Reason, st.ExitCode)
	}
	c = &w.pod.Spec.Containers[3]
	if _, err := w.rt.CreateContainer(ctx, w.sb, runtime.ContainerConfig{Name: c.Name, Pod: w.pod, Container: c}); !errors.As(err, &se) || se.Reason != runtime.ReasonCreateContainerConfigError {
		t.Errorf("create config: %v, want CreateContainerConfigError", err)
	}
}

func TestInjectErrorAndCalls(t *testing.T) {
	w := newWorld(t, nil, sh("a", "exit 0"))
	boom := errors.New("boom")
	w.rt.InjectError("StartContainer", boom)
	ctx := context.Background()
	c := &w.pod.Spec.Containers[0]
	id, err := w.rt.CreateContainer(ctx, w.sb, runtime.ContainerConfig{Name: "a", Pod: w.pod, Container: c})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.rt.StartContainer(ctx, id); !errors.Is(err, boom) {
		t.Errorf("first StartContainer: %v, want injected error", err)
	}
	if err := w.rt.StartContainer(ctx, id); err != nil {
		t.Errorf("second StartContainer: %v, want success (injection used up)", err)
	}
	want := []string{"RunPodSandbox(" + w.sb + ")", "CreateContainer(" + w.sb + ", a, 0)", "StartContainer(" + id + ")", "StartContainer(" + id + ")"}
	if diff := cmp.Diff(want, w.rt.CallNames()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestConfigMapEnv(t *testing.T) {
	w := newWorld(t, nil, sh("a", "echo $VALUE"))
	w.pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "VALUE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "missing"}}}}
	c := &w.pod.Spec.Containers[0]
	_, err := w.rt.CreateContainer(context.Background(), w.sb, runtime.ContainerConfig{Name: "a", Pod: w.pod, Container: c})
	var se *runtime.StartError
	if !errors.As(err, &se) || se.Reason != runtime.ReasonCreateContainerConfigError || se.Message != `configmap "cfg" not found` {
		t.Errorf("create with missing configmap: %v, want CreateContainerConfigError configmap \"cfg\" not found", err)
	}
}

func TestNextChange(t *testing.T) {
	w := newWorld(t, nil, sh("a", "sleep 5; exit 0"), sh("b", "trap 'sleep 2; exit 0' TERM; sleep 600 & wait"))
	if got := w.rt.NextChange(); !got.IsZero() {
		t.Errorf("NextChange with nothing running = %s, want zero", got)
	}
	w.start(t, 0)
	b := w.start(t, 1)
	if got := w.rt.NextChange(); !got.Equal(t0.Add(5 * time.Second)) {
		t.Errorf("NextChange = %s, want +5s (a's exit)", got)
	}
	w.clk.SetTime(t0.Add(time.Second))
	if err := w.rt.SignalContainer(context.Background(), b, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := w.rt.NextChange(); !got.Equal(t0.Add(3 * time.Second)) {
		t.Errorf("NextChange after SIGTERM to b = %s, want +3s (b's trap ends)", got)
	}
	w.clk.SetTime(t0.Add(10 * time.Second))
	if got := w.rt.NextChange(); !got.IsZero() {
		t.Errorf("NextChange after every exit = %s, want zero", got)
	}
	if ids := w.rt.SandboxIDs(false); len(ids) != 1 || ids[0] != w.sb {
		t.Errorf("SandboxIDs = %v, want [%s]", ids, w.sb)
	}
}
