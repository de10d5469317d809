package cli

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/internal/podworker"
)

var updateSummary = flag.Bool("update-summary", false, "rewrite testdata/run/*.golden")

func TestPrintSummaryGolden(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 17, 20, 12, 0, time.UTC)
	always := corev1.ContainerRestartPolicyAlways
	ts := func(d time.Duration) metav1.Time { return metav1.NewTime(t0.Add(d)) }
	at := func(d time.Duration) *time.Time { v := t0.Add(d); return &v }
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "lab-sidecar-kt84s"},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "postgres", RestartPolicy: &always}},
			Containers:     []corev1.Container{{Name: "main"}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodSucceeded,
			InitContainerStatuses: []corev1.ContainerStatus{{Name: "postgres", State: corev1.ContainerState{
				Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: ts(0), FinishedAt: ts(8 * time.Second)}}}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "main", RestartCount: 1, State: corev1.ContainerState{
				Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: ts(7 * time.Second), FinishedAt: ts(8 * time.Second)}}}},
		},
	}
	rec := &podworker.Record{Containers: []podworker.ContainerRecord{
		{Name: "postgres", Attempts: []podworker.AttemptRecord{{StartedAt: at(250 * time.Millisecond), FinishedAt: at(8120 * time.Millisecond)}}},
		{Name: "main", Attempts: []podworker.AttemptRecord{
			{StartedAt: at(2 * time.Second), FinishedAt: at(3 * time.Second)},
			{StartedAt: at(7010 * time.Millisecond), FinishedAt: at(7990 * time.Millisecond)}}},
	}}
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "lab-sidecar"}, Status: batchv1.JobStatus{
		Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}}}
	waiting := pod.DeepCopy()
	waiting.Status.Phase = corev1.PodPending
	waiting.Status.InitContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: ts(0)}}
	waiting.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}
	waiting.Status.ContainerStatuses[0].RestartCount = 0

	for _, tc := range []struct {
		name string
		r    runResult
	}{
		{name: "sidecar-job-complete", r: runResult{Pods: []*corev1.Pod{pod}, Job: job, Elapsed: 8123 * time.Millisecond,
			Records: map[string]*podworker.Record{pod.Name: rec}}},
		{name: "status-times-without-record", r: runResult{Pods: []*corev1.Pod{pod}, Elapsed: 8 * time.Second}},
		{name: "timed-out-in-init", r: runResult{Pods: []*corev1.Pod{waiting}, Elapsed: 15 * time.Second,
			Note: `timed out after 15s: init container "postgres" of pod/lab-init-x never finished`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			printSummary(&b, tc.r)
			path := filepath.Join("testdata", "run", tc.name+".golden")
			if *updateSummary {
				os.MkdirAll(filepath.Dir(path), 0o755)
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update-summary)", err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("summary mismatch\n--- want\n%s--- got\n%s", want, got)
			}
		})
	}
}
