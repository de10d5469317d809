package printers

import (
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/kubectl/pkg/describe"
	"k8s.io/kubectl/pkg/util/event"
)

// DescribePod writes `kubectl describe pod` of pod with its events, as
// kubectl prints it at now. Absolute times are printed in now's location.
func DescribePod(w io.Writer, pod *corev1.Pod, events []corev1.Event, now time.Time) error {
	p := pod.DeepCopy()
	inLocation(p, now.Location())
	d := &describe.PodDescriber{Interface: fake.NewClientset(p)}
	out, err := d.Describe(p.Namespace, p.Name, settings(events))
	if err != nil {
		return fmt.Errorf("describe pod %q: %w", pod.Name, err)
	}
	if p.DeletionTimestamp != nil {
		// The describer measured "lasts" on the wall clock; measure at now.
		out = terminatingLasts.ReplaceAllString(out, "${1}"+sinceMeta(*p.DeletionTimestamp, now)+")")
	}
	return writeDescription(w, out, events, now, "pod", pod.Name)
}

// DescribeJob writes `kubectl describe job` of job with its events, as
// kubectl prints it at now. Absolute times are printed in now's location.
func DescribeJob(w io.Writer, job *batchv1.Job, events []corev1.Event, now time.Time) error {
	j := job.DeepCopy()
	inLocation(j, now.Location())
	d := &describe.JobDescriber{Interface: fake.NewClientset(j)}
	out, err := d.Describe(j.Namespace, j.Name, settings(events))
	if err != nil {
		return fmt.Errorf("describe job %q: %w", job.Name, err)
	}
	return writeDescription(w, out, events, now, "job", job.Name)
}

// terminatingLasts matches the value of describe's "Status: Terminating
// (lasts X)" line up to X.
var terminatingLasts = regexp.MustCompile(`(?m)^(Status:[ \t]+Terminating \(lasts )[^)\n]*\)`)

// settings asks the describer for its own events block only when there are
// no events: the fake clientset then yields an empty list and the
// describer prints "Events: <none>" aligned with the lines above it. With
// events, the block is written by writeEvents, which takes ages from now.
func settings(events []corev1.Event) describe.DescriberSettings {
	return describe.DescriberSettings{ShowEvents: len(events) == 0, ChunkSize: 500}
}

func writeDescription(w io.Writer, out string, events []corev1.Event, now time.Time, kind, name string) error {
	if _, err := io.WriteString(w, out); err != nil {
		return fmt.Errorf("describe %s %q: %w", kind, name, err)
	}
	if len(events) == 0 {
		return nil
	}
	if err := writeEvents(w, events, now); err != nil {
		return fmt.Errorf("describe %s %q: events: %w", kind, name, err)
	}
	return nil
}

// writeEvents writes describe's Events block: the events sorted by last
// timestamp, each with its age (or "<last> (xN over <first>)") at now,
// its source and its message prefixed by the field path.
func writeEvents(w io.Writer, events []corev1.Event, now time.Time) error {
	// The same tabwriter settings as describe's own output, so the block
	// aligns exactly like kubectl's (it starts a new alignment block
	// there too: DescribeEvents flushes before writing it).
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	pw := describe.NewPrefixWriter(tw)
	sorted := append([]corev1.Event(nil), events...)
	sort.Sort(event.SortableEvents(sorted))
	pw.Write(describe.LEVEL_0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
	pw.Write(describe.LEVEL_1, "----\t------\t----\t----\t-------\n")
	for _, e := range sorted {
		first := sinceMicro(e.EventTime, now)
		if e.EventTime.IsZero() {
			first = sinceMeta(e.FirstTimestamp, now)
		}
		interval := first
		switch {
		case e.Series != nil:
			interval = fmt.Sprintf("%s (x%d over %s)", sinceMicro(e.Series.LastObservedTime, now), e.Series.Count, first)
		case e.Count > 1:
			interval = fmt.Sprintf("%s (x%d over %s)", sinceMeta(e.LastTimestamp, now), e.Count, first)
		}
		source := e.Source.Component
		if source == "" {
			source = e.ReportingController
		}
		message := strings.TrimSpace(e.Message)
		if e.InvolvedObject.FieldPath != "" {
			message = e.InvolvedObject.FieldPath + ": " + message
		}
		pw.Write(describe.LEVEL_1, "%v\t%v\t%s\t%v\t%v\n", e.Type, e.Reason, interval, source, message)
	}
	return tw.Flush()
}
