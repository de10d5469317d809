package lifecycle

import (
	corev1 "k8s.io/api/core/v1"
)

// ContainerKind classifies a container of the spec.
type ContainerKind string

// The three kinds of container (SEMANTICS.md terminology).
const (
	KindInit    ContainerKind = "init"
	KindSidecar ContainerKind = "sidecar"
	KindRegular ContainerKind = "regular"
)

// IsSidecar reports whether c is a restartable init container: an init
// container with restartPolicy Always.
func IsSidecar(c *corev1.Container) bool {
	return c != nil && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// KindOf returns the kind of the container named name in pod and whether
// it exists.
func KindOf(pod *corev1.Pod, name string) (ContainerKind, bool) {
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			if IsSidecar(&pod.Spec.InitContainers[i]) {
				return KindSidecar, true
			}
			return KindInit, true
		}
	}
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return KindRegular, true
		}
	}
	return "", false
}

// FindContainer returns the spec of the container named name (init or
// regular), or nil.
func FindContainer(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	return nil
}
