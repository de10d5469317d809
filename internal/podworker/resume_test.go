package podworker_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/manifest"
	"github.com/podrun/podrun/internal/podworker"
	"github.com/podrun/podrun/internal/podworker/podworkertest"
	"github.com/podrun/podrun/internal/runtime"
	"github.com/podrun/podrun/internal/runtime/fake"
)

// resumeWorld drives workers by step on a fake clock over one fake
// runtime and one store, the way a supervisor and its successor share a
// container runtime and a state directory.
type resumeWorld struct {
	clk   *clocktesting.FakeClock
	rt    *fake.Runtime
	store *podworkertest.MemoryStore
	saves *freezingStore
	pod   *corev1.Pod
	w     *podworker.Worker
}

// freezingStore stops keeping checkpoints once frozen (everything else
// still reaches the store): a worker killed after it acted and before
// it saved.
type freezingStore struct {
	*podworkertest.MemoryStore
	mu     sync.Mutex
	frozen bool
}

func (s *freezingStore) freeze() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frozen = true
}

// SaveCheckpoint keeps cp unless the store is frozen.
func (s *freezingStore) SaveCheckpoint(ctx context.Context, cp *podworker.Checkpoint) error {
	s.mu.Lock()
	frozen := s.frozen
	s.mu.Unlock()
	if frozen {
		return nil
	}
	return s.MemoryStore.SaveCheckpoint(ctx, cp)
}

func newResumeWorld(t *testing.T, pod *corev1.Pod) *resumeWorld {
	t.Helper()
	manifest.DefaultPod(pod)
	pod.UID = types.UID("uid-" + pod.Name)
	clk := clocktesting.NewFakeClock(t0)
	store := podworkertest.NewMemoryStore()
	r := &resumeWorld{clk: clk, rt: fake.New(clk, nil), store: store, saves: &freezingStore{MemoryStore: store}, pod: pod}
	r.w = r.worker(t, nil, nil)
	return r
}

// worker returns a new worker for the pod, resumed from cp if not nil.
func (r *resumeWorld) worker(t *testing.T, cp *podworker.Checkpoint, prober podworker.Prober) *podworker.Worker {
	t.Helper()
	w := podworker.New(podworker.Config{
		Pod: r.pod, Runtime: r.rt, Images: podworkertest.NewImages("busybox:1.37"), Store: r.saves, Clock: r.clk,
		Prober: prober, Settings: lifecycle.DefaultSettings(), NodeName: "node-1", LogDir: t.TempDir(), Resume: cp,
	})
	t.Cleanup(w.Stop)
	return w
}

// step advances the clock to t0+at and steps the current worker once.
func (r *resumeWorld) step(t *testing.T, at time.Duration, kind podworker.EventKind) {
	t.Helper()
	r.clk.SetTime(t0.Add(at))
	if err := r.w.Step(context.Background(), podworker.Event{Kind: kind}); err != nil {
		t.Fatalf("step at +%s (%s): %v", at, kind, err)
	}
}

// resume kills the current worker and continues with one resumed from
// the stored checkpoint (an empty one if none was saved).
func (r *resumeWorld) resume(t *testing.T, prober podworker.Prober) {
	t.Helper()
	r.w.Stop()
	cp := r.store.Checkpoint()
	if cp == nil {
		cp = &podworker.Checkpoint{}
	}
	r.saves = &freezingStore{MemoryStore: r.store}
	r.w = r.worker(t, cp, prober)
}

// calls renders the runtime calls that create, start, signal or remove.
func (r *resumeWorld) calls() []string {
	var out []string
	for _, c := range r.rt.Calls() {
		switch c.Method {
		case "RunPodSandbox", "CreateContainer", "StartContainer", "SignalContainer", "RemoveContainer", "RemovePodSandbox":
			out = append(out, c.String())
		}
	}
	return out
}

// attemptLines renders the record's attempts: "name ID exit reason".
func attemptLines(rec podworker.Record) []string {
	var out []string
	for _, c := range rec.Containers {
		for _, a := range c.Attempts {
			out = append(out, strings.Join([]string{c.Name, a.ContainerID, exitString(a.ExitCode), a.Reason}, " "))
		}
	}
	return out
}

// reasons counts the stored events by reason and object.
func (r *resumeWorld) reasons() map[string]int32 {
	out := map[string]int32{}
	for _, e := range r.store.Events() {
		out[e.Reason+" "+e.InvolvedObject.FieldPath] += max(e.Count, 1) // Scheduled has no count
	}
	return out
}

