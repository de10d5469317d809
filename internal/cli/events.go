package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	cliprinters "k8s.io/cli-runtime/pkg/printers"
	"k8s.io/utils/clock"

	"github.com/podrun/podrun/internal/store"
)

// eventsOptions are the flags of `podrun events`.
type eventsOptions struct {
	namespace     string
	allNamespaces bool
	forObject     string
	types         []string
	watch         bool
	output        string
	noHeaders     bool
}

// newEventsCommand returns `podrun events`: kubectl events over the
// events of the state directory, oldest first, with counts and first and
// last times.
func newEventsCommand(g *globalOptions, streams Streams) *cobra.Command {
	return eventsCommand(g, streams, clock.RealClock{})
}

// eventsCommand is newEventsCommand with the clock that dates ages.
func eventsCommand(g *globalOptions, streams Streams, clk clock.Clock) *cobra.Command {
	o := &eventsOptions{}
	cmd := &cobra.Command{
		Use:   "events [--for TYPE/NAME] [--types Normal,Warning] [-w] [-A | -n NS] [-o FORMAT]",
		Short: "List events, oldest first, as kubectl events does",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := o.filter()
			if err != nil {
				return err
			}
			v, err := openViewer(g, streams, clk)
			if err != nil {
				return err
			}
			return v.events(cmd.Context(), o, f)
		},
	}
	addNamespaceFlags(cmd, &o.namespace, &o.allNamespaces)
	cmd.Flags().StringVar(&o.forObject, "for", "", "only the events about this object, as TYPE/NAME (pod/x, job/y)")
	cmd.Flags().StringSliceVar(&o.types, "types", nil, "only events of these types: Normal, Warning")
	cmd.Flags().BoolVarP(&o.watch, "watch", "w", false, "after listing, print new events until interrupted")
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "output format: json, yaml, name, jsonpath=TEMPLATE")
	cmd.Flags().BoolVar(&o.noHeaders, "no-headers", false, "omit the header line")
	return cmd
}

// eventFilter selects the events `podrun events` prints.
type eventFilter struct {
	kind, name string // the --for object's kind (Pod, Job) and name
	types      []string
}

// filter checks o's flags and returns the events they select.
func (o *eventsOptions) filter() (eventFilter, error) {
	var f eventFilter
	for _, t := range o.types {
		if !strings.EqualFold(t, "Normal") && !strings.EqualFold(t, "Warning") {
			return f, InputError(errors.New("valid --types are Normal or Warning"))
		}
		f.types = append(f.types, t)
	}
	if o.forObject != "" {
		typ, name, ok := strings.Cut(o.forObject, "/")
		if !ok {
			return f, InputError(errors.New("--for must be in resource/name form"))
		}
		if strings.Contains(name, "/") {
			return f, InputError(errors.New("arguments in resource/name form may not have more than one slash"))
		}
		k, err := kindOf(typ)
		if err != nil {
			return f, err
		}
		f.kind, f.name = k.groupKind().Kind, name
	}
	return f, nil
}

// matches reports whether f selects e.
func (f eventFilter) matches(e *corev1.Event) bool {
	if f.name != "" && (e.InvolvedObject.Kind != f.kind || e.InvolvedObject.Name != f.name) {
		return false
	}
	if len(f.types) == 0 {
		return true
	}
	for _, t := range f.types {
		if strings.EqualFold(t, e.Type) {
			return true
		}
	}
	return false
}

// events lists the selected events oldest first, then follows new ones
// with -w.
func (v *viewer) events(ctx context.Context, o *eventsOptions, f eventFilter) error {
	ns := o.namespace
	if o.allNamespaces {
		ns = ""
	}
	var changes <-chan store.Change
	if o.watch {
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var err error
		if changes, err = v.s.Watch(wctx, ns); err != nil {
			return err
		}
	}
	all, err := v.s.ListEvents(ctx, ns)
	if err != nil {
		return err
	}
	var evs []*corev1.Event
	for _, e := range all {
		if f.matches(e) {
			evs = append(evs, e)
		}
	}
	sort.Sort(byEventTime(evs))
	p := &eventPrinter{out: cliprinters.GetNewTabWriter(v.streams.Out), o: o}
	if o.watch {
		if err := p.print(evs, v.clock.Now()); err != nil {
			return err
		}
		return v.watchEvents(ctx, changes, p, f, evs)
	}
	if len(evs) == 0 {
		if o.allNamespaces {
			fmt.Fprintln(v.streams.ErrOut, "No events found.")
		} else {
			fmt.Fprintf(v.streams.ErrOut, "No events found in %s namespace.\n", o.namespace)
		}
		return nil
	}
	return p.print(evs, v.clock.Now())
}

