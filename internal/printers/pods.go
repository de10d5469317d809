package printers

import (
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// podColumnDefinitions are the apiserver's pod table columns; Priority 1
// marks the -o wide ones.
var podColumnDefinitions = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name"},
	{Name: "Ready", Type: "string"},
	{Name: "Status", Type: "string"},
	{Name: "Restarts", Type: "string"},
	{Name: "Age", Type: "string"},
	{Name: "IP", Type: "string", Priority: 1},
	{Name: "Node", Type: "string", Priority: 1},
	{Name: "Nominated Node", Type: "string", Priority: 1},
	{Name: "Readiness Gates", Type: "string", Priority: 1},
}

// PodTable returns the `kubectl get pods` table of pods at now, wide
// columns included (the printer drops them unless Wide is set).
func PodTable(pods []*corev1.Pod, now time.Time) *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: podColumnDefinitions}
	for _, pod := range pods {
		ready, status, restarts := PodColumns(pod, now)
		t.Rows = append(t.Rows, metav1.TableRow{
			Object: runtime.RawExtension{Object: pod},
			Cells: []any{
				pod.Name, ready, status, restarts, age(pod.CreationTimestamp, now),
				orNone(firstPodIP(pod)), orNone(pod.Spec.NodeName),
				orNone(pod.Status.NominatedNodeName), readinessGates(pod),
			},
		})
	}
	return t
}

// PrintPods prints pods as `kubectl get pods` does at now.
func PrintPods(w io.Writer, pods []*corev1.Pod, opts TableOptions, now time.Time) error {
	return printOnce(w, PodTable(pods, now), opts)
}

// Pods prints pods as one more batch of `kubectl get pods -w` rows.
func (p *TablePrinter) Pods(pods []*corev1.Pod, now time.Time) error {
	return p.print(PodTable(pods, now))
}

func firstPodIP(pod *corev1.Pod) string {
	if len(pod.Status.PodIPs) > 0 {
		return pod.Status.PodIPs[0].IP
	}
	return ""
}

// readinessGates is "<true>/<gates>" or <none> without gates.
func readinessGates(pod *corev1.Pod) string {
	if len(pod.Spec.ReadinessGates) == 0 {
		return "<none>"
	}
	n := 0
	for _, g := range pod.Spec.ReadinessGates {
		for _, c := range pod.Status.Conditions {
			if c.Type == g.ConditionType {
				if c.Status == corev1.ConditionTrue {
					n++
				}
				break
			}
		}
	}
	return fmt.Sprintf("%d/%d", n, len(pod.Spec.ReadinessGates))
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
