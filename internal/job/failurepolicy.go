package job

import (
	"slices"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// matchPodFailurePolicy returns the action of the first rule of policy that
// matches the failed pod, with the FailJob message, or "" (Count) when no
// rule matches (J7). onExitCodes looks at regular containers first, then
// init containers (sidecars included), terminated with a non-zero code.
func matchPodFailurePolicy(policy *batchv1.PodFailurePolicy, pod *corev1.Pod) (batchv1.PodFailurePolicyAction, string) {
	if policy == nil || pod.Status.Phase != corev1.PodFailed {
		return "", ""
	}
	for i, rule := range policy.Rules {
		if req := rule.OnExitCodes; req != nil {
			if name, code, ok := matchExitCodes(req, pod); ok {
				msg := ""
				if rule.Action == batchv1.PodFailurePolicyActionFailJob {
					msg = formatFailJobMessage(name, pod, code, i)
				}
				return rule.Action, msg
			}
		}
		for _, pat := range rule.OnPodConditions {
			want := pat.Status
			if want == "" {
				want = corev1.ConditionTrue
			}
			for _, c := range pod.Status.Conditions {
				if string(c.Type) == string(pat.Type) && c.Status == want {
					msg := ""
					if rule.Action == batchv1.PodFailurePolicyActionFailJob {
						msg = "Pod " + pod.Namespace + "/" + pod.Name + " has condition " + string(c.Type) + " matching FailJob rule at index " + strconv.Itoa(i)
					}
					return rule.Action, msg
				}
			}
		}
	}
	return "", ""
}

func matchExitCodes(req *batchv1.PodFailurePolicyOnExitCodesRequirement, pod *corev1.Pod) (string, int32, bool) {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses} {
		for _, s := range list {
			if req.ContainerName != nil && *req.ContainerName != s.Name {
				continue
			}
			t := s.State.Terminated
			if t == nil || t.ExitCode == 0 {
				continue
			}
			in := slices.Contains(req.Values, t.ExitCode)
			if (req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn) == in {
				return s.Name, t.ExitCode, true
			}
		}
	}
	return "", 0, false
}
