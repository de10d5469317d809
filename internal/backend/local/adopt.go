package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/internal/podworker"
	"github.com/podrun/podrun/internal/runtime/oci"
	"github.com/podrun/podrun/internal/store"
)

// EnsureSupervised starts a supervisor (through launch) for the pod
// ns/name if it needs one and has none: it is not terminal, and neither
// a supervisor nor a podrun run holds its lock — its supervisor died.
// For a pod of a Job still in the store that is the Job's supervisor
// (EnsureJobSupervised), which continues all its pods.
// Read-side commands (get, describe, logs, delete, apply) call it for
// every pod they touch. It reports whether it started one. A pod that
// does not exist is not an error.
func EnsureSupervised(ctx context.Context, st *store.Store, launch Starter, ns, name string) (bool, error) {
	pod, err := st.GetPod(ctx, ns, name)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if isTerminal(pod) {
		return false, nil
	}
	if _, alive, err := st.Supervisor(ns, name); err != nil || alive {
		return false, err
	}
	if job, ok := liveOwnerJob(ctx, st, pod); ok {
		// The Job's supervisor continues its pods (adoptJobPods).
		return EnsureJobSupervised(ctx, st, launch, ns, job)
	}
	if jobOwned(pod) && !orphaned(ctx, st, pod) {
		// A pod of a deleted Job that never started: nothing to end.
		return false, nil
	}
	if launch == nil {
		return false, nil
	}
	if err := launch.Start(ctx, KindPod, ns, name); err != nil {
		return false, err
	}
	return true, nil
}

// jobOwned reports whether a Job controls the pod.
func jobOwned(pod *corev1.Pod) bool {
	for _, ref := range pod.OwnerReferences {
		if ref.Kind == "Job" {
			return true
		}
	}
	return false
}

// lockJob takes the supervisor lock of the Job ns/name (a flock on a file
// of the supervise directory, released by the kernel when the process
// dies); store.ErrLocked if a live supervisor holds it.
func lockJob(root, ns, name string) (unlock func(), err error) {
	path := supervisePath(root, KindJob, ns, name, ".lock")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, store.ErrLocked
		}
		return nil, err
	}
	closed := false
	return func() {
		if !closed {
			closed = true
			f.Close()
		}
	}, nil
}

// jobSupervised reports whether a live supervisor holds the Job's lock.
func jobSupervised(root, ns, name string) (bool, error) {
	f, err := os.Open(supervisePath(root, KindJob, ns, name, ".lock"))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	switch err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); {
	case errors.Is(err, unix.EWOULDBLOCK):
		return true, nil
	case err != nil:
		return false, err
	}
	return false, nil
}

// orphaned reports whether a previous owner started the pod: its run
// record exists (the worker saves it at the end of its first step) or
// its status names a container instance (saved just before).
func orphaned(ctx context.Context, st *store.Store, pod *corev1.Pod) bool {
	if _, err := st.GetRecord(ctx, pod.Namespace, pod.Name); err == nil {
		return true
	}
	return len(statusContainerIDs(&pod.Status)) > 0
}

// statusContainerIDs returns the IDs of the container instances a pod
// status names (state and lastState), without the runtime's scheme.
func statusContainerIDs(status *corev1.PodStatus) []string {
	var out []string
	for _, list := range [][]corev1.ContainerStatus{status.InitContainerStatuses, status.ContainerStatuses} {
		for _, cs := range list {
			for _, id := range []string{cs.ContainerID, terminatedID(cs.LastTerminationState)} {
				if _, bare, ok := strings.Cut(id, "://"); ok && bare != "" {
					out = append(out, bare)
				}
			}
		}
	}
	return out
}

func terminatedID(s corev1.ContainerState) string {
	if s.Terminated == nil {
		return ""
	}
	return s.Terminated.ContainerID
}

// Ending what cannot be continued
//
// A new supervisor continues the pod of a dead one (see "Continuing a
// pod after its supervisor died" in resume.go). adoptOrphans is what
// remains for a pod that cannot be continued (continuable says when: its
// checkpoint does not decode, or the runtime finds no sandbox of it
// although its containers ran). It does what the kubelet does for
// containers it can no longer locate (SEMANTICS.md §9, T10): it removes
// whatever is left of the pod through the runtime (RemovePodSandbox of
// every sandbox the run record, the status or the pod's UID names) and
// reports every container that was running as Terminated with reason
// ContainerStatusUnknown and exit code 137; the pod ends Failed. Logs
// written before are kept: each CRI log entry is one write.

// containerStatusUnknownMessage is the kubelet's message for a container
// it could not locate.
const containerStatusUnknownMessage = "The container could not be located when the pod was terminated"

// sandboxRemover removes a pod sandbox, also one another process created
// (runtime.Runtime's RemovePodSandbox).
type sandboxRemover interface {
	RemovePodSandbox(ctx context.Context, sandboxID string) error
}

