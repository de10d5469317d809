package local

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
		sandboxes int
		listErr   error
		want      bool
	}{
		{name: "sandbox found, containers running", pod: running, sandboxes: 1, want: true},
		{name: "two sandboxes (one being replaced)", pod: running, sandboxes: 2, want: true},
		{name: "died before creating the sandbox", pod: pending, want: true},
		{name: "no sandbox, no container running (between two sandboxes)", pod: exited, want: true},
		{name: "checkpoint unusable", pod: running, sandboxes: 1, cpErr: errNoCheckpoint},
		{name: "runtime cannot list", pod: running, listErr: broken},
		{name: "no sandbox although containers ran", pod: running},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list := func(context.Context) (int, error) { return tc.sandboxes, tc.listErr }
			got, why := continuable(context.Background(), list, tc.pod, tc.cpErr)
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
