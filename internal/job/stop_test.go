package job

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestStop: a run stopped before its Job finished leaves it Failed (with
// the stop's reason) once its pods are gone; a Job with a verdict keeps
// it.
func TestStop(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	start := metav1.NewTime(t0)
	for _, tc := range []struct {
		name        string
		conditions  []batchv1.JobCondition
		pods        []*corev1.Pod
		wantChanged bool
		wantConds   []string
		wantEvents  []string
	}{
		{name: "stopped with its pod terminated",
			pods:        []*corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "j-1", DeletionTimestamp: &start}, Status: corev1.PodStatus{Phase: corev1.PodFailed}}},
			wantChanged: true,
			wantConds:   []string{"FailureTarget/DeadlineExceeded", "Failed/DeadlineExceeded"},
			wantEvents:  []string{"Warning DeadlineExceeded"}},
		{name: "stopped before any pod", wantChanged: true,
			wantConds:  []string{"FailureTarget/DeadlineExceeded", "Failed/DeadlineExceeded"},
			wantEvents: []string{"Warning DeadlineExceeded"}},
		{name: "already complete",
			conditions: []batchv1.JobCondition{newCondition(batchv1.JobSuccessCriteriaMet, ReasonCompletionsReached, MessageCompletionsReached, start),
				newCondition(batchv1.JobComplete, ReasonCompletionsReached, MessageCompletionsReached, start)},
			wantConds: []string{"SuccessCriteriaMet/CompletionsReached", "Complete/CompletionsReached"}},
		{name: "already failing (backoff limit)",
			conditions: []batchv1.JobCondition{newCondition(batchv1.JobFailureTarget, ReasonBackoffLimitExceeded, MessageBackoffLimitExceeded, start)},
			wantConds:  []string{"FailureTarget/BackoffLimitExceeded", "Failed/BackoffLimitExceeded"},
			wantEvents: []string{"Warning BackoffLimitExceeded"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j"}, Status: batchv1.JobStatus{StartTime: &start, Conditions: tc.conditions}}
			changed := Stop(j, ReasonDeadlineExceeded, MessageDeadlineExceeded, t0.Add(5*time.Second))
			if changed != tc.wantChanged {
				t.Errorf("Stop changed = %v, want %v", changed, tc.wantChanged)
			}
			d := Plan(j, tc.pods, t0.Add(5*time.Second))
			var conds, events []string
			for _, c := range d.Status.Conditions {
				conds = append(conds, string(c.Type)+"/"+c.Reason)
			}
			for _, e := range d.Events {
				events = append(events, e.Type+" "+e.Reason)
			}
			if diff := cmp.Diff(tc.wantConds, conds); diff != "" {
				t.Errorf("conditions after Stop and Plan (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantEvents, events); diff != "" {
				t.Errorf("events after Stop and Plan (-want +got):\n%s", diff)
			}
			if d.CreatePods != 0 || !d.Finished {
				t.Errorf("after Stop: CreatePods %d, Finished %v; want 0, true", d.CreatePods, d.Finished)
			}
		})
	}
}
