package job

import (
	"fmt"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Job controller constants (SEMANTICS.md J4, J5).
const (
	// DefaultBackoffLimit applies when spec.backoffLimit is unset.
	DefaultBackoffLimit = 6
	// PodFailureBackoff is the first delay before replacing a failed pod.
	PodFailureBackoff = 10 * time.Second
	// MaxPodFailureBackoff caps the replacement delay.
	MaxPodFailureBackoff = 10 * time.Minute
)

// Condition reasons and messages of the Job controller (J3, J8).
const (
	ReasonCompletionsReached   = "CompletionsReached"
	ReasonBackoffLimitExceeded = "BackoffLimitExceeded"
	ReasonDeadlineExceeded     = "DeadlineExceeded"
	ReasonPodFailurePolicy     = "PodFailurePolicy"

	MessageCompletionsReached   = "Reached expected number of succeeded pods"
	MessageBackoffLimitExceeded = "Job has reached the specified backoff limit"
	MessageDeadlineExceeded     = "Job was active longer than specified deadline"
)

// Event is a Job event the driver records.
type Event struct {
	Type    string
	Reason  string
	Message string
}

// Decision is what one sync of the Job controller asks for.
type Decision struct {
	// CreatePods is how many new pods to create now.
	CreatePods int
	// DeletePods names the pods to delete, gracefully, now.
	DeletePods []string
	// Status is the Job's status after this sync.
	Status batchv1.JobStatus
	// Events are the events this sync records.
	Events []Event
	// WakeAt is when to sync again even if no pod changes (a back-off
	// expiry or the active deadline); zero if none.
	WakeAt time.Time
	// Finished is true once the Job is Complete or Failed and no pod of
	// it is still running.
	Finished bool
}

// podCounts classifies a Job's pods.
type podCounts struct {
	active, ready, terminating []*corev1.Pod
	succeeded, failed          []*corev1.Pod
}

// Plan returns what the Job controller does for job given its pods at now.
// job.Status is the status of the previous sync (empty at first).
func Plan(job *batchv1.Job, pods []*corev1.Pod, now time.Time) Decision {
	st := *job.Status.DeepCopy()
	var d Decision
	nowMeta := metav1.NewTime(now.Truncate(time.Second))
	if st.StartTime == nil && !isTrue(job.Spec.Suspend) {
		st.StartTime = &nowMeta
	}
	failing := findCondition(st.Conditions, batchv1.JobFailureTarget)
	c := classify(pods, failing != nil)

	if failing == nil && findCondition(st.Conditions, batchv1.JobSuccessCriteriaMet) == nil {
		if reason, msg := failureReason(job, c, st.StartTime, now, &d); reason != "" {
			st.Conditions = append(st.Conditions, newCondition(batchv1.JobFailureTarget, reason, msg, nowMeta))
			failing = &st.Conditions[len(st.Conditions)-1]
		}
	}

	switch {
	case failing != nil:
		d.DeletePods = names(c.active)
		if len(c.active)+len(c.terminating) == 0 && findCondition(st.Conditions, batchv1.JobFailed) == nil {
			st.Conditions = append(st.Conditions, newCondition(batchv1.JobFailed, failing.Reason, failing.Message, nowMeta))
			d.Events = append(d.Events, Event{Type: corev1.EventTypeWarning, Reason: failing.Reason, Message: failing.Message})
		}
	case int32(len(c.succeeded)) >= completions(job) || findCondition(st.Conditions, batchv1.JobSuccessCriteriaMet) != nil:
		if findCondition(st.Conditions, batchv1.JobSuccessCriteriaMet) == nil {
			st.Conditions = append(st.Conditions, newCondition(batchv1.JobSuccessCriteriaMet, ReasonCompletionsReached, MessageCompletionsReached, nowMeta))
		}
		d.DeletePods = names(c.active)
		if len(c.active)+len(c.terminating) == 0 && findCondition(st.Conditions, batchv1.JobComplete) == nil {
			st.Conditions = append(st.Conditions, newCondition(batchv1.JobComplete, ReasonCompletionsReached, MessageCompletionsReached, nowMeta))
			st.CompletionTime = &nowMeta
			d.Events = append(d.Events, Event{Type: corev1.EventTypeNormal, Reason: "Completed", Message: "Job completed"})
		}
	case !isTrue(job.Spec.Suspend):
		want := min(parallelism(job), completions(job)-int32(len(c.succeeded)))
		missing := int(want) - len(c.active)
		if missing > 0 {
			if until := replacementAllowedAt(c.failed); until.After(now) {
				d.WakeAt = until
			} else {
				d.CreatePods = missing
			}
		}
	}

	st.Active = int32(len(c.active))
	st.Ready = ptr(int32(len(c.ready)))
	if findCondition(job.Status.Conditions, batchv1.JobSuccessCriteriaMet) == nil {
		st.Succeeded = int32(len(c.succeeded))
		st.Failed = int32(countedFailures(job, c.failed))
	} // else the counts froze when the success criteria were met: pods the
	// controller deletes afterwards count neither way.
	st.Terminating = ptr(int32(len(c.terminating)))
	st.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	d.Status = st
	d.Finished = findCondition(st.Conditions, batchv1.JobComplete) != nil || findCondition(st.Conditions, batchv1.JobFailed) != nil
	if d.Finished {
		d.WakeAt = time.Time{}
	}
	return d
}

// classify sorts pods by state. Once the Job is failing, a pod that ends
// after the controller deleted it counts as failed whatever its phase
// (SEMANTICS.md §17: the deadline case).
func classify(pods []*corev1.Pod, failing bool) podCounts {
	var c podCounts
	for _, p := range pods {
		switch {
		case p.Status.Phase == corev1.PodSucceeded && !(failing && p.DeletionTimestamp != nil):
			c.succeeded = append(c.succeeded, p)
		case p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded:
			c.failed = append(c.failed, p)
		case p.DeletionTimestamp != nil:
			c.terminating = append(c.terminating, p)
		default:
			c.active = append(c.active, p)
			if podReady(p) {
				c.ready = append(c.ready, p)
			}
		}
	}
	return c
}

// failureReason decides whether the Job must fail now (J4, J6, J7) and
// records the deadline as a wake-up when it lies ahead.
func failureReason(job *batchv1.Job, c podCounts, start *metav1.Time, now time.Time, d *Decision) (string, string) {
	counted := 0
	for _, p := range c.failed {
		action, msg := matchPodFailurePolicy(job.Spec.PodFailurePolicy, p)
		switch action {
		case batchv1.PodFailurePolicyActionFailJob:
			return ReasonPodFailurePolicy, msg
		case batchv1.PodFailurePolicyActionIgnore:
			continue
		}
		counted++
	}
	limit := int32(DefaultBackoffLimit)
	if job.Spec.BackoffLimit != nil {
		limit = *job.Spec.BackoffLimit
	}
	if int32(counted) > limit {
		return ReasonBackoffLimitExceeded, MessageBackoffLimitExceeded
	}
	if job.Spec.Template.Spec.RestartPolicy == corev1.RestartPolicyOnFailure {
		restarts := int32(0)
		for _, p := range c.active {
			for _, s := range p.Status.InitContainerStatuses {
				restarts += s.RestartCount
			}
			for _, s := range p.Status.ContainerStatuses {
				restarts += s.RestartCount
			}
		}
		if (limit == 0 && restarts > 0) || (limit > 0 && restarts >= limit) {
			return ReasonBackoffLimitExceeded, MessageBackoffLimitExceeded
		}
	}
	if ads := job.Spec.ActiveDeadlineSeconds; ads != nil && start != nil {
		deadline := start.Add(time.Duration(*ads) * time.Second)
		if !now.Before(deadline) {
			return ReasonDeadlineExceeded, MessageDeadlineExceeded
		}
		d.WakeAt = deadline
	}
	return "", ""
}

// countedFailures is the number of failed pods that count (J7: a pod a
// podFailurePolicy Ignore rule matches is not counted in status.failed).
func countedFailures(job *batchv1.Job, failed []*corev1.Pod) int {
	n := 0
	for _, p := range failed {
		if action, _ := matchPodFailurePolicy(job.Spec.PodFailurePolicy, p); action != batchv1.PodFailurePolicyActionIgnore {
			n++
		}
	}
	return n
}

// replacementAllowedAt is when a pod may replace failed ones (J5): the
// newest container finish (second precision) plus 10 s doubling per
// failure, capped at 10 minutes.
func replacementAllowedAt(failed []*corev1.Pod) time.Time {
	if len(failed) == 0 {
		return time.Time{}
	}
	var last time.Time
	for _, p := range failed {
		for _, s := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			if t := s.State.Terminated; t != nil && t.FinishedAt.After(last) {
				last = t.FinishedAt.Time
			}
		}
	}
	delay := PodFailureBackoff
	for i := 1; i < len(failed) && delay < MaxPodFailureBackoff; i++ {
		delay *= 2
	}
	return last.Truncate(time.Second).Add(min(delay, MaxPodFailureBackoff))
}

func completions(job *batchv1.Job) int32 {
	if job.Spec.Completions != nil {
		return *job.Spec.Completions
	}
	return 1
}

func parallelism(job *batchv1.Job) int32 {
	if job.Spec.Parallelism != nil {
		return *job.Spec.Parallelism
	}
	return 1
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func names(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	sort.Strings(out)
	return out
}

func findCondition(cs []batchv1.JobCondition, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range cs {
		if cs[i].Type == t && cs[i].Status == corev1.ConditionTrue {
			return &cs[i]
		}
	}
	return nil
}

func newCondition(t batchv1.JobConditionType, reason, message string, now metav1.Time) batchv1.JobCondition {
	return batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: message,
		LastProbeTime: now, LastTransitionTime: now}
}

func isTrue(b *bool) bool { return b != nil && *b }

func ptr[T any](v T) *T { return &v }

// formatFailJobMessage is the controller's message for a FailJob match.
func formatFailJobMessage(container string, pod *corev1.Pod, code int32, index int) string {
	return fmt.Sprintf("Container %s for pod %s/%s failed with exit code %d matching FailJob rule at index %d",
		container, pod.Namespace, pod.Name, code, index)
}
