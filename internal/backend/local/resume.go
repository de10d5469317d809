package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/podworker"
	"github.com/podrun/podrun/internal/store"
)

// Continuing a pod after its supervisor died
//
// A supervisor (podrun supervise, or the podrun run that drove the pod)
// can die at any moment: kill -9, a crash, SIGTERM ("stop supervising").
// Its containers do not die with it: each one's output and exit status
// belong to a per-container shim of the OCI runtime, and the runtime's
// state on disk names the pod's sandboxes. The worker saves a
// podworker.Checkpoint after every publish (podStore.SaveCheckpoint):
// the observation the planner reads, the run record, the events with
// their counts, the deletion under way.
//
// The next podrun command that reads the pod (EnsureSupervised) starts
// a new supervisor; the supervisor sees that the pod was started before
// (orphaned, leftoverSandbox), reads the checkpoint (loadCheckpoint; an
// empty one when the first supervisor died before saving any) and runs
// the pod's worker with Config.Resume. The worker re-observes the
// sandboxes and containers in the runtime, adopts instances the
// checkpoint does not know yet (started after the last save), rebuilds
// probe state, and goes on: restart counts and back-off continue, a
// container that exited meanwhile is seen exited, and nothing already
// written to a log is written again.
//
// adoptOrphans ("Ending what cannot be continued" in adopt.go) remains for what cannot be
// continued — see continuable.
//
// A Job's pods are continued by the Job's supervisor (RunJob adopting
// the pods it finds, adoptJobPods), never by one supervisor per pod while
// the Job lives: the controller must see its pods to count them.

// errNoCheckpoint wraps the reason a stored checkpoint cannot be used.
var errNoCheckpoint = errors.New("checkpoint cannot be used")

// loadCheckpoint reads the checkpoint the previous worker of pod saved:
// an empty one (of the current version) if it saved none, an error
// wrapping errNoCheckpoint if the one stored does not decode or has
// another layout version.
func loadCheckpoint(ctx context.Context, st *store.Store, pod *corev1.Pod) (*podworker.Checkpoint, error) {
	raw, err := st.GetCheckpoint(ctx, pod.Namespace, pod.Name)
	if errors.Is(err, store.ErrNotFound) {
		return &podworker.Checkpoint{Version: podworker.CheckpointVersion}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	cp := &podworker.Checkpoint{}
	if err := json.Unmarshal(raw, cp); err != nil {
		return nil, fmt.Errorf("checkpoint of pod %s/%s: %w: %w", pod.Namespace, pod.Name, errNoCheckpoint, err)
	}
	if cp.Version != podworker.CheckpointVersion {
		return nil, fmt.Errorf("checkpoint of pod %s/%s: %w: layout version %d, this podrun reads %d",
			pod.Namespace, pod.Name, errNoCheckpoint, cp.Version, podworker.CheckpointVersion)
	}
	if cp.Record.Namespace != "" && (cp.Record.Namespace != pod.Namespace || cp.Record.Name != pod.Name ||
		(cp.Record.UID != "" && cp.Record.UID != string(pod.UID))) {
		return nil, fmt.Errorf("checkpoint of pod %s/%s: %w: it is that of %s/%s (uid %s)",
			pod.Namespace, pod.Name, errNoCheckpoint, cp.Record.Namespace, cp.Record.Name, cp.Record.UID)
	}
	return cp, nil
}

// continuable decides whether a worker can continue pod from its
// checkpoint (cpErr is loadCheckpoint's error; sandboxes counts the pod's
// sandboxes the runtime finds), and says why not. It cannot when:
//
//   - the checkpoint does not decode or has another layout (cpErr): the
//     worker would start from nothing and could not tell its own
//     instances from a previous podrun's;
//   - the runtime cannot list the pod's sandboxes (an error), or finds
//     none although one is on disk (onDisk: leftoverSandbox; a runtime
//     that cannot load what another process created) or containers of
//     the pod were running: the containers are gone or out of reach, and
//     the kubelet reports such containers ContainerStatusUnknown
//     (SEMANTICS.md §9). Continuing would create a second sandbox of the
//     same name over the first.
//
// A pod with no sandbox and no running container (its supervisor died
// before creating one, or between two sandboxes) is continued: the
// worker creates what is missing.
func continuable(ctx context.Context, sandboxes func(ctx context.Context) (int, error), onDisk bool, pod *corev1.Pod, cpErr error) (bool, string) {
	if cpErr != nil {
		return false, cpErr.Error()
	}
	n, err := sandboxes(ctx)
	if err != nil {
		return false, fmt.Sprintf("list the sandboxes of pod %s/%s: %v", pod.Namespace, pod.Name, err)
	}
	switch {
	case n == 0 && onDisk:
		return false, fmt.Sprintf("the runtime cannot load the sandbox of pod %s/%s (uid %s) left on disk", pod.Namespace, pod.Name, pod.UID)
	case n == 0 && runningContainers(&pod.Status):
		return false, fmt.Sprintf("the runtime finds no sandbox of pod %s/%s (uid %s) although its containers ran", pod.Namespace, pod.Name, pod.UID)
	}
	return true, ""
}

// runningContainers reports whether status shows a container running.
func runningContainers(status *corev1.PodStatus) bool {
	for _, list := range [][]corev1.ContainerStatus{status.InitContainerStatuses, status.ContainerStatuses} {
		for _, cs := range list {
			if cs.State.Running != nil {
				return true
			}
		}
	}
	return false
}

// resumePoint reads the checkpoint of pod, whose previous worker died,
// and decides with continuable whether the pod can be continued: the
// checkpoint to resume from, or lost and why.
func (l *Local) resumePoint(ctx context.Context, st *store.Store, pod *corev1.Pod) (cp *podworker.Checkpoint, lost bool, why string) {
	cp, cpErr := loadCheckpoint(ctx, st, pod)
	sandboxes := func(ctx context.Context) (int, error) {
		list, err := l.rt.ListPodSandbox(ctx, string(pod.UID))
		return len(list), err
	}
	onDisk := leftoverSandbox(filepath.Join(l.opts.Root, "runtime"), pod)
	if ok, why := continuable(ctx, sandboxes, onDisk, pod, cpErr); !ok {
		return nil, true, why
	}
	return cp, false, ""
}

// podSpec returns the supervisor spec of pod: its own (podrun apply and
// podrun run write one), else that of the Job owning it, else the
// defaults.
func podSpec(root string, pod *corev1.Pod) (*superviseSpec, error) {
	if _, err := os.Stat(supervisePath(root, KindPod, pod.Namespace, pod.Name, ".json")); err != nil {
		for _, ref := range pod.OwnerReferences {
			if ref.Kind == "Job" {
				return readSpec(root, KindJob, pod.Namespace, ref.Name)
			}
		}
	}
	return readSpec(root, KindPod, pod.Namespace, pod.Name)
}
