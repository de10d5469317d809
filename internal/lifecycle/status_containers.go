package lifecycle

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Container state reasons and messages the kubelet writes (SEMANTICS.md §9).
const (
	waitingContainerCreating = "ContainerCreating"
	waitingPodInitializing   = "PodInitializing"
	waitingCrashLoopBackOff  = "CrashLoopBackOff"
	terminatedCompleted      = "Completed"
	terminatedError          = "Error"
	terminatedStatusUnknown  = "ContainerStatusUnknown"
	statusUnknownMessage     = "The container could not be located when the pod was terminated"
	// defaultRuntimeName is the containerID scheme when
	// Settings.RuntimeName is empty.
	defaultRuntimeName = "runc"
)

// statusBuilder holds the inputs of one Status call.
type statusBuilder struct {
	pod *corev1.Pod
	obs *Observed
	now time.Time
}

// containerStatuses returns the statuses of containers, in spec order
// (§9, §4.3). init is true for spec.initContainers.
func (b *statusBuilder) containerStatuses(containers []corev1.Container, init bool) []corev1.ContainerStatus {
	if len(containers) == 0 {
		return nil
	}
	out := make([]corev1.ContainerStatus, 0, len(containers))
	for i := range containers {
		out = append(out, b.containerStatus(&containers[i], init))
	}
	return out
}

// visible returns the attempts of c that a status may report. A new
// instance whose postStart hook has not returned is hidden: the kubelet
// starts it inside a sync and writes no status until the hook returns
// (§1, H1), so the container still shows its previous state.
func visible(c *corev1.Container, co *ContainerObservation) *ContainerObservation {
	if co == nil || len(co.Attempts) == 0 {
		return co
	}
	cur := co.Attempts[len(co.Attempts)-1]
	starting := cur.State == AttemptCreated || cur.State == AttemptRunning
	hookPending := cur.PostStart.State == HookNotRun || cur.PostStart.State == HookRunning
	if c.Lifecycle == nil || c.Lifecycle.PostStart == nil || !starting || !hookPending {
		return co
	}
	trimmed := *co
	trimmed.Attempts = co.Attempts[:len(co.Attempts)-1]
	return &trimmed
}

// containerStatus builds one container's status.
func (b *statusBuilder) containerStatus(c *corev1.Container, init bool) corev1.ContainerStatus {
	st := corev1.ContainerStatus{
		Name:         c.Name,
		Image:        c.Image,
		State:        b.defaultState(),
		VolumeMounts: volumeMountStatuses(c.VolumeMounts),
	}
	co := visible(c, b.obs.Container(c.Name))
	cur := co.Current()
	if cur != nil {
		st.ContainerID = b.containerID(cur.ID)
		if cur.Image != "" {
			st.Image = cur.Image
		}
		st.ImageID = cur.ImageID
		st.RestartCount = co.RestartCount()
		st.Resources, st.AllocatedResources = containerResources(c)
		var unknown bool
		st.State, unknown = b.attemptState(cur)
		if unknown {
			st.RestartCount++
		}
		if prev := co.Previous(); prev != nil {
			st.LastTerminationState, _ = b.attemptState(prev)
		}
	}
	b.applyWaitingReason(&st, c, init, co)
	started, ready := b.startedReady(c, init, cur, st.State)
	st.Started, st.Ready = &started, ready
	return st
}

// defaultState is the state of a container without an instance (§9):
// ContainerCreating, or PodInitializing in a pod with init containers.
func (b *statusBuilder) defaultState() corev1.ContainerState {
	reason := waitingContainerCreating
	if len(b.pod.Spec.InitContainers) > 0 {
		reason = waitingPodInitializing
	}
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
}

// containerID renders a runtime ID as <runtime>://<id>.
func (b *statusBuilder) containerID(id string) string {
	if id == "" || strings.Contains(id, "://") {
		return id
	}
	name := b.obs.Settings.RuntimeName
	if name == "" {
		name = defaultRuntimeName
	}
	return name + "://" + id
}

// attemptState converts one instance to an API state (§9). unknown is
// true when the kubelet synthesises ContainerStatusUnknown for an instance
// that ran and can no longer be located; it counts as one more restart.
func (b *statusBuilder) attemptState(a *Attempt) (state corev1.ContainerState, unknown bool) {
	switch a.State {
	case AttemptRunning:
		return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(a.StartedAt)}}, false
	case AttemptExited:
		reason := a.Reason
		if reason == "" {
			reason = terminatedError
			if a.ExitCode == 0 {
				reason = terminatedCompleted
			}
		}
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode:    a.ExitCode,
			Reason:      reason,
			Message:     a.Message,
			StartedAt:   metav1.NewTime(a.StartedAt),
			FinishedAt:  metav1.NewTime(a.FinishedAt),
			ContainerID: b.containerID(a.ID),
		}}, false
	case AttemptUnknown:
		if !a.StartedAt.IsZero() {
			return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 137,
				Reason:   terminatedStatusUnknown,
				Message:  statusUnknownMessage,
			}}, true
		}
	}
	// Created but not running, or never seen running: waiting, no reason.
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{}}, false
}

