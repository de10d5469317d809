package local

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/podrun/podrun/internal/store"
)

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// testPod is a pod in phase (Running by default) with the given
// terminationGracePeriodSeconds (nil: unset).
func testPod(name string, phase corev1.PodPhase, tgps *int64) *corev1.Pod {
	if phase == "" {
		phase = corev1.PodRunning
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("uid-" + name)},
		Spec: corev1.PodSpec{TerminationGracePeriodSeconds: tgps,
			Containers: []corev1.Container{{Name: "main", Image: "busybox"}}},
		Status: corev1.PodStatus{Phase: phase},
	}
	if phase != corev1.PodPending { // a worker started its container
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", ContainerID: "runc://main-0-" + name}}
	}
	return p
}

// deletion is what a test reads back of a pod's deletion mark.
type deletion struct {
	Gone  bool
	At    time.Time
	Grace int64
}

func readDeletion(t *testing.T, st *store.Store, name string) deletion {
	t.Helper()
	p, err := st.GetPod(context.Background(), "default", name)
	if errors.Is(err, store.ErrNotFound) {
		return deletion{Gone: true}
	}
	if err != nil {
		t.Fatalf("get pod %s: %v", name, err)
	}
	var d deletion
	if p.DeletionTimestamp != nil {
		d.At = p.DeletionTimestamp.UTC()
	}
	if p.DeletionGracePeriodSeconds != nil {
		d.Grace = *p.DeletionGracePeriodSeconds
	}
	return d
}

func TestMarkPodDeleted(t *testing.T) {
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		// owned: a live owner holds the pod's supervisor lock.
		owned bool
		// earlier marks the pod first with this grace, at t0.
		earlier *int64
		grace   *int64
		want    deletion
		result  Deleted
	}{{
		name: "running pod: its terminationGracePeriodSeconds, deletionTimestamp when the grace ends",
		pod:  testPod("p", "", ptr.To[int64](20)), owned: true,
		want: deletion{At: t0.Add(time.Minute + 20*time.Second), Grace: 20}, result: DeletionMarked,
	}, {
		name: "no terminationGracePeriodSeconds: 30 s",
		pod:  testPod("p", "", nil), owned: true,
		want: deletion{At: t0.Add(time.Minute + 30*time.Second), Grace: 30}, result: DeletionMarked,
	}, {
		name: "--grace-period overrides the pod's",
		pod:  testPod("p", "", ptr.To[int64](20)), owned: true, grace: ptr.To[int64](3),
		want: deletion{At: t0.Add(time.Minute + 3*time.Second), Grace: 3}, result: DeletionMarked,
	}, {
		name: "a later deletion may shorten the grace, counted from the first",
		pod:  testPod("p", "", nil), owned: true, earlier: ptr.To[int64](10), grace: ptr.To[int64](2),
		want: deletion{At: t0.Add(2 * time.Second), Grace: 2}, result: DeletionMarked,
	}, {
		name: "a later deletion never lengthens it",
		pod:  testPod("p", "", nil), owned: true, earlier: ptr.To[int64](10), grace: ptr.To[int64](60),
		want: deletion{At: t0.Add(10 * time.Second), Grace: 10}, result: DeletionMarked,
	}, {
		name: "running pod whose owner died: marked, left for the next supervisor",
		pod:  testPod("p", "", nil), grace: ptr.To[int64](5),
		want: deletion{At: t0.Add(time.Minute + 5*time.Second), Grace: 5}, result: DeletionMarked,
	}, {
		name: "pending pod no worker ever started: removed at once",
		pod:  testPod("p", corev1.PodPending, nil),
		want: deletion{Gone: true}, result: DeletionRemoved,
	}, {
		name: "pending pod whose supervisor is starting it: marked",
		pod:  testPod("p", corev1.PodPending, nil), owned: true,
		want: deletion{At: t0.Add(time.Minute + 30*time.Second), Grace: 30}, result: DeletionMarked,
	}, {
		name: "terminal pod nothing owns: removed at once",
		pod:  testPod("p", corev1.PodSucceeded, nil),
		want: deletion{Gone: true}, result: DeletionRemoved,
	}, {
		name: "terminal pod whose supervisor still finishes: grace 0, the supervisor removes it",
		pod:  testPod("p", corev1.PodFailed, nil), owned: true,
		want: deletion{At: t0.Add(time.Minute), Grace: 0}, result: DeletionMarked,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := store.NewMemory()
			if _, err := st.CreatePod(ctx, tc.pod); err != nil {
				t.Fatal(err)
			}
			if tc.owned {
				lock, err := st.LockSupervisor("default", tc.pod.Name)
				if err != nil {
					t.Fatal(err)
				}
				defer lock.Release()
			}
			if tc.earlier != nil {
				if _, err := MarkPodDeleted(ctx, st, "default", "p", DeleteOptions{GracePeriod: tc.earlier, Now: t0}); err != nil {
					t.Fatal(err)
				}
			}
			got, err := MarkPodDeleted(ctx, st, "default", "p", DeleteOptions{GracePeriod: tc.grace, Now: t0.Add(time.Minute)})
			if err != nil {
				t.Fatalf("MarkPodDeleted: %v", err)
			}
			if got != tc.result {
				t.Errorf("MarkPodDeleted = %v, want %v", got, tc.result)
			}
			if diff := cmp.Diff(tc.want, readDeletion(t, st, "p")); diff != "" {
				t.Errorf("deletion mark (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMarkPodDeletedNotFound(t *testing.T) {
	_, err := MarkPodDeleted(context.Background(), store.NewMemory(), "default", "nope", DeleteOptions{Now: t0})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MarkPodDeleted of a missing pod = %v, want store.ErrNotFound", err)
	}
}

// TestWatchDeletion checks what the owner of a pod hears of deletion
// requests written by other processes: each mark that shortens the grace,
// and grace 0 when the pod vanishes.
func TestWatchDeletion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		st := store.NewMemory()
		if _, err := st.CreatePod(ctx, testPod("p", "", nil)); err != nil {
			t.Fatal(err)
		}
		var got []int64
		done := make(chan struct{})
		go func() {
			defer close(done)
			watchDeletion(ctx, st, "default", "p", func(g *int64) { got = append(got, *g) }, discard())
		}()
		step := func(do func()) {
			do()
			synctest.Wait()
		}
		step(func() {}) // the watch sees no mark
		step(func() {
			MarkPodDeleted(ctx, st, "default", "p", DeleteOptions{GracePeriod: ptr.To[int64](10), Now: t0})
		})
		step(func() {
			MarkPodDeleted(ctx, st, "default", "p", DeleteOptions{GracePeriod: ptr.To[int64](20), Now: t0})
		})
		step(func() { // the owner's own status writes are no requests
			st.UpdatePod(ctx, "default", "p", func(p *corev1.Pod) error { p.Status.Reason = "x"; return nil })
		})
		step(func() { MarkPodDeleted(ctx, st, "default", "p", DeleteOptions{GracePeriod: ptr.To[int64](1), Now: t0}) })
		step(func() { st.DeletePod(ctx, "default", "p") })
		cancel()
		<-done
		if diff := cmp.Diff([]int64{10, 1, 0}, got); diff != "" {
			t.Errorf("graces delivered (-want +got):\n%s", diff)
		}
	})
}

