package lifecycle

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func res(pairs ...string) corev1.ResourceList {
	l := corev1.ResourceList{}
	for i := 0; i+1 < len(pairs); i += 2 {
		l[corev1.ResourceName(pairs[i])] = resource.MustParse(pairs[i+1])
	}
	return l
}

// TestQOSClass covers status.qosClass, counting init containers and
// sidecars like regular containers (§12).
func TestQOSClass(t *testing.T) {
	guaranteed := corev1.ResourceRequirements{Requests: res("cpu", "100m", "memory", "64Mi"), Limits: res("cpu", "100m", "memory", "64Mi")}
	cases := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   corev1.PodQOSClass
	}{{
		name: "no requests or limits: BestEffort",
		want: corev1.PodQOSBestEffort,
	}, {
		name:   "only non-cpu/memory resources: BestEffort",
		mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Requests = res("ephemeral-storage", "1Gi") },
		want:   corev1.PodQOSBestEffort,
	}, {
		name:   "zero quantities do not count: BestEffort",
		mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Requests = res("cpu", "0") },
		want:   corev1.PodQOSBestEffort,
	}, {
		name:   "requests only: Burstable",
		mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Requests = res("memory", "64Mi") },
		want:   corev1.PodQOSBurstable,
	}, {
		name: "every container limits cpu and memory equal to requests: Guaranteed",
		mutate: func(p *corev1.Pod) {
			for i := range p.Spec.InitContainers {
				p.Spec.InitContainers[i].Resources = guaranteed
			}
			p.Spec.Containers[0].Resources = guaranteed
		},
		want: corev1.PodQOSGuaranteed,
	}, {
		name: "a sidecar without limits makes a guaranteed main Burstable",
		mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = guaranteed
			p.Spec.InitContainers[1].Resources.Requests = res("cpu", "10m")
		},
		want: corev1.PodQOSBurstable,
	}, {
		name: "a regular init container without resources with a memory limit only makes the pod Burstable",
		mutate: func(p *corev1.Pod) {
			for i := range p.Spec.InitContainers {
				p.Spec.InitContainers[i].Resources = guaranteed
			}
			p.Spec.Containers[0].Resources = guaranteed
			p.Spec.InitContainers[0].Resources = corev1.ResourceRequirements{Limits: res("memory", "64Mi")}
		},
		want: corev1.PodQOSBurstable,
	}, {
		name: "limits below requests in total: Burstable",
		mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: res("cpu", "200m", "memory", "64Mi"), Limits: res("cpu", "100m", "memory", "64Mi")}
		},
		want: corev1.PodQOSBurstable,
	}, {
		name: "pod-level resources decide when set: Guaranteed",
		mutate: func(p *corev1.Pod) {
			r := guaranteed
			p.Spec.Resources = &r
		},
		want: corev1.PodQOSGuaranteed,
	}, {
		name: "pod-level requests only: Burstable",
		mutate: func(p *corev1.Pod) {
			p.Spec.Resources = &corev1.ResourceRequirements{Requests: res("cpu", "1")}
		},
		want: corev1.PodQOSBurstable,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := kepPod()
			if tc.mutate != nil {
				tc.mutate(pod)
			}
			diffOrFail(t, "QOSClass", tc.want, QOSClass(pod))
			diffOrFail(t, "status.qosClass", tc.want, Status(pod, baseObs(), st0).QOSClass)
		})
	}
}
