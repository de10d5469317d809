package volume

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestMemorySize(t *testing.T) {
	q := func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	withLimits := func(limits ...string) *corev1.Pod {
		pod := testPod()
		pod.Spec.Containers = nil
		for _, l := range limits {
			c := corev1.Container{Name: "c"}
			if l != "" {
				c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(l)}
			}
			pod.Spec.Containers = append(pod.Spec.Containers, c)
		}
		return pod
	}
	node := corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("8Gi")}
	for _, tc := range []struct {
		name      string
		sizeLimit *resource.Quantity
		pod       *corev1.Pod
		node      corev1.ResourceList
		want      string
	}{
		{"nothing known: kernel default", nil, withLimits(""), nil, "0"},
		{"node allocatable", nil, withLimits(""), node, "8Gi"},
		{"pod limit below allocatable", nil, withLimits("100Mi", "28Mi"), node, "128Mi"},
		{"one container unlimited: no pod limit", nil, withLimits("100Mi", ""), node, "8Gi"},
		{"sizeLimit below pod limit", q("16Mi"), withLimits("128Mi"), node, "16Mi"},
		{"sizeLimit above pod limit is ignored", q("1Gi"), withLimits("128Mi"), node, "128Mi"},
		{"sizeLimit alone", q("16Mi"), withLimits(""), nil, "16Mi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := memorySize(&corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: tc.sizeLimit}, tc.pod, tc.node)
			want := resource.MustParse(tc.want)
			if got.Cmp(want) != 0 {
				t.Errorf("memorySize = %s, want %s", got.String(), want.String())
			}
		})
	}
}
