package local

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/podworker"
	"github.com/podrun/podrun/internal/store"
)

// TestLoadCheckpoint reads back what a dead worker saved: nothing saved
// gives an empty checkpoint to resume from; one that does not decode, has
// another layout version or belongs to another pod cannot be used.
func TestLoadCheckpoint(t *testing.T) {
	saved := podworker.Checkpoint{Version: podworker.CheckpointVersion,
		Record:      podworker.Record{Namespace: "default", Name: "p", UID: "uid-p"},
		BackOffSeen: []string{"main/1"}}
	encode := func(cp podworker.Checkpoint) string {
		b, err := json.Marshal(cp)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	other := saved
	other.Record.UID = "uid-of-an-older-p"
	old := saved
	old.Version = podworker.CheckpointVersion + 1
	for _, tc := range []struct {
		name    string
		stored  string // "" stores nothing
		want    *podworker.Checkpoint
		wantErr bool
	}{
		{name: "none saved: resume from an empty checkpoint",
			want: &podworker.Checkpoint{Version: podworker.CheckpointVersion}},
		{name: "saved", stored: encode(saved), want: &saved},
		{name: "another layout version", stored: encode(old), wantErr: true},
		{name: "a pod of the same name before this one", stored: encode(other), wantErr: true},
		{name: "does not decode", stored: `{"version":"one"}`, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := store.NewMemory()
			pod := testPod("p", "", nil)
			if tc.stored != "" {
				if err := st.PutCheckpoint(ctx, "default", "p", json.RawMessage(tc.stored)); err != nil {
					t.Fatal(err)
				}
			}
			got, err := loadCheckpoint(ctx, st, pod)
			if tc.wantErr {
				if !errors.Is(err, errNoCheckpoint) {
					t.Fatalf("loadCheckpoint(%s) = %+v, %v; want an error wrapping errNoCheckpoint", tc.stored, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("loadCheckpoint(%s): %v", tc.stored, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("loadCheckpoint(%s) (-want +got):\n%s", tc.stored, diff)
			}
		})
	}
}

// TestContinuable decides between continuing a pod and ending it lost
// (SEMANTICS.md §9): only what the runtime cannot reach is lost.
func TestContinuable(t *testing.T) {
	running := testPod("p", corev1.PodRunning, nil)
	running.Status.ContainerStatuses[0].State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(t0)}
	exited := testPod("p", corev1.PodRunning, nil)
	exited.Status.ContainerStatuses[0].State.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1}
	pending := testPod("p", corev1.PodPending, nil)
	broken := errors.New("runc: permission denied")
	for _, tc := range []struct {
		name      string
		pod       *corev1.Pod
		cpErr     error
		onDisk    bool
		sandboxes int
		listErr   error
		want      bool
	}{
		{name: "sandbox found, containers running", pod: running, sandboxes: 1, onDisk: true, want: true},
		{name: "sandbox on disk the runtime cannot load", pod: exited, onDisk: true},
		{name: "two sandboxes (one being replaced)", pod: running, sandboxes: 2, want: true},
		{name: "died before creating the sandbox", pod: pending, want: true},
		{name: "no sandbox, no container running (between two sandboxes)", pod: exited, want: true},
		{name: "checkpoint unusable", pod: running, sandboxes: 1, cpErr: errNoCheckpoint},
		{name: "runtime cannot list", pod: running, listErr: broken},
		{name: "no sandbox although containers ran", pod: running},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list := func(context.Context) (int, error) { return tc.sandboxes, tc.listErr }
			got, why := continuable(context.Background(), list, tc.onDisk, tc.pod, tc.cpErr)
			if got != tc.want {
				t.Errorf("continuable = %v (%q), want %v", got, why, tc.want)
			}
			if !got && why == "" {
				t.Errorf("continuable = false without a reason")
			}
		})
	}
}

// TestPodSpec finds the settings a new supervisor runs a pod with: the
// pod's own spec, else its Job's, else the defaults.
func TestPodSpec(t *testing.T) {
	root := t.TempDir()
	jobSpec := &superviseSpec{Runtime: "crun", Settings: lifecycle.DefaultSettings()}
	if err := writeSpec(root, KindJob, "default", "j", jobSpec); err != nil {
		t.Fatal(err)
	}
	podOwn := &superviseSpec{Runtime: "/opt/runc", Settings: lifecycle.DefaultSettings()}
	if err := writeSpec(root, KindPod, "default", "own", podOwn); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{name: "own spec", pod: testPod("own", "", nil), want: "/opt/runc"},
		{name: "a Job's pod without its own", pod: jobPod(testPod("j-abcde", "", nil)), want: "crun"},
		{name: "neither: defaults", pod: testPod("bare", "", nil), want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := podSpec(root, tc.pod)
			if err != nil {
				t.Fatal(err)
			}
			if got.Runtime != tc.want {
				t.Errorf("podSpec(%s).Runtime = %q, want %q", tc.pod.Name, got.Runtime, tc.want)
			}
		})
	}
}

