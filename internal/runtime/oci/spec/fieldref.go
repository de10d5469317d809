package spec

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// PodInfo is what the downward API reads besides the pod object itself:
// facts only the node knows.
type PodInfo struct {
	// PodIPs are the pod's addresses, primary first.
	PodIPs []string
	// HostIPs are the node's addresses, primary first.
	HostIPs []string
	// NodeName answers spec.nodeName when the pod has none.
	NodeName string
	// NodeAllocatable fills limits the container does not set, as the
	// kubelet does for resourceFieldRef (cpu, memory, ephemeral-storage).
	NodeAllocatable corev1.ResourceList
}

// FieldRefValue resolves a downward-API fieldRef of pod, as the kubelet's
// podFieldSelectorRuntimeValue. metadata.labels and metadata.annotations
// without a subscript print the whole map, one key="value" line per key in
// key order (the downward-API volume format).
func FieldRefValue(pod *corev1.Pod, info PodInfo, ref *corev1.ObjectFieldSelector) (string, error) {
	switch ref.FieldPath {
	case "spec.nodeName":
		if pod.Spec.NodeName != "" {
			return pod.Spec.NodeName, nil
		}
		return info.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP":
		return first(info.HostIPs), nil
	case "status.hostIPs":
		return strings.Join(info.HostIPs, ","), nil
	case "status.podIP":
		return first(info.PodIPs), nil
	case "status.podIPs":
		return strings.Join(info.PodIPs, ","), nil
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	}
	if path, key, ok := splitSubscript(ref.FieldPath); ok {
		switch path {
		case "metadata.labels":
			if errs := validation.IsQualifiedName(key); len(errs) != 0 {
				return "", fmt.Errorf("invalid key subscript in %s: %s", ref.FieldPath, strings.Join(errs, ";"))
			}
			return pod.Labels[key], nil
		case "metadata.annotations":
			if errs := validation.IsQualifiedName(strings.ToLower(key)); len(errs) != 0 {
				return "", fmt.Errorf("invalid key subscript in %s: %s", ref.FieldPath, strings.Join(errs, ";"))
			}
			return pod.Annotations[key], nil
		}
		return "", fmt.Errorf("fieldPath %q does not support subscript", ref.FieldPath)
	}
	return "", fmt.Errorf("unsupported fieldPath: %v", ref.FieldPath)
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// splitSubscript splits "metadata.labels['k']" into "metadata.labels", "k".
func splitSubscript(p string) (string, string, bool) {
	s, ok := strings.CutSuffix(p, "']")
	if !ok {
		return "", "", false
	}
	path, key, ok := strings.Cut(s, "['")
	if !ok || path == "" {
		return "", "", false
	}
	return path, key, true
}

func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = fmt.Sprintf("%v=%q", k, m[k])
	}
	return strings.Join(lines, "\n")
}

// ResourceFieldRefValue resolves a downward-API resourceFieldRef against
// the container it names, as the kubelet: limits the container does not set
// are the node's allocatable; cpu is rounded up to the divisor's
// millicores, memory and storage up to the divisor's bytes (divisor 1 when
// unset).
func ResourceFieldRefValue(pod *corev1.Pod, info PodInfo, container *corev1.Container, ref *corev1.ResourceFieldSelector) (string, error) {
	if ref.ContainerName != "" && ref.ContainerName != container.Name {
		c := findContainer(pod, ref.ContainerName)
		if c == nil {
			return "", fmt.Errorf("container %s not found", ref.ContainerName)
		}
		container = c
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	limits := container.Resources.Limits
	requests := container.Resources.Requests
	limit := func(name corev1.ResourceName) resource.Quantity {
		if q, ok := limits[name]; ok && !q.IsZero() {
			return q
		}
		return info.NodeAllocatable[name]
	}
	ceilDiv := func(v, d int64) string {
		return strconv.FormatInt(int64(math.Ceil(float64(v)/float64(d))), 10)
	}
	switch ref.Resource {
	case "limits.cpu":
		q := limit(corev1.ResourceCPU)
		return ceilDiv(q.MilliValue(), divisor.MilliValue()), nil
	case "requests.cpu":
		q := requests[corev1.ResourceCPU]
		return ceilDiv(q.MilliValue(), divisor.MilliValue()), nil
	case "limits.memory":
		q := limit(corev1.ResourceMemory)
		return ceilDiv(q.Value(), divisor.Value()), nil
	case "requests.memory":
		q := requests[corev1.ResourceMemory]
		return ceilDiv(q.Value(), divisor.Value()), nil
	case "limits.ephemeral-storage":
		q := limit(corev1.ResourceEphemeralStorage)
		return ceilDiv(q.Value(), divisor.Value()), nil
	case "requests.ephemeral-storage":
		q := requests[corev1.ResourceEphemeralStorage]
		return ceilDiv(q.Value(), divisor.Value()), nil
	}
	for _, prefix := range []string{"requests.", "limits."} {
		name, ok := strings.CutPrefix(ref.Resource, prefix)
		if !ok || !strings.HasPrefix(name, corev1.ResourceHugePagesPrefix) {
			continue
		}
		list := requests
		if prefix == "limits." {
			list = limits
		}
		q := list[corev1.ResourceName(name)]
		return ceilDiv(q.Value(), divisor.Value()), nil
	}
	return "", fmt.Errorf("unsupported container resource : %v", ref.Resource)
}

func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}