// applyWaitingReason replaces the state of a container that the next sync
// would (re)start with Waiting and the reason of its last failed start,
// moving a Terminated state to lastState (§9). The reason is the cached
// start failure, else CrashLoopBackOff while the back-off holds the
// restart (§3.4); without either the Terminated state stays until the new
// instance runs (§17).
func (b *statusBuilder) applyWaitingReason(st *corev1.ContainerStatus, c *corev1.Container, init bool, co *ContainerObservation) {
	cur := co.Current()
	if init && cur != nil && cur.State == AttemptExited && cur.ExitCode == 0 {
		return
	}
	if !b.willRestart(c, cur) {
		return
	}
	var waiting *corev1.ContainerStateWaiting
	if co != nil && co.StartFailure != nil {
		waiting = &corev1.ContainerStateWaiting{Reason: co.StartFailure.Reason, Message: co.StartFailure.Message}
	} else if held, delay, _ := CrashLoopBackOff(b.obs.Settings, co, b.now); held {
		waiting = &corev1.ContainerStateWaiting{
			Reason:  waitingCrashLoopBackOff,
			Message: CrashLoopBackOffMessage(b.pod, c.Name, delay),
		}
	}
	if waiting == nil {
		return
	}
	if st.State.Terminated != nil {
		st.LastTerminationState = st.State
	}
	st.State = corev1.ContainerState{Waiting: waiting}
}

// CrashLoopBackOffMessage is the kubelet's Waiting message (and BackOff
// event text) for a restart held back by a back-off of delay (§3.4).
func CrashLoopBackOffMessage(pod *corev1.Pod, container string, delay time.Duration) string {
	return fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)",
		delay, container, pod.Name, pod.Namespace, pod.UID)
}

// willRestart reports whether the kubelet's next sync would start a new
// instance of c, as ShouldContainerBeRestarted decides: never once the
// pod is deleted or terminating (RS2); always without an instance or after
// a Created/Unknown one; never while running; after an exit, per the
// restart policy (§3.1, §3.2).
func (b *statusBuilder) willRestart(c *corev1.Container, cur *Attempt) bool {
	if b.pod.DeletionTimestamp != nil || b.obs.Termination != nil {
		return false
	}
	if cur == nil {
		return true
	}
	switch cur.State {
	case AttemptRunning:
		return false
	case AttemptExited:
		return ContainerShouldRestart(b.obs.Settings, c, b.pod.Spec.RestartPolicy, cur.ExitCode)
	}
	return true
}

// startedReady computes status.started and status.ready (§4.3): regular
// containers and sidecars are started when running with a passed (or no)
// startup probe, and ready when started with a passed (or no) readiness
// probe; a regular init container is started while running and ready
// once it exited 0.
func (b *statusBuilder) startedReady(c *corev1.Container, init bool, cur *Attempt, state corev1.ContainerState) (started, ready bool) {
	running := state.Running != nil && cur != nil
	if init && !IsSidecar(c) {
		return running, state.Terminated != nil && state.Terminated.ExitCode == 0
	}
	started = running && (c.StartupProbe == nil || cur.Startup == ProbeSuccess)
	ready = started && (c.ReadinessProbe == nil || cur.Readiness == ProbeSuccess)
	return started, ready
}

// containerResources returns status.resources and allocatedResources of a
// container that has an instance: its cpu, memory and ephemeral-storage
// limits and requests, and its requests as allocated.
func containerResources(c *corev1.Container) (*corev1.ResourceRequirements, corev1.ResourceList) {
	pick := func(from corev1.ResourceList) corev1.ResourceList {
		if from == nil {
			return nil
		}
		out := corev1.ResourceList{}
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
			if q, ok := from[name]; ok {
				out[name] = q.DeepCopy()
			}
		}
		return out
	}
	var allocated corev1.ResourceList
	if len(c.Resources.Requests) > 0 {
		allocated = c.Resources.Requests.DeepCopy()
	}
	return &corev1.ResourceRequirements{Limits: pick(c.Resources.Limits), Requests: pick(allocated)}, allocated
}

// volumeMountStatuses reports the container's mounts as the kubelet does
// (RecursiveReadOnlyMounts): read-only mounts carry their recursive mode.
func volumeMountStatuses(mounts []corev1.VolumeMount) []corev1.VolumeMountStatus {
	if len(mounts) == 0 {
		return nil
	}
	out := make([]corev1.VolumeMountStatus, 0, len(mounts))
	for _, m := range mounts {
		vs := corev1.VolumeMountStatus{Name: m.Name, MountPath: m.MountPath, ReadOnly: m.ReadOnly}
		if m.ReadOnly {
			mode := corev1.RecursiveReadOnlyDisabled
			if m.RecursiveReadOnly != nil && *m.RecursiveReadOnly != corev1.RecursiveReadOnlyDisabled {
				mode = corev1.RecursiveReadOnlyEnabled
			}
			vs.RecursiveReadOnly = &mode
		}
		out = append(out, vs)
	}
	return out
}
