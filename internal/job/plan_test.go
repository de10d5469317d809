package job

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2026, 12, 3, 17, 20, 12, 0, time.UTC)

func baseJob() *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "default", UID: "job-uid"},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr(int32(0)),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				InitContainers: []corev1.Container{{Name: "sidecar",
					RestartPolicy: ptr(corev1.ContainerRestartPolicyAlways)}},
				Containers: []corev1.Container{{Name: "main"}},
			}},
		},
	}
}

func terminated(name string, code int32, at time.Time) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: code, FinishedAt: metav1.NewTime(at)}}}
}

func pod(name string, phase corev1.PodPhase, main, sidecar corev1.ContainerStatus) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Status: corev1.PodStatus{Phase: phase,
			InitContainerStatuses: []corev1.ContainerStatus{sidecar},
			ContainerStatuses:     []corev1.ContainerStatus{main}},
	}
}

// summary is the part of a Decision the cases compare.
type summary struct {
	Create     int
	Delete     []string
	Conditions []string
	Succeeded  int32
	Failed     int32
	Active     int32
	Events     []string
	WakeAt     time.Time
	Finished   bool
}

func summarize(d Decision) summary {
	s := summary{Create: d.CreatePods, Delete: d.DeletePods, Succeeded: d.Status.Succeeded,
		Failed: d.Status.Failed, Active: d.Status.Active, WakeAt: d.WakeAt, Finished: d.Finished}
	for _, c := range d.Status.Conditions {
		s.Conditions = append(s.Conditions, string(c.Type)+"/"+c.Reason+": "+c.Message)
	}
	for _, e := range d.Events {
		s.Events = append(s.Events, e.Type+" "+e.Reason+": "+e.Message)
	}
	return s
}