// watchEvents prints each new version of a selected event until ctx ends;
// removed events are not printed, as kubectl events -w skips deletions.
func (v *viewer) watchEvents(ctx context.Context, changes <-chan store.Change, p *eventPrinter, f eventFilter, initial []*corev1.Event) error {
	seen := map[string]string{} // namespace/name -> resourceVersion printed
	for _, e := range initial {
		seen[e.Namespace+"/"+e.Name] = e.ResourceVersion
	}
	for c := range changes {
		if c.Kind != store.Events && !c.Resync {
			continue
		}
		evs, err := v.s.ListEvents(ctx, c.Namespace)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		var fresh []*corev1.Event
		for _, e := range evs {
			key := e.Namespace + "/" + e.Name
			if (c.Resync || e.Name == c.Name) && f.matches(e) && seen[key] != e.ResourceVersion {
				seen[key] = e.ResourceVersion
				fresh = append(fresh, e)
			}
		}
		sort.Sort(byEventTime(fresh))
		if err := p.print(fresh, v.clock.Now()); err != nil {
			return err
		}
	}
	return nil
}

// eventPrinter prints events in kubectl events' table, or in an -o
// format.
type eventPrinter struct {
	out           tabWriter
	o             *eventsOptions
	headerPrinted bool
}

func (p *eventPrinter) print(evs []*corev1.Event, now time.Time) error {
	if p.o.output != "" {
		return p.printFormat(evs)
	}
	if !p.o.noHeaders && !p.headerPrinted {
		if p.o.allNamespaces {
			fmt.Fprint(p.out, "NAMESPACE\t")
		}
		fmt.Fprint(p.out, "LAST SEEN\tTYPE\tREASON\tOBJECT\tMESSAGE\n")
		p.headerPrinted = true
	}
	for _, e := range evs {
		if p.o.allNamespaces {
			fmt.Fprintf(p.out, "%s\t", e.Namespace)
		}
		fmt.Fprintf(p.out, "%s\t%s\t%s\t%s/%s\t%s\n", eventInterval(e, now),
			cliprinters.EscapeTerminal(e.Type), cliprinters.EscapeTerminal(e.Reason),
			cliprinters.EscapeTerminal(e.InvolvedObject.Kind), cliprinters.EscapeTerminal(e.InvolvedObject.Name),
			cliprinters.EscapeTerminal(strings.TrimSpace(e.Message)))
	}
	return p.out.Flush()
}

// printFormat prints evs in an -o format as kubectl events does: one
// v1 EventList of typed events (each event alone while watching).
func (p *eventPrinter) printFormat(evs []*corev1.Event) error {
	flags := genericclioptions.NewPrintFlags("")
	flags.OutputFormat = &p.o.output
	printer, err := flags.ToPrinter()
	if err != nil {
		return InputError(fmt.Errorf("output format %q: %w", p.o.output, err))
	}
	var objs []runtime.Object
	list := &corev1.EventList{TypeMeta: metav1.TypeMeta{Kind: "EventList", APIVersion: "v1"}}
	for _, e := range evs {
		e := e.DeepCopy()
		e.SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: "Event"})
		list.Items = append(list.Items, *e)
		objs = append(objs, e)
	}
	if !p.o.watch {
		objs = []runtime.Object{list}
	}
	for _, obj := range objs {
		if err := printer.PrintObj(obj, p.out); err != nil {
			return fmt.Errorf("print events: %w", err)
		}
	}
	return p.out.Flush()
}

// eventInterval is kubectl events' LAST SEEN cell: the age of the first
// occurrence, or "LAST (xN over FIRST)" for a repeated event.
func eventInterval(e *corev1.Event, now time.Time) string {
	first := sinceOrUnknown(e.EventTime.Time, now)
	if e.EventTime.IsZero() {
		first = sinceOrUnknown(e.FirstTimestamp.Time, now)
	}
	switch {
	case e.Series != nil:
		return fmt.Sprintf("%s (x%d over %s)", sinceOrUnknown(e.Series.LastObservedTime.Time, now), e.Series.Count, first)
	case e.Count > 1:
		return fmt.Sprintf("%s (x%d over %s)", sinceOrUnknown(e.LastTimestamp.Time, now), e.Count, first)
	}
	return first
}

func sinceOrUnknown(t, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}

// byEventTime orders events by their last occurrence, as kubectl events
// sorts them (with sort.Sort, so ties fall as they fall there).
type byEventTime []*corev1.Event

func (l byEventTime) Len() int           { return len(l) }
func (l byEventTime) Swap(i, j int)      { l[i], l[j] = l[j], l[i] }
func (l byEventTime) Less(i, j int) bool { return eventTime(l[i]).Before(eventTime(l[j])) }

func eventTime(e *corev1.Event) time.Time {
	if e.Series != nil {
		return e.Series.LastObservedTime.Time
	}
	if !e.LastTimestamp.IsZero() {
		return e.LastTimestamp.Time
	}
	return e.EventTime.Time
}

// tabWriter is an io.Writer that aligns columns on Flush.
type tabWriter interface {
	io.Writer
	Flush() error
}