// TestEnsureSupervisedJobPods: a pod of a Job still in the store is
// continued by the Job's supervisor, which adopts all of the Job's pods;
// only a pod whose Job is gone or being deleted gets one of its own.
func TestEnsureSupervisedJobPods(t *testing.T) {
	complete := []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
	for _, tc := range []struct {
		name      string
		job       *batchv1.Job // nil: no Job
		pod       *corev1.Pod
		jobLocked bool
		want      bool
		started   []string
	}{
		{name: "running pod of a live Job: the Job's supervisor", job: testJob(nil), pod: jobPod(testPod("p", "", nil)),
			want: true, started: []string{"job default/j"}},
		{name: "pending pod of a live Job: the Job's supervisor", job: testJob(nil), pod: jobPod(testPod("p", corev1.PodPending, nil)),
			want: true, started: []string{"job default/j"}},
		{name: "the Job's supervisor lives", job: testJob(nil), pod: jobPod(testPod("p", "", nil)), jobLocked: true},
		{name: "a finished Job still waiting for a pod", job: testJob(complete), pod: jobPod(testPod("p", "", nil)),
			want: true, started: []string{"job default/j"}},
		{name: "Job gone: the pod's own supervisor", pod: jobPod(testPod("p", "", nil)),
			want: true, started: []string{"pod default/p"}},
		{name: "a Job of the same name, another UID", job: withUID(testJob(nil), "other"), pod: jobPod(testPod("p", "", nil)),
			want: true, started: []string{"pod default/p"}},
		{name: "Job being deleted: the pod's own supervisor", job: deleting(testJob(nil)), pod: jobPod(testPod("p", "", nil)),
			want: true, started: []string{"pod default/p"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st, err := store.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if tc.job != nil {
				if _, err := st.CreateJob(ctx, tc.job); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := st.CreatePod(ctx, tc.pod); err != nil {
				t.Fatal(err)
			}
			if tc.job != nil {
				driven(t, st) // a podrun process drove the Job
			}
			if tc.jobLocked {
				unlock, err := lockJob(st.Root(), "default", "j")
				if err != nil {
					t.Fatal(err)
				}
				defer unlock()
			}
			f := &fakeStarter{}
			got, err := EnsureSupervised(ctx, st, f, "default", "p")
			if err != nil {
				t.Fatalf("EnsureSupervised: %v", err)
			}
			if got != tc.want {
				t.Errorf("EnsureSupervised = %v, want %v", got, tc.want)
			}
			if diff := cmp.Diff(tc.started, f.started); diff != "" {
				t.Errorf("supervisors started (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEnsureJobSupervised starts a Job's supervisor only when the Job
// still has work and nobody drives it.
func TestEnsureJobSupervised(t *testing.T) {
	complete := []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
	for _, tc := range []struct {
		name   string
		job    *batchv1.Job
		pods   []*corev1.Pod
		driven bool // a podrun process held the Job's lock before
		locked bool
		want   bool
		// podsStarted: supervisors started for the Job's pods; gone: the
		// Job left the store (its deletion carried out).
		podsStarted []string
		gone        bool
	}{
		{name: "no such Job"},
		{name: "running, supervisor dead", job: testJob(nil), driven: true, pods: []*corev1.Pod{jobPod(testPod("j-1", "", nil))}, want: true},
		{name: "not started yet, no supervisor", job: testJob(nil), driven: true, want: true},
		{name: "never driven by podrun", job: testJob(nil), driven: false},
		{name: "running, supervised", job: testJob(nil), driven: true, locked: true},
		{name: "finished, its pods ended", job: testJob(complete), driven: true, pods: []*corev1.Pod{jobPod(testPod("j-1", corev1.PodSucceeded, nil))}},
		{name: "finished, a pod still running", job: testJob(complete), driven: true, pods: []*corev1.Pod{jobPod(testPod("j-1", "", nil))}, want: true},
		{name: "being deleted, supervisor dead: deleted here, its running pod supervised", job: deleting(testJob(nil)), driven: true,
			pods: []*corev1.Pod{jobPod(testPod("j-1", "", nil))}, podsStarted: []string{"pod default/j-1"}, gone: true},
		{name: "being deleted, its pods ended: deleted here", job: deleting(testJob(nil)), driven: true,
			pods: []*corev1.Pod{jobPod(testPod("j-1", corev1.PodFailed, nil))}, gone: true},
		{name: "being deleted, supervised: its supervisor deletes it", job: deleting(testJob(nil)), driven: true, locked: true,
			pods: []*corev1.Pod{jobPod(testPod("j-1", "", nil))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st, err := store.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if tc.job != nil {
				if _, err := st.CreateJob(ctx, tc.job); err != nil {
					t.Fatal(err)
				}
			}
			for _, p := range tc.pods {
				if _, err := st.CreatePod(ctx, p); err != nil {
					t.Fatal(err)
				}
			}
			if tc.driven {
				driven(t, st)
			}
			if tc.locked {
				unlock, err := lockJob(st.Root(), "default", "j")
				if err != nil {
					t.Fatal(err)
				}
				defer unlock()
			}
			f := &fakeStarter{}
			got, err := EnsureJobSupervised(ctx, st, f, "default", "j")
			if err != nil {
				t.Fatalf("EnsureJobSupervised: %v", err)
			}
			want := tc.podsStarted
			if tc.want {
				want = []string{"job default/j"}
			}
			if got != tc.want || !cmp.Equal(want, f.started) {
				t.Errorf("EnsureJobSupervised = %v, started %v; want %v, %v", got, f.started, tc.want, want)
			}
			if tc.job != nil {
				_, err := st.GetJob(ctx, "default", "j")
				if gone := errors.Is(err, store.ErrNotFound); gone != tc.gone {
					t.Errorf("Job gone = %v (%v), want %v", gone, err, tc.gone)
				}
			}
		})
	}
}

// driven leaves the lock file of the Job "j" as a dead supervisor does.
func driven(t *testing.T, st *store.Store) {
	t.Helper()
	unlock, err := lockJob(st.Root(), "default", "j")
	if err != nil {
		t.Fatal(err)
	}
	unlock()
}

// testJob is the Job "j" (UID job-uid) that jobPod's pods belong to.
func testJob(conds []batchv1.JobCondition) *batchv1.Job {
	return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "j", UID: "job-uid"},
		Status: batchv1.JobStatus{Conditions: conds}}
}

func withUID(j *batchv1.Job, uid types.UID) *batchv1.Job { j.UID = uid; return j }

func deleting(j *batchv1.Job) *batchv1.Job {
	at := metav1.NewTime(t0)
	j.DeletionTimestamp = &at
	return j
}

// TestAdoptJobPods: a Job's new supervisor takes over the pods it finds,
// oldest first: an ended pod as a finished run; a pod another live
// process runs is followed through the store — a deletion goes there as
// a mark, and the run ends when the pod does.
func TestAdoptJobPods(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	j := testJob(nil)
	if _, err := st.CreateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	done := jobPod(testPod("j-done", corev1.PodFailed, nil))
	done.CreationTimestamp = metav1.NewTime(t0)
	other := jobPod(testPod("j-other", "", nil))
	other.CreationTimestamp = metav1.NewTime(t0.Add(time.Second))
	for _, p := range []*corev1.Pod{other, done} {
		if _, err := st.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	lock, err := st.LockSupervisor("default", "j-other") // another owner
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	l := &Local{store: st, opts: Options{Root: st.Root()}, clock: clocktesting.NewFakeClock(t0), log: discard()}
	ext := newExternalRuns(ctx)
	defer ext.stop()
	changed := make(chan struct{}, 1)
	runs, err := l.adoptJobPods(ctx, j, RunOptions{}, changed, ext)
	if err != nil {
		t.Fatalf("adoptJobPods: %v", err)
	}
	var names []string
	for _, r := range runs {
		names = append(names, r.pod.Name)
	}
	if diff := cmp.Diff([]string{"j-done", "j-other"}, names); diff != "" {
		t.Fatalf("runs (-want +got):\n%s", diff)
	}
	select {
	case <-runs[0].done:
	default:
		t.Errorf("the run of the Failed pod is not finished")
	}
	runs[0].delete(nil) // ignored: it ended
	runs[1].delete(nil)
	if p, err := st.GetPod(ctx, "default", "j-other"); err != nil || p.DeletionTimestamp == nil {
		t.Fatalf("pod run elsewhere after delete: %v, deletionTimestamp %v; want marked deleted", err, p.GetDeletionTimestamp())
	}
	select {
	case <-runs[1].done:
		t.Fatalf("the followed run ended while its pod runs")
	default:
	}
	if _, err := st.UpdatePod(ctx, "default", "j-other", func(p *corev1.Pod) error {
		p.Status.Phase = corev1.PodSucceeded
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	<-runs[1].done
	if runs[1].final == nil || runs[1].final.Status.Phase != corev1.PodSucceeded || runs[1].err != nil {
		t.Errorf("followed run ended with %v, err %v; want the pod Succeeded", runs[1].final.Status.Phase, runs[1].err)
	}
	if len(changed) == 0 {
		t.Errorf("the controller loop was not told of the followed pod's change")
	}
}
