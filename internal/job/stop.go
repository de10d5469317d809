package job

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Reasons for a Job whose podrun run stopped it before it finished.
const (
	// ReasonInterrupted: the run was interrupted (Ctrl-C, SIGTERM,
	// SIGHUP). Kubernetes has no such reason: on a cluster the Job would
	// go on; podrun run owns its Job's controller, and it stops with it.
	ReasonInterrupted  = "Interrupted"
	MessageInterrupted = "podrun run was interrupted before the Job finished"
)

// Stop is what the controller records when the run that drives job
// stops it before it finished (SEMANTICS.md J6, as the active deadline
// does): a FailureTarget condition with reason and message, unless the
// Job already has a verdict (Complete, Failed, SuccessCriteriaMet or
// FailureTarget). The next Plan then deletes the active pods and, once
// none is left, adds the Failed condition and its Warning event, so the
// Job never shows as running without pods. It reports whether it
// changed the status.
func Stop(job *batchv1.Job, reason, message string, now time.Time) bool {
	st := &job.Status
	for _, t := range []batchv1.JobConditionType{batchv1.JobComplete, batchv1.JobFailed, batchv1.JobSuccessCriteriaMet, batchv1.JobFailureTarget} {
		if findCondition(st.Conditions, t) != nil {
			return false
		}
	}
	st.Conditions = append(st.Conditions, newCondition(batchv1.JobFailureTarget, reason, message, metav1.NewTime(now.Truncate(time.Second))))
	return true
}
