package lifecycle

import (
	corev1 "k8s.io/api/core/v1"
)

// Pod-level status reason and message for activeDeadlineSeconds (§7, T3).
const (
	// ReasonDeadlineExceeded is status.reason of a pod stopped by its
	// activeDeadlineSeconds.
	ReasonDeadlineExceeded = "DeadlineExceeded"
	// MessageDeadlineExceeded is the matching status.message.
	MessageDeadlineExceeded = "Pod was active on the node longer than the specified deadline"
)

// phaseCounters are getPhase's tallies over the API container statuses.
type phaseCounters struct {
	pendingRegularInit, pendingSidecar                                   int
	failedInit, failedInitNotRestartable                                 int
	unknown, running, waiting, stopped, succeeded, stoppedNotRestartable int
}

// podPhase computes status.phase as the kubelet's getPhase does (§7) from
// the container statuses just built, then applies generateAPIPodStatus'
// post-processing: a pod that finished terminating is terminal, an active
// deadline fails the pod, and a terminal phase once reported is sticky.
func (b *statusBuilder) podPhase(initStatuses, statuses []corev1.ContainerStatus) corev1.PodPhase {
	terminal := b.podIsTerminal()
	phase := b.getPhase(initStatuses, statuses, terminal)
	if terminal && !isTerminalPhase(phase) {
		// The status manager marks a pod that finished terminating
		// without a terminal phase Failed (TerminatePod).
		phase = corev1.PodFailed
	}
	if t := b.obs.Termination; t != nil && t.Reason == TerminationDeadlineExceeded {
		// The active-deadline handler evicts the pod: Failed at once,
		// while its containers are still being stopped (T3).
		phase = corev1.PodFailed
	}
	for _, prev := range []corev1.PodPhase{b.obs.LastPhase, b.pod.Status.Phase} {
		if isTerminalPhase(prev) {
			return prev
		}
	}
	return phase
}

// isTerminalPhase reports whether p is Succeeded or Failed.
func isTerminalPhase(p corev1.PodPhase) bool {
	return p == corev1.PodSucceeded || p == corev1.PodFailed
}

// podIsTerminal reports whether the pod finished terminating: its
// termination began and no container instance is left running or created.
func (b *statusBuilder) podIsTerminal() bool {
	if b.obs.Termination == nil {
		return false
	}
	for _, co := range b.obs.Containers {
		if cur := co.Current(); cur != nil && (cur.State == AttemptRunning || cur.State == AttemptCreated) {
			return false
		}
	}
	return true
}

// podHasInitialized reports whether any regular container has an instance
// (HasAnyActiveRegularContainerStarted, §7 PH2).
func (b *statusBuilder) podHasInitialized() bool {
	for i := range b.pod.Spec.Containers {
		c := &b.pod.Spec.Containers[i]
		if visible(c, b.obs.Container(c.Name)).Current() != nil {
			return true
		}
	}
	return false
}

// getPhase is the kubelet's phase decision (§7), with the
// ContainerRestartRules variant when the gate is on.
func (b *statusBuilder) getPhase(initStatuses, statuses []corev1.ContainerStatus, podIsTerminal bool) corev1.PodPhase {
	gate := b.obs.Settings.ContainerRestartRules
	spec := &b.pod.Spec
	var n phaseCounters
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		st := findStatus(initStatuses, c.Name)
		if IsSidecar(c) {
			n.countSidecar(st)
			continue
		}
		n.countRegularInit(st, func(code int32) bool { return ContainerShouldRestart(b.obs.Settings, c, spec.RestartPolicy, code) })
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		n.countRegular(findStatus(statuses, c.Name), func(code int32) bool { return ContainerShouldRestart(b.obs.Settings, c, spec.RestartPolicy, code) })
	}

	switch {
	case gate && n.failedInitNotRestartable > 0,
		!gate && n.failedInit > 0 && spec.RestartPolicy == corev1.RestartPolicyNever:
		return corev1.PodFailed // S8, PH5
	case n.pendingRegularInit > 0,
		n.pendingSidecar > 0 && !b.podHasInitialized(), // PH2, PH3
		n.waiting > 0:
		return corev1.PodPending
	case n.running > 0 && n.unknown == 0:
		return corev1.PodRunning // PH1, PH4
	case n.running == 0 && n.stopped > 0 && n.unknown == 0:
		allSucceeded := n.stopped == n.succeeded
		switch {
		case podIsTerminal, gate && n.stoppedNotRestartable == n.stopped:
			if allSucceeded {
				return corev1.PodSucceeded
			}
			return corev1.PodFailed
		case gate:
			return corev1.PodRunning
		case spec.RestartPolicy == corev1.RestartPolicyAlways:
			return corev1.PodRunning
		case allSucceeded:
			return corev1.PodSucceeded
		case spec.RestartPolicy == corev1.RestartPolicyNever:
			return corev1.PodFailed
		default:
			return corev1.PodRunning
		}
	}
	return corev1.PodPending
}

// countRegularInit tallies a regular init container.
func (n *phaseCounters) countRegularInit(st *corev1.ContainerStatus, restarts func(int32) bool) {
	var failedCode *int32
	switch {
	case st == nil, st.State.Running != nil:
		n.pendingRegularInit++
	case st.State.Terminated != nil:
		failedCode = &st.State.Terminated.ExitCode
	case st.State.Waiting != nil:
		if last := st.LastTerminationState.Terminated; last != nil {
			failedCode = &last.ExitCode
		} else {
			n.pendingRegularInit++
		}
	}
	if failedCode != nil && *failedCode != 0 {
		n.failedInit++
		if !restarts(*failedCode) {
			n.failedInitNotRestartable++
		}
	}
}

// countSidecar tallies a sidecar; an exited sidecar is ignored (6.4).
func (n *phaseCounters) countSidecar(st *corev1.ContainerStatus) {
	switch {
	case st == nil:
		n.unknown++
	case st.State.Running != nil:
		n.running++
		if st.Started == nil || !*st.Started {
			n.pendingSidecar++
		}
	case st.State.Waiting != nil && st.LastTerminationState.Terminated == nil:
		n.pendingSidecar++
		n.waiting++
	}
}

// countRegular tallies a regular container.
func (n *phaseCounters) countRegular(st *corev1.ContainerStatus, restarts func(int32) bool) {
	var code *int32
	switch {
	case st == nil:
		n.unknown++
	case st.State.Running != nil:
		n.running++
	case st.State.Terminated != nil:
		code = &st.State.Terminated.ExitCode
		if *code == 0 {
			n.succeeded++
		}
	case st.State.Waiting != nil:
		if last := st.LastTerminationState.Terminated; last != nil {
			code = &last.ExitCode
		} else {
			n.waiting++
		}
	default:
		n.unknown++
	}
	if code != nil {
		n.stopped++
		if !restarts(*code) {
			n.stoppedNotRestartable++
		}
	}
}

// findStatus returns the status named name, or nil.
func findStatus(statuses []corev1.ContainerStatus, name string) *corev1.ContainerStatus {
	for i := range statuses {
		if statuses[i].Name == name {
			return &statuses[i]
		}
	}
	return nil
}
