package printers

import (
	"fmt"
	"io"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
)

var jobColumnDefinitions = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name"},
	{Name: "Status", Type: "string"},
	{Name: "Completions", Type: "string"},
	{Name: "Duration", Type: "string"},
	{Name: "Age", Type: "string"},
	{Name: "Containers", Type: "string", Priority: 1},
	{Name: "Images", Type: "string", Priority: 1},
	{Name: "Selector", Type: "string", Priority: 1},
}

// JobTable returns the `kubectl get jobs` table of jobs at now (SEMANTICS.md
// §11 J9), wide columns included.
func JobTable(jobs []*batchv1.Job, now time.Time) *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: jobColumnDefinitions}
	for _, job := range jobs {
		names, images := containerCells(job.Spec.Template.Spec.Containers)
		t.Rows = append(t.Rows, metav1.TableRow{
			Object: runtime.RawExtension{Object: job},
			Cells: []any{
				job.Name, JobStatus(job), jobCompletions(job), jobDuration(job, now),
				age(job.CreationTimestamp, now),
				names, images, metav1.FormatLabelSelector(job.Spec.Selector),
			},
		})
	}
	return t
}

// PrintJobs prints jobs as `kubectl get jobs` does at now.
func PrintJobs(w io.Writer, jobs []*batchv1.Job, opts TableOptions, now time.Time) error {
	return printOnce(w, JobTable(jobs, now), opts)
}

// Jobs prints jobs as one more batch of `kubectl get jobs -w` rows.
func (p *TablePrinter) Jobs(jobs []*batchv1.Job, now time.Time) error {
	return p.print(JobTable(jobs, now))
}

// JobStatus is the STATUS cell of a Job: Complete > Failed > Terminating >
// Suspended > FailureTarget > Running.
func JobStatus(job *batchv1.Job) string {
	switch {
	case jobCondition(job, batchv1.JobComplete):
		return "Complete"
	case jobCondition(job, batchv1.JobFailed):
		return "Failed"
	case job.DeletionTimestamp != nil:
		return "Terminating"
	case jobCondition(job, batchv1.JobSuspended):
		return "Suspended"
	case jobCondition(job, batchv1.JobFailureTarget):
		return "FailureTarget"
	default:
		return "Running"
	}
}

// jobCondition reports whether the first condition of type t is True.
func jobCondition(job *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range job.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func jobCompletions(job *batchv1.Job) string {
	if job.Spec.Completions != nil {
		return fmt.Sprintf("%d/%d", job.Status.Succeeded, *job.Spec.Completions)
	}
	if job.Spec.Parallelism != nil && *job.Spec.Parallelism > 1 {
		return fmt.Sprintf("%d/1 of %d", job.Status.Succeeded, *job.Spec.Parallelism)
	}
	return fmt.Sprintf("%d/1", job.Status.Succeeded)
}

// jobDuration is completion - start, now - start while running, and empty
// before the Job started.
func jobDuration(job *batchv1.Job, now time.Time) string {
	switch {
	case job.Status.StartTime == nil:
		return ""
	case job.Status.CompletionTime == nil:
		return duration.HumanDuration(now.Sub(job.Status.StartTime.Time))
	default:
		return duration.HumanDuration(job.Status.CompletionTime.Sub(job.Status.StartTime.Time))
	}
}

// containerCells joins the names and the images of containers with commas.
func containerCells(containers []corev1.Container) (names, images string) {
	n := make([]string, len(containers))
	im := make([]string, len(containers))
	for i, c := range containers {
		n[i], im[i] = c.Name, c.Image
	}
	return strings.Join(n, ","), strings.Join(im, ",")
}