// adoptOrphans ends a pod whose supervisor died and that cannot be
// continued (see "Ending what cannot be continued"):
// rt removes the sandboxes of the containers in the pod's run record
// (runtimeRoot is the runtime's state directory), and the pod's status
// reports the running containers lost.
func adoptOrphans(ctx context.Context, st *store.Store, rt sandboxRemover, runtimeRoot string, pod *corev1.Pod, now time.Time) error {
	// The container instances: those of the run record and those the
	// status names (a supervisor may die between saving the two).
	ids := statusContainerIDs(&pod.Status)
	var rec *podworker.Record
	raw, err := st.GetRecord(ctx, pod.Namespace, pod.Name)
	switch {
	case err == nil:
		rec = &podworker.Record{}
		if err := json.Unmarshal(raw, rec); err != nil {
			return fmt.Errorf("adopt: run record: %w", err)
		}
		for _, c := range rec.Containers {
			for _, a := range c.Attempts {
				if a.ContainerID != "" {
					ids = append(ids, a.ContainerID)
				}
			}
		}
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("adopt: %w", err)
	}
	var errs []error
	sandboxes := containerSandboxes(ids, runtimeRoot)
	// A supervisor killed before it saved anything still left its
	// sandboxes, named after the pod's UID.
	for attempt := 0; attempt < maxSandboxAttempts; attempt++ {
		id := oci.SandboxID(pod, attempt)
		if _, err := os.Stat(filepath.Join(runtimeRoot, "sandboxes", id)); err == nil && !slices.Contains(sandboxes, id) {
			sandboxes = append(sandboxes, id)
		}
	}
	for _, sb := range sandboxes {
		if err := rt.RemovePodSandbox(ctx, sb); err != nil {
			errs = append(errs, fmt.Errorf("adopt: %w", err))
		}
	}
	at := metav1.NewTime(now)
	lost, err := st.UpdatePod(ctx, pod.Namespace, pod.Name, func(p *corev1.Pod) error {
		lostStatus(&p.Status, at)
		return nil
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("adopt: %w", err))
	} else if rec != nil {
		errs = append(errs, recordLost(ctx, st, rec, lost, now))
	}
	return errors.Join(errs...)
}

// reasonContainerStatusUnknown is the kubelet's reason for a container
// that vanished (SEMANTICS.md §9).
const reasonContainerStatusUnknown = "ContainerStatusUnknown"

// recordLost ends the run record as the status now reads: every attempt
// still open finished ContainerStatusUnknown (137) at now, the final status
// in the history, the pod finished.
func recordLost(ctx context.Context, st *store.Store, rec *podworker.Record, pod *corev1.Pod, now time.Time) error {
	for i := range rec.Containers {
		for j := range rec.Containers[i].Attempts {
			a := &rec.Containers[i].Attempts[j]
			if a.FinishedAt == nil && a.StartedAt != nil {
				code := int32(137)
				a.FinishedAt, a.ExitCode, a.Reason = &now, &code, reasonContainerStatusUnknown
			}
		}
	}
	rec.StatusHistory = append(rec.StatusHistory, podworker.StatusChangeOf(pod, pod.Status, now))
	rec.FinishedAt = &now
	raw, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("adopt: run record: %w", err)
	}
	if err := st.PutRecord(ctx, pod.Namespace, pod.Name, raw); err != nil {
		return fmt.Errorf("adopt: %w", err)
	}
	return nil
}

// leftoverSandbox reports whether a sandbox of pod exists under the
// runtime's state directory: a supervisor died after creating it, perhaps
// before it saved anything else.
func leftoverSandbox(runtimeRoot string, pod *corev1.Pod) bool {
	for attempt := 0; attempt < maxSandboxAttempts; attempt++ {
		if _, err := os.Stat(filepath.Join(runtimeRoot, "sandboxes", oci.SandboxID(pod, attempt))); err == nil {
			return true
		}
	}
	return false
}

// maxSandboxAttempts bounds the sandbox numbers adoption looks for.
const maxSandboxAttempts = 8

// containerSandboxes returns the IDs of the sandboxes the container
// instances ids live in, sorted, read from their bundles' config.json.
func containerSandboxes(ids []string, runtimeRoot string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if id == "" || strings.ContainsAny(id, "/") {
			continue
		}
		sb := sandboxOf(filepath.Join(runtimeRoot, "containers", id), runtimeRoot)
		if sb != "" && !seen[sb] {
			seen[sb] = true
			out = append(out, sb)
		}
	}
	sort.Strings(out)
	return out
}

// lostStatus turns every running container of status into a
// ContainerStatusUnknown termination and the pod into Failed.
func lostStatus(status *corev1.PodStatus, now metav1.Time) {
	for _, list := range [][]corev1.ContainerStatus{status.InitContainerStatuses, status.ContainerStatuses} {
		for i := range list {
			cs := &list[i]
			if cs.State.Running == nil {
				continue
			}
			cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 137, Reason: reasonContainerStatusUnknown, Message: containerStatusUnknownMessage,
				StartedAt: cs.State.Running.StartedAt, FinishedAt: now, ContainerID: cs.ContainerID,
			}}
			cs.Ready = false
			f := false
			cs.Started = &f
		}
	}
	status.Phase = corev1.PodFailed
	for i := range status.Conditions {
		c := &status.Conditions[i]
		if (c.Type == corev1.PodReady || c.Type == corev1.ContainersReady) && c.Status != corev1.ConditionFalse {
			c.Status, c.Reason, c.LastTransitionTime = corev1.ConditionFalse, "PodCompleted", now
		}
	}
}

// sandboxOf reads a bundle's OCI config.json and returns the ID of the
// sandbox whose namespaces (below runtimeRoot/sandboxes) it joins.
func sandboxOf(bundle, runtimeRoot string) string {
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return ""
	}
	var s specs.Spec
	if json.Unmarshal(data, &s) != nil || s.Linux == nil {
		return ""
	}
	prefix := filepath.Join(runtimeRoot, "sandboxes") + "/"
	for _, ns := range s.Linux.Namespaces {
		if rest, ok := strings.CutPrefix(ns.Path, prefix); ok {
			return strings.SplitN(rest, "/", 2)[0]
		}
	}
	return ""
}
