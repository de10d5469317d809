package printers

import (
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// PodColumns returns the READY, STATUS and RESTARTS cells of `kubectl get
// pods` for pod at now (SEMANTICS.md §10 as amended by §17; the algorithm
// is printPod of kubernetes pkg/printers/internalversion).
//
// READY counts ready regular containers plus started-and-ready sidecars
// over regular containers plus sidecars. STATUS walks the init containers
// in order, then (once initialized) the regular containers from last to
// first so that the first one's reason wins. RESTARTS carries
// "(<age> ago)" of the newest lastState.terminated.finishedAt.
func PodColumns(pod *corev1.Pod, now time.Time) (ready, status, restarts string) {
	c := podColumns(pod)
	restarts = strconv.Itoa(c.restarts)
	if c.restarts != 0 && !c.lastRestart.IsZero() {
		restarts = fmt.Sprintf("%d (%s ago)", c.restarts, since(c.lastRestart, now))
	}
	return fmt.Sprintf("%d/%d", c.ready, c.total), c.reason, restarts
}

// columns is the time-independent part of a pod row.
type columns struct {
	ready, total int
	reason       string
	restarts     int
	lastRestart  time.Time
}

func podColumns(pod *corev1.Pod) columns {
	c := columns{total: len(pod.Spec.Containers)}
	c.reason = string(pod.Status.Phase)
	if pod.Status.Reason != "" {
		c.reason = pod.Status.Reason
	}
	for _, cond := range pod.Status.Conditions {
		if cond.Type == corev1.PodScheduled && cond.Reason == corev1.PodReasonSchedulingGated {
			c.reason = corev1.PodReasonSchedulingGated
		}
	}

	sidecars := map[string]bool{}
	for i := range pod.Spec.InitContainers {
		ic := &pod.Spec.InitContainers[i]
		if ic.RestartPolicy != nil && *ic.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars[ic.Name] = true
			c.total++
		}
	}

	// Restarts and the newest previous finish, counted over all init
	// containers and, separately, over the sidecars alone: once the pod is
	// initialized only the sidecars' share is kept.
	var allInit, sidecarOnly int
	var allInitLast, sidecarLast time.Time
	initializing := false
	for i, st := range pod.Status.InitContainerStatuses {
		allInit += int(st.RestartCount)
		allInitLast = newer(allInitLast, st.LastTerminationState)
		if sidecars[st.Name] {
			sidecarOnly += int(st.RestartCount)
			sidecarLast = newer(sidecarLast, st.LastTerminationState)
		}
		if done := st.State.Terminated != nil && st.State.Terminated.ExitCode == 0; done {
			continue
		}
		if sidecars[st.Name] && st.Started != nil && *st.Started {
			if st.Ready {
				c.ready++
			}
			continue
		}
		switch t, w := st.State.Terminated, st.State.Waiting; {
		case t != nil:
			c.reason = "Init:" + terminatedReason(t)
		case w != nil && w.Reason != "" && w.Reason != "PodInitializing":
			c.reason = "Init:" + w.Reason
		default:
			c.reason = fmt.Sprintf("Init:%d/%d", i, len(pod.Spec.InitContainers))
		}
		initializing = true
		break
	}
	c.restarts, c.lastRestart = allInit, allInitLast

	if !initializing || conditionTrue(pod.Status.Conditions, corev1.PodInitialized) {
		c.restarts, c.lastRestart = sidecarOnly, sidecarLast
		hasRunning := false
		for i := len(pod.Status.ContainerStatuses) - 1; i >= 0; i-- {
			st := pod.Status.ContainerStatuses[i]
			c.restarts += int(st.RestartCount)
			c.lastRestart = newer(c.lastRestart, st.LastTerminationState)
			switch t, w := st.State.Terminated, st.State.Waiting; {
			case w != nil && w.Reason != "":
				c.reason = w.Reason
			case t != nil:
				c.reason = terminatedReason(t)
			case st.Ready && st.State.Running != nil:
				hasRunning = true
				c.ready++
			}
		}
		if c.reason == "Completed" && hasRunning {
			c.reason = "NotReady"
			if conditionTrue(pod.Status.Conditions, corev1.PodReady) {
				c.reason = "Running"
			}
		}
	}

	terminal := pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
	switch {
	case pod.DeletionTimestamp != nil && pod.Status.Reason == "NodeLost":
		c.reason = "Unknown"
	case pod.DeletionTimestamp != nil && !terminal:
		c.reason = "Terminating"
	}
	return c
}

// terminatedReason is a terminated state's reason, or Signal:<n> /
// ExitCode:<n> when the runtime gave none.
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

// newer returns the later of cur and the finish time of last, if any.
func newer(cur time.Time, last corev1.ContainerState) time.Time {
	if last.Terminated != nil && cur.Before(last.Terminated.FinishedAt.Time) {
		return last.Terminated.FinishedAt.Time
	}
	return cur
}

// conditionTrue reports whether the first condition of type t is True.
func conditionTrue(conds []corev1.PodCondition, t corev1.PodConditionType) bool {
	for _, c := range conds {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// since is kubectl's translateTimestampSince at now: the human age of t,
// "<unknown>" for a zero time and "<invalid>" for a future one.
func since(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}

// sinceMeta is since for a metav1.Time.
func sinceMeta(t metav1.Time, now time.Time) string { return since(t.Time, now) }

// sinceMicro is since for a metav1.MicroTime.
func sinceMicro(t metav1.MicroTime, now time.Time) string { return since(t.Time, now) }
