package lifecycle

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Status returns the pod status the kubelet would report for pod given
// obs at now (SEMANTICS.md §4.3, §7–§9): phase, conditions, pod reason
// and message, start time, host and pod IPs, QoS class, and the init and
// regular container statuses in spec order.
//
// Status reads history only from obs: the terminal phase last reported
// (obs.LastPhase, sticky), the pod reason (obs.Reason), and the
// conditions last reported (obs.LastConditions), whose lastTransitionTime
// is kept while a condition's status does not change. The executor
// records the status it publishes back into obs.
func Status(pod *corev1.Pod, obs Observed, now time.Time) corev1.PodStatus {
	b := &statusBuilder{pod: pod, obs: &obs, now: now}
	s := corev1.PodStatus{
		ObservedGeneration:    pod.Generation,
		QOSClass:              QOSClass(pod),
		InitContainerStatuses: b.containerStatuses(pod.Spec.InitContainers, true),
		ContainerStatuses:     b.containerStatuses(pod.Spec.Containers, false),
		Resources:             podResources(pod),
	}
	s.Phase = b.podPhase(s.InitContainerStatuses, s.ContainerStatuses)
	s.Reason, s.Message = b.reason()
	s.Conditions = b.conditions(s.Phase, s.InitContainerStatuses, s.ContainerStatuses)
	if !obs.StartTime.IsZero() {
		t := metav1.NewTime(obs.StartTime)
		s.StartTime = &t
	}
	b.setIPs(&s)
	return s
}

// reason returns status.reason and status.message: those already set,
// else DeadlineExceeded once the active deadline ended the pod (T3).
func (b *statusBuilder) reason() (reason, message string) {
	if b.obs.Reason != "" {
		return b.obs.Reason, b.obs.Message
	}
	if t := b.obs.Termination; t != nil && t.Reason == TerminationDeadlineExceeded {
		return ReasonDeadlineExceeded, MessageDeadlineExceeded
	}
	return b.pod.Status.Reason, b.pod.Status.Message
}

// setIPs fills hostIP(s) from the node IP and podIP(s) from the sandbox;
// a hostNetwork pod has the node's IP. A pod IP, once known, stays after
// the sandbox is gone.
func (b *statusBuilder) setIPs(s *corev1.PodStatus) {
	node := b.obs.Settings.NodeIP
	if node != "" {
		s.HostIP = node
		s.HostIPs = []corev1.HostIP{{IP: node}}
	}
	ip := ""
	switch {
	case b.pod.Spec.HostNetwork:
		ip = node
	case b.obs.Sandbox != nil && b.obs.Sandbox.IP != "":
		ip = b.obs.Sandbox.IP
	default:
		ip = b.pod.Status.PodIP
	}
	if ip != "" {
		s.PodIP = ip
		s.PodIPs = []corev1.PodIP{{IP: ip}}
	}
}

// podResources is status.resources: the pod-level cpu and memory
// requests and limits, empty when the pod sets none.
func podResources(pod *corev1.Pod) *corev1.ResourceRequirements {
	out := &corev1.ResourceRequirements{}
	if r := pod.Spec.Resources; r != nil {
		pick := func(from corev1.ResourceList) corev1.ResourceList {
			var l corev1.ResourceList
			for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if q, ok := from[name]; ok {
					if l == nil {
						l = corev1.ResourceList{}
					}
					l[name] = q.DeepCopy()
				}
			}
			return l
		}
		out.Requests, out.Limits = pick(r.Requests), pick(r.Limits)
	}
	return out
}
