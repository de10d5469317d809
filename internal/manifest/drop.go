package manifest

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/podrun/podrun/internal/features"
)

// dropDisabledFields clears the fields of disabled features, as the API
// server's registry strategy does on create (dropDisabledPodFields)
// before it validates.
func dropDisabledFields(obj runtime.Object, gates features.Gates) {
	switch o := obj.(type) {
	case *corev1.Pod:
		DropDisabledPodSpecFields(&o.Spec, gates)
	case *batchv1.Job:
		DropDisabledPodSpecFields(&o.Spec.Template.Spec, gates)
	}
}

// DropDisabledPodSpecFields clears in place the pod-spec fields whose
// feature gate is off: with ContainerRestartRules off, a regular
// container's restartPolicy and restartPolicyRules and an init
// container's restartPolicy other than Always and its rules (SEMANTICS.md
// §17: dropped, not rejected); with ContainerStopSignals off,
// lifecycle.stopSignal.
func DropDisabledPodSpecFields(spec *corev1.PodSpec, gates features.Gates) {
	if !gates.Enabled(features.ContainerRestartRules) {
		for i := range spec.Containers {
			spec.Containers[i].RestartPolicy = nil
			spec.Containers[i].RestartPolicyRules = nil
		}
		for i := range spec.InitContainers {
			c := &spec.InitContainers[i]
			if c.RestartPolicy != nil && *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
				c.RestartPolicy = nil
			}
			c.RestartPolicyRules = nil
		}
	}
	if !gates.Enabled(features.ContainerStopSignals) {
		for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
			for i := range cs {
				if cs[i].Lifecycle != nil {
					cs[i].Lifecycle.StopSignal = nil
				}
			}
		}
	}
}
