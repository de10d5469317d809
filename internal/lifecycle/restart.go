package lifecycle

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// ContainerShouldRestart reports whether container c of a pod with
// restartPolicy podPolicy is restarted after exiting with exitCode
// (SEMANTICS.md §3.1, §3.2). With s.ContainerRestartRules and a
// container-level restartPolicy, the first restartPolicyRules entry whose
// exit codes match decides (action Restart restarts), then the container's
// policy; otherwise the pod's policy (empty means Always). Sidecars are not
// asked: they always restart (RS1).
func ContainerShouldRestart(s Settings, c *corev1.Container, podPolicy corev1.RestartPolicy, exitCode int32) bool {
	if s.ContainerRestartRules && c.RestartPolicy != nil {
		if r, ok := matchingRestartRule(c, exitCode); ok && r.Action == corev1.ContainerRestartRuleActionRestart {
			return true
		}
		switch *c.RestartPolicy {
		case corev1.ContainerRestartPolicyAlways:
			return true
		case corev1.ContainerRestartPolicyOnFailure:
			return exitCode != 0
		case corev1.ContainerRestartPolicyNever:
			return false
		}
	}
	switch podPolicy {
	case corev1.RestartPolicyOnFailure:
		return exitCode != 0
	case corev1.RestartPolicyNever:
		return false
	default:
		return true
	}
}

// IsContainerRestartable reports whether container c could ever be
// restarted (§3.2): a Restart rule, a container policy other than Never,
// or, without a container policy, a pod policy other than Never.
func IsContainerRestartable(s Settings, c *corev1.Container, podPolicy corev1.RestartPolicy) bool {
	if s.ContainerRestartRules && c.RestartPolicy != nil {
		for _, r := range c.RestartPolicyRules {
			if r.Action == corev1.ContainerRestartRuleActionRestart {
				return true
			}
		}
		return *c.RestartPolicy != corev1.ContainerRestartPolicyNever
	}
	return podPolicy != corev1.RestartPolicyNever
}

// matchingRestartRule returns the first rule of c whose exit-code
// requirement matches code.
func matchingRestartRule(c *corev1.Container, code int32) (corev1.ContainerRestartRule, bool) {
	for _, r := range c.RestartPolicyRules {
		if r.ExitCodes == nil {
			continue
		}
		in := slices.Contains(r.ExitCodes.Values, code)
		switch r.ExitCodes.Operator {
		case corev1.ContainerRestartRuleOnExitCodesOpIn:
			if in {
				return r, true
			}
		case corev1.ContainerRestartRuleOnExitCodesOpNotIn:
			if !in {
				return r, true
			}
		}
	}
	return corev1.ContainerRestartRule{}, false
}

// restartOnFailure reports whether a container killed or lost without an
// exit code (probe failure, unknown state) is restarted: the container's
// own policy when restart rules are on and it has one, else the pod's
// policy other than Never (kubelet shouldRestartOnFailure, §3.1, §3.2).
func restartOnFailure(s Settings, c *corev1.Container, podPolicy corev1.RestartPolicy) bool {
	if s.ContainerRestartRules && c.RestartPolicy != nil {
		return *c.RestartPolicy != corev1.ContainerRestartPolicyNever
	}
	return podPolicy != corev1.RestartPolicyNever
}

// initFailed reports whether a regular init container's exited or lost
// attempt counts as failed (kubelet isInitContainerFailed).
func initFailed(a *Attempt) bool {
	switch {
	case a.Reason == "OOMKilled":
		return true
	case a.State == AttemptExited && a.ExitCode != 0:
		return true
	case a.State == AttemptUnknown:
		return true
	}
	return false
}

// killedForRestart reports whether a was killed by a decision that also
// restarts it in the same sync (a probe failure or an unknown state): the
// kubelet kills and then starts in one SyncPod, against the snapshot taken
// before the kill.
func killedForRestart(a *Attempt) bool {
	if a == nil || a.Kill == nil {
		return false
	}
	switch a.Kill.Reason {
	case KillLivenessProbe, KillStartupProbe, KillUnknownState:
		return true
	}
	return false
}
