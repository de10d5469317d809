package lifecycle

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition reasons and messages the kubelet writes (SEMANTICS.md §8,
// §17; kubelet 1.37 adds a reason and message to PodReadyToStartContainers).
const (
	reasonPodSandboxNotReady     = "PodSandboxNotReady"
	messageNoPodSandbox          = "no pod sandbox exists"
	messagePodSandboxNotReady    = "pod sandbox is not ready"
	reasonContainersNotInit      = "ContainersNotInitialized"
	reasonContainersNotReady     = "ContainersNotReady"
	reasonPodCompleted           = "PodCompleted"
	reasonPodFailed              = "PodFailed"
	reasonReadinessGatesNotReady = "ReadinessGatesNotReady"
)

// kubeletConditions are the condition types the kubelet owns and
// regenerates on every status; any other condition of the pod is kept.
var kubeletConditions = map[corev1.PodConditionType]bool{
	corev1.PodReadyToStartContainers: true,
	corev1.PodInitialized:            true,
	corev1.PodReady:                  true,
	corev1.ContainersReady:           true,
	corev1.PodScheduled:              true,
	corev1.PodResizePending:          true,
	corev1.PodResizeInProgress:       true,
}

// conditions returns the pod's conditions in the kubelet's order: the
// conditions it does not own (kept from the pod), then
// PodReadyToStartContainers, Initialized, Ready, ContainersReady and
// PodScheduled (§8). A condition keeps its lastTransitionTime while its
// status is unchanged from the last report; otherwise it is now.
func (b *statusBuilder) conditions(phase corev1.PodPhase, initStatuses, statuses []corev1.ContainerStatus) []corev1.PodCondition {
	var out []corev1.PodCondition
	for _, c := range b.pod.Status.Conditions {
		if !kubeletConditions[c.Type] {
			out = append(out, c)
		}
	}
	all := append(append([]corev1.ContainerStatus{}, initStatuses...), statuses...)
	containersReady := b.containersReadyCondition(phase, all)
	out = append(out,
		b.stamp(b.readyToStartContainersCondition()),
		b.stamp(b.initializedCondition(phase, all)),
		b.stamp(b.readyCondition(containersReady, out)),
		b.stamp(containersReady),
		b.stamp(corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}),
	)
	return out
}

// stamp sets c's observedGeneration and lastTransitionTime.
func (b *statusBuilder) stamp(c corev1.PodCondition) corev1.PodCondition {
	c.ObservedGeneration = b.pod.Generation
	if prev := b.previousCondition(c.Type); prev != nil && prev.Status == c.Status {
		c.LastTransitionTime = prev.LastTransitionTime
		return c
	}
	c.LastTransitionTime = metav1.NewTime(b.now)
	if c.Type == corev1.PodScheduled && !b.pod.CreationTimestamp.IsZero() && b.previousCondition(c.Type) == nil {
		// Scheduled when accepted: podrun has no scheduler delay.
		c.LastTransitionTime = b.pod.CreationTimestamp
	}
	return c
}

// previousCondition returns the condition of type t last reported, from
// Observed.LastConditions or else the pod's current status.
func (b *statusBuilder) previousCondition(t corev1.PodConditionType) *corev1.PodCondition {
	for _, list := range [][]corev1.PodCondition{b.obs.LastConditions, b.pod.Status.Conditions} {
		for i := range list {
			if list[i].Type == t {
				return &list[i]
			}
		}
	}
	return nil
}

// readyToStartContainersCondition: True once the sandbox is ready (§8).
// A sandbox that was torn down after the pod ran reads as not ready, as
// the kubelet's stopped-but-not-yet-removed sandbox does.
func (b *statusBuilder) readyToStartContainersCondition() corev1.PodCondition {
	c := corev1.PodCondition{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionFalse, Reason: reasonPodSandboxNotReady}
	switch sb := b.obs.Sandbox; {
	case sb != nil && sb.Ready:
		return corev1.PodCondition{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionTrue}
	case sb == nil && !b.ranAnyContainer():
		c.Message = messageNoPodSandbox
	default:
		c.Message = messagePodSandboxNotReady
	}
	return c
}

// ranAnyContainer reports whether any container ever had an instance.
func (b *statusBuilder) ranAnyContainer() bool {
	for _, co := range b.obs.Containers {
		if co.Current() != nil {
			return true
		}
	}
	return false
}

