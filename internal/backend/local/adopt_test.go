package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/podrun/podrun/internal/podworker"
	"github.com/podrun/podrun/internal/runtime/oci"
	"github.com/podrun/podrun/internal/store"
)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// fakeStarter records the supervisors it is asked to start.
type fakeStarter struct {
	mu      sync.Mutex
	started []string
	err     error
}

func (f *fakeStarter) Start(_ context.Context, k Kind, ns, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started = append(f.started, string(k)+" "+ns+"/"+name)
	return f.err
}

func TestEnsureSupervised(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pod     *corev1.Pod // nil: no pod
		owned   bool
		want    bool
		started []string
	}{
		{name: "no such pod: nothing to do", want: false},
		{name: "terminal pod needs no supervisor", pod: testPod("p", corev1.PodSucceeded, nil)},
		{name: "running pod with a live owner", pod: testPod("p", "", nil), owned: true},
		{name: "running pod whose supervisor died: a new one", pod: testPod("p", "", nil),
			want: true, started: []string{"pod default/p"}},
		{name: "pending pod whose supervisor never locked: a new one", pod: testPod("p", corev1.PodPending, nil),
			want: true, started: []string{"pod default/p"}},
		{name: "a Job's pod that never started is left to the Job", pod: jobPod(testPod("p", corev1.PodPending, nil))},
		{name: "a Job's running pod whose supervisor died: a new one", pod: jobPod(testPod("p", "", nil)),
			want: true, started: []string{"pod default/p"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := store.NewMemory()
			if tc.pod != nil {
				if _, err := st.CreatePod(ctx, tc.pod); err != nil {
					t.Fatal(err)
				}
			}
			if tc.owned {
				lock, err := st.LockSupervisor("default", "p")
				if err != nil {
					t.Fatal(err)
				}
				defer lock.Release()
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

func jobPod(p *corev1.Pod) *corev1.Pod {
	p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "j", UID: "job-uid"}}
	return p
}

func TestEnsureSupervisedStartError(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemory()
	if _, err := st.CreatePod(ctx, testPod("p", "", nil)); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if _, err := EnsureSupervised(ctx, st, &fakeStarter{err: boom}, "default", "p"); !errors.Is(err, boom) {
		t.Errorf("EnsureSupervised = %v, want the launcher's error", err)
	}
}

func TestLockJob(t *testing.T) {
	root := t.TempDir()
	if alive, err := jobSupervised(root, "default", "j"); err != nil || alive {
		t.Fatalf("jobSupervised before any lock = %v, %v; want false", alive, err)
	}
	unlock, err := lockJob(root, "default", "j")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockJob(root, "default", "j"); !errors.Is(err, store.ErrLocked) {
		t.Errorf("second lockJob = %v, want store.ErrLocked", err)
	}
	if alive, err := jobSupervised(root, "default", "j"); err != nil || !alive {
		t.Errorf("jobSupervised while locked = %v, %v; want true", alive, err)
	}
	unlock()
	unlock() // idempotent
	if alive, err := jobSupervised(root, "default", "j"); err != nil || alive {
		t.Errorf("jobSupervised after unlock = %v, %v; want false", alive, err)
	}
}

// TestLostStatus checks the status of a pod whose containers could not be
// adopted (SEMANTICS.md §9): running containers become
// ContainerStatusUnknown with exit code 137, the others keep their state.
func TestLostStatus(t *testing.T) {
	started := metav1.NewTime(t0)
	now := metav1.NewTime(t0.Add(time.Minute))
	completed := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}}
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}
	lost := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: 137, Reason: "ContainerStatusUnknown", Message: containerStatusUnknownMessage,
		StartedAt: started, FinishedAt: now, ContainerID: "runc://x",
	}}
	status := corev1.PodStatus{
		Phase: corev1.PodRunning,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue},
		},
		InitContainerStatuses: []corev1.ContainerStatus{
			{Name: "init", State: completed},
			{Name: "sidecar", State: running, Ready: true, Started: ptr.To(true), ContainerID: "runc://x"},
		},
		ContainerStatuses: []corev1.ContainerStatus{
			{Name: "main", State: running, Ready: true, Started: ptr.To(true), ContainerID: "runc://x"},
		},
	}
	lostStatus(&status, now)
	want := corev1.PodStatus{
		Phase: corev1.PodFailed,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue},
			{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "PodCompleted", LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, Reason: "PodCompleted", LastTransitionTime: now},
		},
		InitContainerStatuses: []corev1.ContainerStatus{
			{Name: "init", State: completed},
			{Name: "sidecar", State: lost, Started: ptr.To(false), ContainerID: "runc://x"},
		},
		ContainerStatuses: []corev1.ContainerStatus{
			{Name: "main", State: lost, Started: ptr.To(false), ContainerID: "runc://x"},
		},
	}
	if diff := cmp.Diff(want, status); diff != "" {
		t.Errorf("status after losing the containers (-want +got):\n%s", diff)
	}
}

// fakeRemover records the sandboxes it is asked to remove.
type fakeRemover struct{ removed []string }

func (f *fakeRemover) RemovePodSandbox(_ context.Context, id string) error {
	f.removed = append(f.removed, id)
	return nil
}

