package printers

import (
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

var eventColumnDefinitions = []metav1.TableColumnDefinition{
	{Name: "Last Seen", Type: "string"},
	{Name: "Type", Type: "string"},
	{Name: "Reason", Type: "string"},
	{Name: "Object", Type: "string"},
	{Name: "Subobject", Type: "string", Priority: 1},
	{Name: "Source", Type: "string", Priority: 1},
	{Name: "Message", Type: "string"},
	{Name: "First Seen", Type: "string", Priority: 1},
	{Name: "Count", Type: "string", Priority: 1},
	{Name: "Name", Type: "string", Priority: 1},
}

// EventTable returns the `kubectl get events` table of events at now, in
// the order given (kubectl does not sort them), wide columns included.
func EventTable(events []*corev1.Event, now time.Time) *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: eventColumnDefinitions}
	for _, ev := range events {
		first := sinceMeta(ev.FirstTimestamp, now)
		if ev.FirstTimestamp.IsZero() {
			first = sinceMicro(ev.EventTime, now)
		}
		last := sinceMeta(ev.LastTimestamp, now)
		if ev.LastTimestamp.IsZero() {
			last = first
		}
		count := ev.Count
		if ev.Series != nil {
			last = sinceMicro(ev.Series.LastObservedTime, now)
			count = ev.Series.Count
		} else if count == 0 {
			count = 1
		}
		target := strings.ToLower(ev.InvolvedObject.Kind)
		if ev.InvolvedObject.Name != "" {
			target += "/" + ev.InvolvedObject.Name
		}
		t.Rows = append(t.Rows, metav1.TableRow{
			Object: runtime.RawExtension{Object: ev},
			Cells: []any{
				last, ev.Type, ev.Reason, target, ev.InvolvedObject.FieldPath,
				eventSource(ev), strings.TrimSpace(ev.Message), first, int64(count), ev.Name,
			},
		})
	}
	return t
}

// PrintEvents prints events as `kubectl get events` does at now.
func PrintEvents(w io.Writer, events []*corev1.Event, opts TableOptions, now time.Time) error {
	return printOnce(w, EventTable(events, now), opts)
}

// Events prints events as one more batch of `kubectl get events -w` rows.
func (p *TablePrinter) Events(events []*corev1.Event, now time.Time) error {
	return p.print(EventTable(events, now))
}

// eventSource is the SOURCE cell: component (or reporting controller) and
// host (or reporting instance), comma separated.
func eventSource(ev *corev1.Event) string {
	component := firstNonEmpty(ev.Source.Component, ev.ReportingController)
	instance := firstNonEmpty(ev.Source.Host, ev.ReportingInstance)
	if instance == "" {
		return component
	}
	return component + ", " + instance
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
