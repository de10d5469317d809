package lifecycle

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// QOSClass returns the pod's quality-of-service class as the kubelet and
// the API server compute it (status.qosClass): only cpu and memory count;
// init containers and sidecars count like regular containers; pod-level
// resources, when set, replace the containers' (KEP-2837).
//
//   - BestEffort: no container requests or limits any cpu or memory;
//   - Guaranteed: every container limits both cpu and memory, and the
//     summed requests equal the summed limits;
//   - Burstable: anything else.
func QOSClass(pod *corev1.Pod) corev1.PodQOSClass {
	requests := corev1.ResourceList{}
	limits := corev1.ResourceList{}
	guaranteed := true
	if r := pod.Spec.Resources; r != nil {
		addQOSResources(requests, r.Requests)
		if len(r.Limits) > 0 && !addQOSResources(limits, r.Limits) {
			guaranteed = false
		}
	} else {
		for _, list := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
			for i := range list {
				addQOSResources(requests, list[i].Resources.Requests)
				if !addQOSResources(limits, list[i].Resources.Limits) {
					guaranteed = false
				}
			}
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return corev1.PodQOSBestEffort
	}
	if guaranteed {
		for name, req := range requests {
			if lim, ok := limits[name]; !ok || lim.Cmp(req) != 0 {
				guaranteed = false
				break
			}
		}
	}
	if guaranteed && len(requests) == len(limits) {
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

// addQOSResources adds the positive cpu and memory quantities of from to
// sum and reports whether from holds both a cpu and a memory quantity.
func addQOSResources(sum, from corev1.ResourceList) (cpuAndMemory bool) {
	var cpu, memory bool
	for name, q := range from {
		if name != corev1.ResourceCPU && name != corev1.ResourceMemory {
			continue
		}
		if q.Cmp(resource.Quantity{}) <= 0 {
			continue
		}
		cpu = cpu || name == corev1.ResourceCPU
		memory = memory || name == corev1.ResourceMemory
		total := q.DeepCopy()
		if prev, ok := sum[name]; ok {
			total.Add(prev)
		}
		sum[name] = total
	}
	return cpu && memory
}