// TestAdoptOrphans ends a pod whose supervisor died: the sandbox its
// containers joined (named by the run record, or by the status alone when
// the supervisor died before saving the record) is removed through the
// runtime, once, and the running containers are reported lost.
func TestAdoptOrphans(t *testing.T) {
	for _, tc := range []struct {
		name       string
		withRecord bool
	}{{"run record and status", true}, {"status only", false}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			rtRoot := t.TempDir()
			bundle := func(id, sandbox string) {
				dir := filepath.Join(rtRoot, "containers", id)
				if err := os.MkdirAll(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				cfg := fmt.Sprintf(`{"ociVersion":"1.0.2","linux":{"namespaces":[{"type":"pid"},{"type":"network","path":%q}]}}`,
					filepath.Join(rtRoot, "sandboxes", sandbox, "net"))
				if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			bundle("init-0-a", "sb1")
			bundle("main-0-b", "sb1")
			st := store.NewMemory()
			pod := testPod("p", "", nil)
			pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", ContainerID: "runc://main-0-b",
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(t0)}}}}
			if _, err := st.CreatePod(ctx, pod); err != nil {
				t.Fatal(err)
			}
			if tc.withRecord {
				rec := podworker.Record{Namespace: "default", Name: "p", Containers: []podworker.ContainerRecord{
					{Name: "init", Attempts: []podworker.AttemptRecord{{ContainerID: "init-0-a"}}},
					{Name: "main", Attempts: []podworker.AttemptRecord{{ContainerID: "main-0-b"}, {ContainerID: "main-1-gone"}}},
				}}
				raw, _ := json.Marshal(rec)
				if err := st.PutRecord(ctx, "default", "p", raw); err != nil {
					t.Fatal(err)
				}
			}
			if !orphaned(ctx, st, pod) {
				t.Errorf("orphaned = false, want true: the pod had started")
			}
			rm := &fakeRemover{}
			if err := adoptOrphans(ctx, st, rm, rtRoot, pod, t0.Add(time.Minute)); err != nil {
				t.Fatalf("adoptOrphans: %v", err)
			}
			if diff := cmp.Diff([]string{"sb1"}, rm.removed); diff != "" {
				t.Errorf("sandboxes removed (-want +got):\n%s", diff)
			}
			got, err := st.GetPod(ctx, "default", "p")
			if err != nil {
				t.Fatal(err)
			}
			if tc.withRecord {
				raw, err := st.GetRecord(ctx, "default", "p")
				if err != nil {
					t.Fatal(err)
				}
				rec := podworker.Record{}
				if err := json.Unmarshal(raw, &rec); err != nil {
					t.Fatal(err)
				}
				if rec.FinishedAt == nil || len(rec.StatusHistory) == 0 || rec.StatusHistory[len(rec.StatusHistory)-1].Phase != corev1.PodFailed {
					t.Errorf("run record after adoption: finishedAt %v, history %+v; want finished, last phase Failed", rec.FinishedAt, rec.StatusHistory)
				}
			}
			term := got.Status.ContainerStatuses[0].State.Terminated
			if got.Status.Phase != corev1.PodFailed || term == nil || term.Reason != "ContainerStatusUnknown" || term.ExitCode != 137 {
				t.Errorf("pod after adoption: phase %s, main %+v; want Failed, ContainerStatusUnknown 137", got.Status.Phase, got.Status.ContainerStatuses[0].State)
			}
		})
	}
}

// TestOrphanedFreshPod: a pod no worker ever started is not orphaned.
func TestOrphanedFreshPod(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemory()
	pod := testPod("p", corev1.PodPending, nil)
	if _, err := st.CreatePod(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if orphaned(ctx, st, pod) {
		t.Errorf("orphaned = true for a pod without record or container, want false")
	}
}

// TestAdoptSandboxLeftBeforeAnySave: a supervisor killed right after it
// created the sandbox saved neither a record nor a container ID; its
// sandbox, named after the pod's UID, is found and removed all the same.
func TestAdoptSandboxLeftBeforeAnySave(t *testing.T) {
	ctx := context.Background()
	rtRoot := t.TempDir()
	st := store.NewMemory()
	pod := testPod("early", corev1.PodPending, nil) // no container ID saved yet
	if _, err := st.CreatePod(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if orphaned(ctx, st, pod) || leftoverSandbox(rtRoot, pod) {
		t.Fatal("a pod with nothing on disk counts as adopted work")
	}
	sb := oci.SandboxID(pod, 0)
	if err := os.MkdirAll(filepath.Join(rtRoot, "sandboxes", sb), 0o700); err != nil {
		t.Fatal(err)
	}
	if !leftoverSandbox(rtRoot, pod) {
		t.Fatal("leftoverSandbox = false with the pod's sandbox on disk")
	}
	rm := &fakeRemover{}
	if err := adoptOrphans(ctx, st, rm, rtRoot, pod, t0.Add(time.Minute)); err != nil {
		t.Fatalf("adoptOrphans: %v", err)
	}
	if diff := cmp.Diff([]string{sb}, rm.removed); diff != "" {
		t.Errorf("sandboxes removed (-want +got):\n%s", diff)
	}
}