// TestResumeAdoptsAnInstanceStartedAfterTheLastSave: the worker started
// main and died before saving; the runtime has an instance the
// checkpoint lacks, and a stray instance with an attempt number that
// fits nothing. The resumed worker adopts the first (no second create),
// removes the second, sees init's exit it missed and ends the pod.
func TestResumeAdoptsAnInstanceStartedAfterTheLastSave(t *testing.T) {
	r := newResumeWorld(t, podOf("adopt", corev1.RestartPolicyNever,
		[]corev1.Container{busybox("init", "sleep 1; exit 0")}, busybox("main", "sleep 10; exit 3")))
	r.step(t, 0, podworker.EventStart)
	r.saves.freeze()
	r.step(t, time.Second, podworker.EventExit) // starts main, saves nothing
	sandbox := r.rt.SandboxIDs(false)[0]
	mainSpec := &r.pod.Spec.Containers[0]
	stray, err := r.rt.CreateContainer(context.Background(), sandbox, runtime.ContainerConfig{Name: "main", Attempt: 5, Pod: r.pod, Container: mainSpec, Image: "busybox:1.37"})
	if err != nil {
		t.Fatal(err)
	}

	r.clk.SetTime(t0.Add(2 * time.Second))
	r.resume(t, nil)
	r.step(t, 2*time.Second, podworker.EventStart)
	r.step(t, 11*time.Second, podworker.EventExit)

	want := []string{
		"RunPodSandbox(sandbox-uid-adopt-0)",
		"CreateContainer(sandbox-uid-adopt-0, init, 0)", "StartContainer(init-0-0001)",
		"CreateContainer(sandbox-uid-adopt-0, main, 0)", "StartContainer(main-0-0002)",
		"CreateContainer(sandbox-uid-adopt-0, main, 5)", // the test's stray
		"RemoveContainer(" + stray + ")",
		"RemovePodSandbox(sandbox-uid-adopt-0)",
	}
	if diff := cmp.Diff(want, r.calls()); diff != "" {
		t.Errorf("runtime calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"init init-0-0001 0 Completed", "main main-0-0002 3 Error"}, attemptLines(r.w.Record())); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
	if got := r.w.Status().Phase; got != corev1.PodFailed {
		t.Errorf("phase %s, want Failed (main exited 3, restartPolicy Never)", got)
	}
	rec := r.w.Record()
	if at := rec.Containers[0].Attempts[0].FinishedAt; at == nil || !at.Equal(t0.Add(time.Second)) {
		t.Errorf("init finished at %v, want its real exit at +1s (nobody watched it)", at)
	}
	if at := rec.Containers[1].Attempts[0].FinishedAt; at == nil || !at.Equal(t0.Add(11*time.Second)) {
		t.Errorf("main finished at %v, want +11s", at)
	}
	wantEvents := map[string]int32{
		"Scheduled ": 1, "Pulled spec.initContainers{init}": 1, "Created spec.initContainers{init}": 1, "Started spec.initContainers{init}": 1,
		"Pulled spec.containers{main}": 1, "Created spec.containers{main}": 1, "Started spec.containers{main}": 1,
	}
	if diff := cmp.Diff(wantEvents, r.reasons()); diff != "" {
		t.Errorf("stored events by reason and count (-want +got):\n%s", diff)
	}
}

// TestResumeBeforeTheFirstSave: the worker died during its first step;
// the successor starts from an empty checkpoint, finds the sandbox by the
// pod's UID, adopts what runs, does not schedule the pod again and takes
// the sandbox's creation as the pod's start.
func TestResumeBeforeTheFirstSave(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	side := busybox("sidecar", "trap 'exit 0' TERM; sleep 600 & wait")
	side.RestartPolicy = &always
	r := newResumeWorld(t, podOf("early", corev1.RestartPolicyNever,
		[]corev1.Container{side}, busybox("main", "sleep 5; exit 0")))
	r.saves.freeze()
	r.step(t, 0, podworker.EventStart)
	if cp := r.store.Checkpoint(); cp != nil {
		t.Fatalf("a checkpoint was saved: %+v", cp.Observed)
	}

	r.clk.SetTime(t0.Add(3 * time.Second))
	r.resume(t, nil)
	r.step(t, 3*time.Second, podworker.EventStart)
	r.step(t, 5*time.Second, podworker.EventExit)
	r.step(t, 5*time.Second, podworker.EventExit)

	want := []string{
		"RunPodSandbox(sandbox-uid-early-0)",
		"CreateContainer(sandbox-uid-early-0, sidecar, 0)", "StartContainer(sidecar-0-0001)",
		"CreateContainer(sandbox-uid-early-0, main, 0)", "StartContainer(main-0-0002)",
		"SignalContainer(sidecar-0-0001, terminated)",
		"RemovePodSandbox(sandbox-uid-early-0)",
	}
	if diff := cmp.Diff(want, r.calls()); diff != "" {
		t.Errorf("runtime calls (-want +got):\n%s", diff)
	}
	rec := r.w.Record()
	if rec.StartTime == nil || !rec.StartTime.Equal(t0) {
		t.Errorf("record startTime %v, want the sandbox's creation %s", rec.StartTime, t0)
	}
	if got := r.w.Status().Phase; got != corev1.PodSucceeded {
		t.Errorf("phase %s, want Succeeded", got)
	}
	if n := r.reasons()["Scheduled "]; n != 1 {
		t.Errorf("%d Scheduled events stored, want 1", n)
	}
	if len(rec.Events) == 0 || rec.Events[0].Reason != podworker.EventScheduled {
		t.Errorf("record events %+v, want Scheduled first", rec.Events)
	}
}

// TestResumeKeepsTheClocks: what the old worker started keeps counting
// from when it started, not from the resume: the crash-loop back-off,
// activeDeadlineSeconds and a termination's grace period.
func TestResumeKeepsTheClocks(t *testing.T) {
	for _, tc := range []struct {
		name string
		pod  func() *corev1.Pod
		// before runs on the first worker, resumeAt is when the second
		// takes over, after runs on it.
		before   func(*testing.T, *resumeWorld)
		resumeAt time.Duration
		after    func(*testing.T, *resumeWorld)
		check    func(*testing.T, *resumeWorld)
	}{
		{
			name: "crash-loop back-off: the second restart waits the rest of its 10 s",
			pod: func() *corev1.Pod {
				return podOf("backoff", corev1.RestartPolicyAlways, nil, busybox("main", "sleep 1; exit 1"))
			},
			before: func(t *testing.T, r *resumeWorld) {
				r.step(t, 0, podworker.EventStart)
				r.step(t, time.Second, podworker.EventExit)   // restart at once
				r.step(t, 2*time.Second, podworker.EventExit) // back-off until +12s
			},
			resumeAt: 7 * time.Second,
			after: func(t *testing.T, r *resumeWorld) {
				r.step(t, 7*time.Second, podworker.EventStart)
				r.step(t, 11*time.Second, podworker.EventTimer)
				if n := len(r.w.Record().Containers[0].Attempts); n != 2 {
					t.Errorf("at +11s: %d attempts, want 2 (back-off until +12s)", n)
				}
				r.step(t, 12*time.Second, podworker.EventTimer)
			},
			check: func(t *testing.T, r *resumeWorld) {
				a := r.w.Record().Containers[0].Attempts
				if len(a) != 3 || !a[2].StartedAt.Equal(t0.Add(12*time.Second)) {
					t.Errorf("attempts %+v, want a third started at +12s", a)
				}
				if n := r.reasons()["BackOff spec.containers{main}"]; n != 1 {
					t.Errorf("%d BackOff events, want 1 (the resumed worker does not repeat it)", n)
				}
			},
		},
		{
			name: "activeDeadlineSeconds counts from the pod's start",
			pod: func() *corev1.Pod {
				p := podOf("deadline", corev1.RestartPolicyNever, nil, busybox("main", "trap 'exit 0' TERM; sleep 600 & wait"))
				d := int64(30)
				p.Spec.ActiveDeadlineSeconds = &d
				return p
			},
			before:   func(t *testing.T, r *resumeWorld) { r.step(t, 0, podworker.EventStart) },
			resumeAt: 20 * time.Second,
			after: func(t *testing.T, r *resumeWorld) {
				r.step(t, 20*time.Second, podworker.EventStart)
				r.step(t, 30*time.Second, podworker.EventTimer)
				r.step(t, 30*time.Second, podworker.EventExit)
			},
			check: func(t *testing.T, r *resumeWorld) {
				st := r.w.Status()
				if st.Phase != corev1.PodFailed || st.Reason != "DeadlineExceeded" {
					t.Errorf("phase %s reason %q, want Failed DeadlineExceeded at +30s", st.Phase, st.Reason)
				}
			},
		},
		{
			name: "a termination keeps its grace: SIGKILL 10 s after the deletion",
			pod: func() *corev1.Pod {
				return podOf("grace", corev1.RestartPolicyNever, nil, busybox("main", "trap '' TERM; sleep 600"))
			},
			before: func(t *testing.T, r *resumeWorld) {
				r.step(t, 0, podworker.EventStart)
				grace := int64(10)
				r.clk.SetTime(t0.Add(5 * time.Second))
				if err := r.w.Step(context.Background(), podworker.Event{Kind: podworker.EventDelete, Grace: &grace}); err != nil {
					t.Fatal(err)
				}
			},
			resumeAt: 7 * time.Second,
			after: func(t *testing.T, r *resumeWorld) {
				r.step(t, 7*time.Second, podworker.EventStart)
				r.step(t, 15*time.Second, podworker.EventTimer)
				r.step(t, 15*time.Second, podworker.EventExit)
			},
			check: func(t *testing.T, r *resumeWorld) {
				rec := r.w.Record()
				a := rec.Containers[0].Attempts[0]
				if a.ExitCode == nil || *a.ExitCode != 137 || !a.FinishedAt.Equal(t0.Add(15*time.Second)) {
					t.Errorf("main exit %s at %v, want 137 at +15s", exitString(a.ExitCode), a.FinishedAt)
				}
				if rec.DeletedAt == nil || !rec.DeletedAt.Equal(t0.Add(5*time.Second)) || rec.FinishedAt == nil {
					t.Errorf("record deletedAt %v finishedAt %v, want +5s and set", rec.DeletedAt, rec.FinishedAt)
				}
				if n := slices.Index(r.calls(), "SignalContainer(main-0-0001, killed)"); n < 0 {
					t.Errorf("no SIGKILL among %v", r.calls())
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newResumeWorld(t, tc.pod())
			tc.before(t, r)
			r.clk.SetTime(t0.Add(tc.resumeAt))
			r.resume(t, nil)
			tc.after(t, r)
			tc.check(t, r)
		})
	}
}

// TestResumeAdoptsARestart: the worker restarted a crashed container and
// died before saving. The successor adopts the new instance as restart
// 1, and the events it repeats later keep their names and counts: the
// store ends with one Created event of count 3, not a second one.
func TestResumeAdoptsARestart(t *testing.T) {
	r := newResumeWorld(t, podOf("again", corev1.RestartPolicyAlways, nil, busybox("main", "sleep 1; exit 1")))
	r.step(t, 0, podworker.EventStart)
	r.saves.freeze()
	r.step(t, time.Second, podworker.EventExit) // restart 1, not saved
	r.clk.SetTime(t0.Add(1500 * time.Millisecond))
	r.resume(t, nil)
	r.step(t, 1500*time.Millisecond, podworker.EventStart)
	r.step(t, 2*time.Second, podworker.EventExit) // back-off until +12s
	r.step(t, 12*time.Second, podworker.EventTimer)

	if diff := cmp.Diff([]string{"main main-0-0001 1 Error", "main main-1-0002 1 Error", "main main-2-0003 none "}, attemptLines(r.w.Record())); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
	var created []string
	for _, e := range r.store.Events() {
		if e.Reason == podworker.EventCreated {
			created = append(created, fmt.Sprintf("%s x%d", e.Name, e.Count))
		}
	}
	if len(created) != 1 || !strings.HasSuffix(created[0], " x3") {
		t.Errorf("Created events %v, want one, of count 3", created)
	}
	if got := restarts(r.w.Status(), "main"); got != 2 {
		t.Errorf("RestartCount %d, want 2", got)
	}
}

// TestResumeAfterTheSandboxVanished: the runtime lost the checkpointed
// sandbox (a reboot, a manual cleanup) while nobody supervised the pod:
// its running instance ended ContainerStatusUnknown (exit 137) and the
// pod goes on in a new sandbox, as the kubelet's does.
func TestResumeAfterTheSandboxVanished(t *testing.T) {
	r := newResumeWorld(t, podOf("gone", corev1.RestartPolicyAlways, nil, busybox("main", "sleep 600")))
	r.step(t, 0, podworker.EventStart)
	r.w.Stop()
	if err := r.rt.RemovePodSandbox(context.Background(), "sandbox-uid-gone-0"); err != nil {
		t.Fatal(err)
	}
	r.clk.SetTime(t0.Add(5 * time.Second))
	r.resume(t, nil)
	r.step(t, 5*time.Second, podworker.EventStart)

	rec := r.w.Record()
	a := rec.Containers[0].Attempts
	if len(a) != 2 || a[0].Reason != "ContainerStatusUnknown" || exitString(a[0].ExitCode) != "137" || a[1].StartedAt == nil {
		t.Fatalf("attempts %+v, want the lost one ContainerStatusUnknown 137 and a new one started", a)
	}
	if got := r.rt.SandboxIDs(false); len(got) != 1 {
		t.Errorf("sandboxes %v, want one new", got)
	}
}
