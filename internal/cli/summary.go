package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/podworker"
)

// runResult is what `podrun run` reports at the end.
type runResult struct {
	// Pods are the pods that ran, in creation order (one for a Pod, one
	// or more for a Job).
	Pods []*corev1.Pod
	// Job is the Job, if the input was one.
	Job *batchv1.Job
	// Elapsed is the wall time of the run.
	Elapsed time.Duration
	// Note explains an ending the phase alone does not (a timeout, an
	// interrupt, an init container that never finished).
	Note string
	// Records are the pods' run records by pod name, for precise times;
	// a pod without one is shown with its status's second-precision times.
	Records map[string]*podworker.Record
}

// printSummary writes the end-of-run summary: the outcome line, then one
// row per container with its kind, state, exit code, reason, restarts and
// when it ran relative to the pod's first container start.
func printSummary(w io.Writer, r runResult) {
	for _, pod := range r.Pods {
		if pod == nil {
			continue
		}
		outcome := string(pod.Status.Phase)
		if pod.Status.Reason != "" {
			outcome += " (" + pod.Status.Reason + ")"
		}
		elapsed := r.Elapsed
		if rec := r.Records[pod.Name]; rec != nil && rec.StartTime != nil && rec.FinishedAt != nil {
			elapsed = rec.FinishedAt.Sub(*rec.StartTime) // this pod's own run
		}
		fmt.Fprintf(w, "pod/%s %s after %s\n", pod.Name, outcome, elapsed.Round(time.Millisecond))
		printContainerRows(w, pod, r.Records[pod.Name])
	}
	if r.Job != nil {
		fmt.Fprintf(w, "job.batch/%s %s\n", r.Job.Name, jobOutcome(r.Job))
	}
	if r.Note != "" {
		fmt.Fprintln(w, r.Note)
	}
}

func printContainerRows(w io.Writer, pod *corev1.Pod, rec *podworker.Record) {
	origin := firstStart(pod)
	precise := map[string][2]time.Time{}
	if rec != nil {
		origin = time.Time{}
		for _, c := range rec.Containers {
			for _, a := range c.Attempts {
				if a.StartedAt != nil && (origin.IsZero() || a.StartedAt.Before(origin)) {
					origin = *a.StartedAt
				}
			}
			if n := len(c.Attempts); n > 0 {
				last := c.Attempts[n-1]
				var times [2]time.Time
				if last.StartedAt != nil {
					times[0] = *last.StartedAt
				}
				if last.FinishedAt != nil {
					times[1] = *last.FinishedAt
				}
				precise[c.Name] = times
			}
		}
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  CONTAINER\tKIND\tSTATE\tEXIT\tREASON\tRESTARTS\tRAN")
	row := func(kind string, s corev1.ContainerStatus) {
		state, exit, reason, ran := "Waiting", "", "", ""
		switch {
		case s.State.Terminated != nil:
			t := s.State.Terminated
			state, exit, reason = "Terminated", fmt.Sprint(t.ExitCode), t.Reason
			ran = span(origin, t.StartedAt.Time, t.FinishedAt.Time)
		case s.State.Running != nil:
			state = "Running"
			ran = span(origin, s.State.Running.StartedAt.Time, time.Time{})
		case s.State.Waiting != nil:
			reason = s.State.Waiting.Reason
		}
		if times, ok := precise[s.Name]; ok && ran != "" {
			ran = span(origin, times[0], times[1])
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%d\t%s\n", s.Name, kind, state, dash(exit), dash(reason), s.RestartCount, dash(ran))
	}
	for i, s := range pod.Status.InitContainerStatuses {
		kind := "init"
		if i < len(pod.Spec.InitContainers) && isSidecar(&pod.Spec.InitContainers[i]) {
			kind = "sidecar"
		}
		row(kind, s)
	}
	for _, s := range pod.Status.ContainerStatuses {
		row("regular", s)
	}
	tw.Flush()
}

func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// firstStart is the earliest container start of the pod (zero if none).
func firstStart(pod *corev1.Pod) time.Time {
	var first time.Time
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for _, s := range list {
			for _, st := range []corev1.ContainerState{s.State, s.LastTerminationState} {
				var t time.Time
				if st.Running != nil {
					t = st.Running.StartedAt.Time
				} else if st.Terminated != nil {
					t = st.Terminated.StartedAt.Time
				}
				if !t.IsZero() && (first.IsZero() || t.Before(first)) {
					first = t
				}
			}
		}
	}
	return first
}

// span renders when a container ran relative to origin: "+0.0s → +2.4s"
// (or "+0.0s →" while it still runs).
func span(origin, start, end time.Time) string {
	if start.IsZero() || origin.IsZero() {
		return ""
	}
	s := fmt.Sprintf("+%.2fs →", start.Sub(origin).Seconds())
	if !end.IsZero() {
		s += fmt.Sprintf(" +%.2fs", end.Sub(origin).Seconds())
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// jobOutcome is the Job's state in words: its terminal condition with the
// reason, or Running.
func jobOutcome(job *batchv1.Job) string {
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return "Complete"
		case batchv1.JobFailed:
			return strings.TrimSpace("Failed (" + c.Reason + ": " + c.Message + ")")
		}
	}
	return fmt.Sprintf("not finished: %d active, %d succeeded, %d failed", job.Status.Active, job.Status.Succeeded, job.Status.Failed)
}
