package lifecycle

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// reasonNodeLost is the status.reason the node controller sets on pods of
// an unreachable node.
const reasonNodeLost = "NodeLost"

// PodColumns are the computed cells of `kubectl get pods` for one pod.
type PodColumns struct {
	// Ready is "<ready>/<total>", the total counting sidecars (§10).
	Ready string
	// Status is the STATUS cell: the phase or a reason (Init:1/3,
	// CrashLoopBackOff, Completed, NotReady, Terminating...).
	Status string
	// Restarts is "<n>" or "<n> (<age> ago)" after a restart.
	Restarts string
	// Age is the AGE cell, from the creation timestamp.
	Age string
}

// Columns computes READY, STATUS, RESTARTS and AGE of pod, which carries
// its status, as kubectl's printPod does (§10 with the §17 corrections),
// with durations measured to now. It works on any pod: one from Status,
// a stored one, or one read from a cluster.
func Columns(pod *corev1.Pod, now time.Time) PodColumns {
	spec, st := &pod.Spec, &pod.Status
	total := len(spec.Containers)
	sidecars := map[string]bool{}
	for i := range spec.InitContainers {
		if IsSidecar(&spec.InitContainers[i]) {
			sidecars[spec.InitContainers[i].Name] = true
			total++
		}
	}
	ready, restarts, sidecarRestarts := 0, 0, 0
	var lastRestart, lastSidecarRestart time.Time
	reason := string(st.Phase)
	if st.Reason != "" {
		reason = st.Reason
	}
	for _, c := range st.Conditions {
		if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonSchedulingGated {
			reason = corev1.PodReasonSchedulingGated
		}
	}

	initializing := false
	for i, cs := range st.InitContainerStatuses {
		restarts += int(cs.RestartCount)
		lastRestart = later(lastRestart, cs.LastTerminationState.Terminated)
		if sidecars[cs.Name] {
			sidecarRestarts += int(cs.RestartCount)
			lastSidecarRestart = later(lastSidecarRestart, cs.LastTerminationState.Terminated)
		}
		term, wait := cs.State.Terminated, cs.State.Waiting
		switch {
		case term != nil && term.ExitCode == 0:
			continue
		case sidecars[cs.Name] && cs.Started != nil && *cs.Started:
			if cs.Ready {
				ready++
			}
			continue
		case term != nil:
			reason = "Init:" + terminatedReason(term)
		case wait != nil && wait.Reason != "" && wait.Reason != waitingPodInitializing:
			reason = "Init:" + wait.Reason
		default:
			reason = fmt.Sprintf("Init:%d/%d", i, len(spec.InitContainers))
		}
		initializing = true
		break
	}

	if !initializing || hasTrueCondition(st.Conditions, corev1.PodInitialized) {
		restarts, lastRestart = sidecarRestarts, lastSidecarRestart
		hasRunning := false
		for i := len(st.ContainerStatuses) - 1; i >= 0; i-- {
			cs := st.ContainerStatuses[i]
			restarts += int(cs.RestartCount)
			lastRestart = later(lastRestart, cs.LastTerminationState.Terminated)
			switch {
			case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
				reason = cs.State.Waiting.Reason
			case cs.State.Terminated != nil:
				reason = terminatedReason(cs.State.Terminated)
			case cs.Ready && cs.State.Running != nil:
				hasRunning = true
				ready++
			}
		}
		if reason == terminatedCompleted && hasRunning {
			reason = "NotReady"
			if hasTrueCondition(st.Conditions, corev1.PodReady) {
				reason = string(corev1.PodRunning)
			}
		}
	}

	switch {
	case pod.DeletionTimestamp != nil && st.Reason == reasonNodeLost:
		reason = string(corev1.PodUnknown)
	case pod.DeletionTimestamp != nil && !isTerminalPhase(st.Phase):
		reason = "Terminating"
	}

	restartsCell := fmt.Sprint(restarts)
	if restarts != 0 && !lastRestart.IsZero() {
		restartsCell = fmt.Sprintf("%d (%s ago)", restarts, since(lastRestart, now))
	}
	return PodColumns{
		Ready:    fmt.Sprintf("%d/%d", ready, total),
		Status:   reason,
		Restarts: restartsCell,
		Age:      age(pod.CreationTimestamp, now),
	}
}

// terminatedReason is a terminated state's reason, else Signal:<n> or
// ExitCode:<n>.
func terminatedReason(t *corev1.ContainerStateTerminated) string {
	switch {
	case t.Reason != "":
		return t.Reason
	case t.Signal != 0:
		return fmt.Sprintf("Signal:%d", t.Signal)
	default:
		return fmt.Sprintf("ExitCode:%d", t.ExitCode)
	}
}

// later returns the later of t and t's finishedAt, if t is set.
func later(cur time.Time, t *corev1.ContainerStateTerminated) time.Time {
	if t != nil && t.FinishedAt.Time.After(cur) {
		return t.FinishedAt.Time
	}
	return cur
}

// hasTrueCondition reports whether the condition of type t is True.
func hasTrueCondition(conds []corev1.PodCondition, t corev1.PodConditionType) bool {
	for _, c := range conds {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// since formats now - t as kubectl does (HumanDuration).
func since(t, now time.Time) string {
	return duration.HumanDuration(now.Sub(t))
}

// age is kubectl's translateTimestampSince: <unknown> for a zero time.
func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return since(t.Time, now)
}