// initializedCondition is GeneratePodInitializedCondition (§8): True
// without init containers, once a regular container ran, or once every
// regular init container is ready and every sidecar started; True with
// PodCompleted for a Succeeded pod; else ContainersNotInitialized listing
// the containers with unknown and incomplete status.
func (b *statusBuilder) initializedCondition(phase corev1.PodPhase, all []corev1.ContainerStatus) corev1.PodCondition {
	c := corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}
	if len(b.pod.Spec.InitContainers) == 0 {
		return c
	}
	var unknown, incomplete []string
	for i := range b.pod.Spec.InitContainers {
		ic := &b.pod.Spec.InitContainers[i]
		st := findStatus(all, ic.Name)
		switch {
		case st == nil:
			unknown = append(unknown, ic.Name)
		case IsSidecar(ic):
			if st.Started == nil || !*st.Started {
				incomplete = append(incomplete, ic.Name)
			}
		case !st.Ready:
			incomplete = append(incomplete, ic.Name)
		}
	}
	if phase == corev1.PodSucceeded && len(unknown) == 0 {
		c.Reason = reasonPodCompleted
		return c
	}
	if b.anyRegularContainerStarted(all) {
		return c
	}
	if msg := unreadyMessage(unknown, incomplete, "incomplete"); msg != "" {
		return corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionFalse, Reason: reasonContainersNotInit, Message: msg}
	}
	return c
}

// anyRegularContainerStarted reports whether a regular container's status
// is Running or Terminated (HasAnyRegularContainerStarted).
func (b *statusBuilder) anyRegularContainerStarted(all []corev1.ContainerStatus) bool {
	for i := range b.pod.Spec.Containers {
		if st := findStatus(all, b.pod.Spec.Containers[i].Name); st != nil && (st.State.Running != nil || st.State.Terminated != nil) {
			return true
		}
	}
	return false
}

// containersReadyCondition is GenerateContainersReadyCondition (§8, P1):
// every sidecar and regular container ready; regular init containers do
// not count.
func (b *statusBuilder) containersReadyCondition(phase corev1.PodPhase, all []corev1.ContainerStatus) corev1.PodCondition {
	var unknown, unready []string
	check := func(name string) {
		switch st := findStatus(all, name); {
		case st == nil:
			unknown = append(unknown, name)
		case !st.Ready:
			unready = append(unready, name)
		}
	}
	for i := range b.pod.Spec.InitContainers {
		if IsSidecar(&b.pod.Spec.InitContainers[i]) {
			check(b.pod.Spec.InitContainers[i].Name)
		}
	}
	for i := range b.pod.Spec.Containers {
		check(b.pod.Spec.Containers[i].Name)
	}
	notReady := corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionFalse}
	switch {
	case phase == corev1.PodSucceeded && len(unknown) == 0:
		notReady.Reason = reasonPodCompleted
		return notReady
	case phase == corev1.PodFailed:
		notReady.Reason = reasonPodFailed
		return notReady
	}
	if msg := unreadyMessage(unknown, unready, "unready"); msg != "" {
		notReady.Reason, notReady.Message = reasonContainersNotReady, msg
		return notReady
	}
	return corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionTrue}
}

// readyCondition is GeneratePodReadyCondition (§8): ContainersReady's
// status, reason and message, or ReadinessGatesNotReady when a readiness
// gate's condition is missing or not True.
func (b *statusBuilder) readyCondition(containersReady corev1.PodCondition, others []corev1.PodCondition) corev1.PodCondition {
	c := corev1.PodCondition{Type: corev1.PodReady, Status: containersReady.Status, Reason: containersReady.Reason, Message: containersReady.Message}
	if c.Status != corev1.ConditionTrue {
		return c
	}
	var msgs []string
	for _, gate := range b.pod.Spec.ReadinessGates {
		var found *corev1.PodCondition
		for i := range others {
			if others[i].Type == gate.ConditionType {
				found = &others[i]
				break
			}
		}
		switch {
		case found == nil:
			msgs = append(msgs, fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", string(gate.ConditionType)))
		case found.Status != corev1.ConditionTrue:
			msgs = append(msgs, fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %v", string(gate.ConditionType), found.Status))
		}
	}
	if len(msgs) > 0 {
		return corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: reasonReadinessGatesNotReady, Message: strings.Join(msgs, ", ")}
	}
	return c
}

// unreadyMessage joins "containers with unknown status: [a b]" and
// "containers with <what> status: [c d]" with ", " (§8).
func unreadyMessage(unknown, other []string, what string) string {
	var parts []string
	if len(unknown) > 0 {
		parts = append(parts, fmt.Sprintf("containers with unknown status: %s", unknown))
	}
	if len(other) > 0 {
		parts = append(parts, fmt.Sprintf("containers with %s status: %s", what, other))
	}
	return strings.Join(parts, ", ")
}
