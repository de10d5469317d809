package printers

import (
	"time"

	"github.com/podrun/podrun/internal/lifecycle"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// PodColumns returns the READY, STATUS and RESTARTS cells of `kubectl get
// pods` for pod at now (SEMANTICS.md §10 as amended by §17). The
// algorithm, kubectl's printPod, lives in lifecycle.Columns so that the
// planner and the views share one definition; the kubectl golden cases
// and TestPodColumns hold it to kubectl's output.
func PodColumns(pod *corev1.Pod, now time.Time) (ready, status, restarts string) {
	c := lifecycle.Columns(pod, now)
	return c.Ready, c.Status, c.Restarts
}

// since is kubectl's translateTimestampSince at now: the human age of t,
// "<unknown>" for a zero time and "<invalid>" for a future one.
func since(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}

// sinceMeta is since for a metav1.Time.
func sinceMeta(t metav1.Time, now time.Time) string { return since(t.Time, now) }

// sinceMicro is since for a metav1.MicroTime.
func sinceMicro(t metav1.MicroTime, now time.Time) string { return since(t.Time, now) }