func TestMarkJobDeleted(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemory()
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "j", UID: "job-uid"}}
	if _, err := st.CreateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	owned := func(p *corev1.Pod) *corev1.Pod {
		p.OwnerReferences = []metav1.OwnerReference{{Kind: "Job", Name: "j", UID: "job-uid"}}
		return p
	}
	for _, p := range []*corev1.Pod{
		owned(testPod("j-1", corev1.PodFailed, nil)),
		owned(testPod("j-2", corev1.PodSucceeded, nil)),
		testPod("other", corev1.PodSucceeded, nil),
	} {
		if _, err := st.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	got, err := MarkJobDeleted(ctx, st, "default", "j", DeleteOptions{Now: t0})
	if err != nil || got != DeletionRemoved {
		t.Fatalf("MarkJobDeleted = %v, %v; want DeletionRemoved (no supervisor runs the Job)", got, err)
	}
	if _, err := st.GetJob(ctx, "default", "j"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("job after deletion: %v, want not found", err)
	}
	pods, err := st.ListPods(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pods {
		names = append(names, p.Name)
	}
	if diff := cmp.Diff([]string{"other"}, names); diff != "" {
		t.Errorf("pods left (-want +got):\n%s", diff)
	}
	if _, err := MarkJobDeleted(ctx, st, "default", "j", DeleteOptions{Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second MarkJobDeleted = %v, want store.ErrNotFound", err)
	}
}

// TestMarkJobDeletedOrphanedPod deletes a Job whose supervisor died while
// its pod ran: the pod is marked deleted and gets a supervisor to end it.
func TestMarkJobDeletedOrphanedPod(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemory()
	if _, err := st.CreateJob(ctx, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "j", UID: "job-uid"}}); err != nil {
		t.Fatal(err)
	}
	p := testPod("j-1", corev1.PodRunning, nil)
	p.OwnerReferences = []metav1.OwnerReference{{Kind: "Job", Name: "j", UID: "job-uid"}}
	if _, err := st.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	starter := &fakeStarter{}
	if _, err := MarkJobDeleted(ctx, st, "default", "j", DeleteOptions{Now: t0, Launch: starter}); err != nil {
		t.Fatalf("MarkJobDeleted: %v", err)
	}
	if diff := cmp.Diff([]string{"pod default/j-1"}, starter.started); diff != "" {
		t.Errorf("supervisors started (-want +got):\n%s", diff)
	}
	if d := readDeletion(t, st, "j-1"); d.Gone || d.Grace != 30 {
		t.Errorf("orphaned pod after its Job's deletion: %+v, want marked with its 30 s grace", d)
	}
}

// TestStoppedPodIsKept checks that a pod its own run stopped (its worker
// wrote the deletion mark, as after Ctrl-C of podrun run) stays in the
// store once nothing owns it — a supervisor continuing a dead run's pod
// must not take the mark for podrun delete — while a deletion through
// MarkPodDeleted still removes it.
func TestStoppedPodIsKept(t *testing.T) {
	for _, phase := range []corev1.PodPhase{corev1.PodFailed, corev1.PodSucceeded} {
		t.Run(string(phase), func(t *testing.T) {
			ctx := context.Background()
			st := store.NewMemory()
			if _, err := st.CreatePod(ctx, testPod("p", phase, nil)); err != nil {
				t.Fatal(err)
			}
			if _, err := st.UpdatePod(ctx, "default", "p", func(p *corev1.Pod) error {
				markDeleted(&p.ObjectMeta, 30, t0)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			removed, err := removeIfUnowned(ctx, st, "default", "p")
			if err != nil || removed {
				t.Fatalf("removeIfUnowned of a stopped pod = %v, %v; want it kept", removed, err)
			}
			if got := readDeletion(t, st, "p"); got.Gone || got.At.IsZero() {
				t.Errorf("stopped pod after removeIfUnowned: %+v; want it stored, marked", got)
			}
			got, err := MarkPodDeleted(ctx, st, "default", "p", DeleteOptions{Now: t0.Add(time.Minute)})
			if err != nil || got != DeletionRemoved {
				t.Errorf("MarkPodDeleted of the stopped pod = %v, %v; want it removed", got, err)
			}
		})
	}
}