func TestPlan(t *testing.T) {
	running := corev1.ContainerStatus{Name: "main", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	sidecarRunning := corev1.ContainerStatus{Name: "sidecar", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	for _, tc := range []struct {
		name   string
		mutate func(*batchv1.Job)
		pods   []*corev1.Pod
		now    time.Time
		want   summary
	}{
		{
			name: "J3 a new Job creates its one pod",
			now:  t0,
			want: summary{Create: 1},
		},
		{
			name: "J3 an active pod is not duplicated",
			pods: []*corev1.Pod{pod("j-a", corev1.PodRunning, running, sidecarRunning)},
			now:  t0,
			want: summary{Active: 1},
		},
		{
			name: "J2 J3 pod Succeeded with a SIGKILLed sidecar: SuccessCriteriaMet and Complete (053)",
			pods: []*corev1.Pod{pod("j-a", corev1.PodSucceeded, terminated("main", 0, t0.Add(3*time.Second)), terminated("sidecar", 137, t0.Add(6*time.Second)))},
			now:  t0.Add(7 * time.Second),
			want: summary{Succeeded: 1, Finished: true,
				Conditions: []string{
					"SuccessCriteriaMet/CompletionsReached: Reached expected number of succeeded pods",
					"Complete/CompletionsReached: Reached expected number of succeeded pods"},
				Events: []string{"Normal Completed: Job completed"}},
		},
		{
			name: "J3 once the criteria are met, a deleted extra pod that ends Succeeded is not counted",
			mutate: func(j *batchv1.Job) {
				j.Status.Succeeded = 1
				j.Status.Conditions = []batchv1.JobCondition{newCondition(batchv1.JobSuccessCriteriaMet, ReasonCompletionsReached, MessageCompletionsReached, metav1.NewTime(t0))}
			},
			pods: []*corev1.Pod{
				pod("j-a", corev1.PodSucceeded, terminated("main", 0, t0), terminated("sidecar", 0, t0)),
				func() *corev1.Pod {
					p := pod("j-b", corev1.PodSucceeded, terminated("main", 0, t0.Add(time.Second)), terminated("sidecar", 0, t0.Add(time.Second)))
					p.DeletionTimestamp = &metav1.Time{Time: t0}
					return p
				}(),
			},
			now: t0.Add(2 * time.Second),
			want: summary{Succeeded: 1, Finished: true,
				Conditions: []string{
					"SuccessCriteriaMet/CompletionsReached: Reached expected number of succeeded pods",
					"Complete/CompletionsReached: Reached expected number of succeeded pods"},
				Events: []string{"Normal Completed: Job completed"}},
		},
		{
			name: "J4 a failed pod beyond backoffLimit 0 fails the Job",
			pods: []*corev1.Pod{pod("j-a", corev1.PodFailed, terminated("main", 1, t0), terminated("sidecar", 0, t0))},
			now:  t0.Add(time.Second),
			want: summary{Failed: 1, Finished: true,
				Conditions: []string{
					"FailureTarget/BackoffLimitExceeded: Job has reached the specified backoff limit",
					"Failed/BackoffLimitExceeded: Job has reached the specified backoff limit"},
				Events: []string{"Warning BackoffLimitExceeded: Job has reached the specified backoff limit"}},
		},
		{
			name:   "J5 a failed pod within backoffLimit is replaced after 10 s",
			mutate: func(j *batchv1.Job) { j.Spec.BackoffLimit = ptr(int32(2)) },
			pods:   []*corev1.Pod{pod("j-a", corev1.PodFailed, terminated("main", 1, t0.Add(500*time.Millisecond)), terminated("sidecar", 0, t0))},
			now:    t0.Add(3 * time.Second),
			want:   summary{Failed: 1, WakeAt: t0.Add(10 * time.Second)},
		},
		{
			name:   "J5 the replacement is created once the back-off passed",
			mutate: func(j *batchv1.Job) { j.Spec.BackoffLimit = ptr(int32(2)) },
			pods:   []*corev1.Pod{pod("j-a", corev1.PodFailed, terminated("main", 1, t0), terminated("sidecar", 0, t0))},
			now:    t0.Add(10 * time.Second),
			want:   summary{Failed: 1, Create: 1},
		},
		{
			name: "J4 OnFailure: sidecar restarts of an active pod burn the backoff budget",
			mutate: func(j *batchv1.Job) {
				j.Spec.BackoffLimit = ptr(int32(2))
				j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
			},
			pods: []*corev1.Pod{func() *corev1.Pod {
				p := pod("j-a", corev1.PodRunning, running, sidecarRunning)
				p.Status.InitContainerStatuses[0].RestartCount = 2
				return p
			}()},
			now: t0,
			want: summary{Active: 1, Delete: []string{"j-a"},
				Conditions: []string{"FailureTarget/BackoffLimitExceeded: Job has reached the specified backoff limit"}},
		},
		{
			name: "J6 before the deadline: wake at it",
			mutate: func(j *batchv1.Job) {
				j.Spec.ActiveDeadlineSeconds = ptr(int64(10))
				j.Status.StartTime = &metav1.Time{Time: t0}
			},
			pods: []*corev1.Pod{pod("j-a", corev1.PodRunning, running, sidecarRunning)},
			now:  t0.Add(4 * time.Second),
			want: summary{Active: 1, WakeAt: t0.Add(10 * time.Second)},
		},
		{
			name: "J6 at the deadline: FailureTarget and the active pod deleted (058)",
			mutate: func(j *batchv1.Job) {
				j.Spec.ActiveDeadlineSeconds = ptr(int64(10))
				j.Status.StartTime = &metav1.Time{Time: t0}
			},
			pods: []*corev1.Pod{pod("j-a", corev1.PodRunning, running, sidecarRunning)},
			now:  t0.Add(10 * time.Second),
			want: summary{Active: 1, Delete: []string{"j-a"},
				Conditions: []string{"FailureTarget/DeadlineExceeded: Job was active longer than specified deadline"}},
		},
		{
			name: "J6 §17 the deleted pod ends Succeeded yet counts failed; then Failed",
			mutate: func(j *batchv1.Job) {
				j.Spec.ActiveDeadlineSeconds = ptr(int64(10))
				j.Status.StartTime = &metav1.Time{Time: t0}
				j.Status.Conditions = []batchv1.JobCondition{newCondition(batchv1.JobFailureTarget, ReasonDeadlineExceeded, MessageDeadlineExceeded, metav1.NewTime(t0.Add(10*time.Second)))}
			},
			pods: []*corev1.Pod{func() *corev1.Pod {
				p := pod("j-a", corev1.PodSucceeded, terminated("main", 0, t0.Add(11*time.Second)), terminated("sidecar", 0, t0.Add(12*time.Second)))
				p.DeletionTimestamp = &metav1.Time{Time: t0.Add(10 * time.Second)}
				return p
			}()},
			now: t0.Add(13 * time.Second),
			want: summary{Failed: 1, Finished: true,
				Conditions: []string{
					"FailureTarget/DeadlineExceeded: Job was active longer than specified deadline",
					"Failed/DeadlineExceeded: Job was active longer than specified deadline"},
				Events: []string{"Warning DeadlineExceeded: Job was active longer than specified deadline"}},
		},
		{
			name: "J7 FailJob on main exit 42 with the controller's message (055)",
			mutate: func(j *batchv1.Job) {
				j.Spec.BackoffLimit = ptr(int32(6))
				j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
					Action: batchv1.PodFailurePolicyActionFailJob,
					OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{ContainerName: ptr("main"),
						Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}}}}}
			},
			pods: []*corev1.Pod{pod("j-a", corev1.PodFailed, terminated("main", 42, t0), terminated("sidecar", 0, t0))},
			now:  t0.Add(time.Second),
			want: summary{Failed: 1, Finished: true,
				Conditions: []string{
					"FailureTarget/PodFailurePolicy: Container main for pod default/j-a failed with exit code 42 matching FailJob rule at index 0",
					"Failed/PodFailurePolicy: Container main for pod default/j-a failed with exit code 42 matching FailJob rule at index 0"},
				Events: []string{"Warning PodFailurePolicy: Container main for pod default/j-a failed with exit code 42 matching FailJob rule at index 0"}},
		},
		{
			name: "J7 gotcha: a rule without containerName matches the SIGKILLed sidecar (056)",
			mutate: func(j *batchv1.Job) {
				j.Spec.BackoffLimit = ptr(int32(6))
				j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
					Action: batchv1.PodFailurePolicyActionFailJob,
					OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
						Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{137}}}}}
			},
			pods: []*corev1.Pod{pod("j-a", corev1.PodFailed, terminated("main", 1, t0), terminated("sidecar", 137, t0))},
			now:  t0.Add(time.Second),
			want: summary{Failed: 1, Finished: true,
				Conditions: []string{
					"FailureTarget/PodFailurePolicy: Container sidecar for pod default/j-a failed with exit code 137 matching FailJob rule at index 0",
					"Failed/PodFailurePolicy: Container sidecar for pod default/j-a failed with exit code 137 matching FailJob rule at index 0"},
				Events: []string{"Warning PodFailurePolicy: Container sidecar for pod default/j-a failed with exit code 137 matching FailJob rule at index 0"}},
		},
		{
			name: "J7 Ignore: the failure is not counted and the pod is replaced",
			mutate: func(j *batchv1.Job) {
				j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
					Action: batchv1.PodFailurePolicyActionIgnore,
					OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{ContainerName: ptr("main"),
						Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{3}}}}}
			},
			pods: []*corev1.Pod{pod("j-a", corev1.PodFailed, terminated("main", 3, t0), terminated("sidecar", 0, t0))},
			now:  t0.Add(time.Minute),
			want: summary{Failed: 0, Create: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := baseJob()
			if tc.mutate != nil {
				tc.mutate(j)
			}
			got := summarize(Plan(j, tc.pods, tc.now))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Plan mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
