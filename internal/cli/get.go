package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	cliprinters "k8s.io/cli-runtime/pkg/printers"
	"k8s.io/utils/clock"

	"github.com/podrun/podrun/internal/backend/local"
	"github.com/podrun/podrun/internal/printers"
	"github.com/podrun/podrun/internal/store"
)

// getOptions are the flags of `podrun get`.
type getOptions struct {
	namespace     string
	allNamespaces bool
	selector      string
	output        string
	watch         bool
	noHeaders     bool
	showLabels    bool
	labelColumns  []string
}

// newGetCommand returns `podrun get`: kubectl get for pods, Jobs and
// events held in the state directory.
func newGetCommand(g *globalOptions, streams Streams) *cobra.Command {
	return getCommand(g, streams, clock.RealClock{})
}

// getCommand is newGetCommand with the clock that dates AGE and
// "(Xs ago)"; tests pass a fake one.
func getCommand(g *globalOptions, streams Streams, clk clock.Clock) *cobra.Command {
	o := &getOptions{}
	cmd := &cobra.Command{
		Use:   "get (pods|jobs|events) [NAME...] | TYPE/NAME... [-l SELECTOR] [-w] [-A | -n NS] [-o FORMAT]",
		Short: "Display pods, Jobs or events as kubectl get does",
		RunE: func(cmd *cobra.Command, args []string) error {
			reqs, err := parseResources(args)
			if err != nil {
				return err
			}
			v, err := openViewer(g, streams, clk)
			if err != nil {
				return err
			}
			if o.watch {
				return v.watch(cmd.Context(), o, reqs)
			}
			return v.get(cmd.Context(), o, reqs)
		},
	}
	addNamespaceFlags(cmd, &o.namespace, &o.allNamespaces)
	cmd.Flags().StringVarP(&o.selector, "selector", "l", "", "label selector to filter on, as kubectl's (e.g. -l app=db,tier!=web)")
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "output format: wide, json, yaml, name, jsonpath=TEMPLATE, custom-columns=SPEC")
	cmd.Flags().BoolVarP(&o.watch, "watch", "w", false, "after listing, print each change until interrupted")
	cmd.Flags().BoolVar(&o.noHeaders, "no-headers", false, "omit the table header")
	cmd.Flags().BoolVar(&o.showLabels, "show-labels", false, "add a LABELS column")
	cmd.Flags().StringSliceVarP(&o.labelColumns, "label-columns", "L", nil, "add a column per label key")
	return cmd
}

// tableOptions are o's table flags.
func (o *getOptions) tableOptions() printers.TableOptions {
	return printers.TableOptions{
		Wide: o.output == "wide", WithNamespace: o.allNamespaces,
		ShowLabels: o.showLabels, ColumnLabels: o.labelColumns, NoHeaders: o.noHeaders,
	}
}

// check validates the flag combinations kubectl rejects.
func (o *getOptions) check(reqs []resourceRequest) (labels.Selector, error) {
	sel, err := labels.Parse(o.selector)
	if err != nil {
		return nil, InputError(fmt.Errorf("invalid label selector %q: %w", o.selector, err))
	}
	for _, r := range reqs {
		if len(r.names) == 0 {
			continue
		}
		if o.selector != "" {
			return nil, InputError(errors.New("name cannot be provided when a selector is specified"))
		}
		if o.allNamespaces {
			return nil, InputError(errors.New("a resource cannot be retrieved by name across all namespaces"))
		}
	}
	return sel, nil
}

// get prints the requested objects once, as kubectl get does: one table
// per run of objects of one kind, the objects found before the errors.
func (v *viewer) get(ctx context.Context, o *getOptions, reqs []resourceRequest) error {
	sel, err := o.check(reqs)
	if err != nil {
		return err
	}
	ns := o.namespace
	if o.allNamespaces {
		ns = ""
	}
	var items []item
	var errs []error
	for _, r := range reqs {
		found, rerrs, err := v.fetch(ctx, r, ns, sel)
		if err != nil {
			return err
		}
		items = append(items, found...)
		errs = append(errs, rerrs...)
	}
	if !printers.IsTableFormat(o.output) {
		single := len(reqs) == 1 && len(reqs[0].names) == 1
		if single && len(errs) > 0 {
			return reportErrors(v.streams.ErrOut, errs)
		}
		objs := make([]runtime.Object, len(items))
		for i, it := range items {
			objs[i] = it.obj
		}
		err := printers.PrintObjects(v.streams.Out, objs, printers.OutputOptions{Format: o.output, SingleItem: single, NoHeaders: o.noHeaders})
		if err != nil {
			return InputError(err)
		}
		return reportErrors(v.streams.ErrOut, errs)
	}
	written, err := printItems(v.streams.Out, items, o.tableOptions(), multipleKinds(items), v.clock)
	if err != nil {
		return err
	}
	if !written && len(errs) == 0 {
		if o.allNamespaces {
			fmt.Fprintln(v.streams.ErrOut, "No resources found")
		} else {
			fmt.Fprintf(v.streams.ErrOut, "No resources found in %s namespace.\n", o.namespace)
		}
	}
	return reportErrors(v.streams.ErrOut, errs)
}

// item is one object to print with its kind.
type item struct {
	kind resourceKind
	obj  runtime.Object
}

// fetch reads the objects r asks for in ns ("" for all): the named ones
// (a NotFound error for each one missing) or all those sel matches.
func (v *viewer) fetch(ctx context.Context, r resourceRequest, ns string, sel labels.Selector) ([]item, []error, error) {
	items, errs, err := v.fetchItems(ctx, r, ns, sel)
	if err == nil {
		for _, it := range items {
			v.adoptObject(ctx, it.obj)
		}
	}
	return items, errs, err
}

// adoptObject is adopt for a pod and adoptJob for a Job.
func (v *viewer) adoptObject(ctx context.Context, obj runtime.Object) {
	switch o := obj.(type) {
	case *corev1.Pod:
		v.adopt(ctx, o)
	case *batchv1.Job:
		v.adoptJob(ctx, o)
	}
}

// adoptJob starts a new supervisor for a Job whose supervisor (or podrun
// run) died before it finished: it continues the Job's controller and
// its pods (local.EnsureJobSupervised). A failure to start one is
// reported on errOut and otherwise ignored.
func (v *viewer) adoptJob(ctx context.Context, j *batchv1.Job) {
	if _, err := local.EnsureJobSupervised(ctx, v.s, launcher(v.s), j.Namespace, j.Name); err != nil {
		fmt.Fprintf(v.streams.ErrOut, "warning: job %s/%s: %v\n", j.Namespace, j.Name, err)
	}
}

// adopt starts a new supervisor for a pod podrun ran here whose supervisor
// died (kill -9 of `podrun run` or of `podrun supervise`): the next command
// that reads the pod notices, as DESIGN.md's process model says.
func (v *viewer) adopt(ctx context.Context, pod *corev1.Pod) {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return
	}
	if pid, _, err := v.s.Supervisor(pod.Namespace, pod.Name); err != nil || pid == 0 {
		return // never run by a podrun supervisor on this machine
	}
	ensureSupervised(ctx, v.s, v.streams.ErrOut, pod.Namespace, pod.Name)
}

// fetchItems reads the objects r asks for.
func (v *viewer) fetchItems(ctx context.Context, r resourceRequest, ns string, sel labels.Selector) ([]item, []error, error) {
	if len(r.names) == 0 {
		objs, err := r.kind.list(ctx, v.s, ns)
		if err != nil {
			return nil, nil, err
		}
		var out []item
		for _, obj := range objs {
			if sel.Matches(labels.Set(metaOf(obj).GetLabels())) {
				out = append(out, item{r.kind, obj})
			}
		}
		return out, nil, nil
	}
	var out []item
	var errs []error
	for _, name := range r.names {
		obj, err := r.kind.get(ctx, v.s, ns, name)
		switch {
		case errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid):
			errs = append(errs, notFound(r.kind, name))
		case err != nil:
			return nil, nil, err
		default:
			out = append(out, item{r.kind, obj})
		}
	}
	return out, errs, nil
}

// printItems prints items as kubectl prints tables: a new table (and a
// blank line before it) whenever the kind changes; withKind prefixes
// names with their kind. It reports whether it wrote anything.
func printItems(w io.Writer, items []item, opts printers.TableOptions, withKind bool, clk clock.PassiveClock) (bool, error) {
	tracker := &trackingWriter{w: w}
	now := clk.Now()
	for start := 0; start < len(items); {
		end := start
		for end < len(items) && items[end].kind == items[start].kind {
			end++
		}
		if start > 0 && !opts.NoHeaders && tracker.n > 0 {
			fmt.Fprintln(tracker)
		}
		k := items[start].kind
		objs := make([]runtime.Object, 0, end-start)
		for _, it := range items[start:end] {
			objs = append(objs, it.obj)
		}
		po := cliprinters.PrintOptions{
			Wide: opts.Wide, WithNamespace: opts.WithNamespace, ShowLabels: opts.ShowLabels,
			ColumnLabels: opts.ColumnLabels, NoHeaders: opts.NoHeaders,
		}
		if withKind {
			po.WithKind, po.Kind = true, k.groupKind()
		}
		tw := cliprinters.GetNewTabWriter(tracker)
		if err := cliprinters.NewTablePrinter(po).PrintObj(k.table(objs, now), tw); err != nil {
			return false, fmt.Errorf("print %s: %w", k.plural(), err)
		}
		if err := tw.Flush(); err != nil {
			return false, err
		}
		start = end
	}
	return tracker.n > 0, nil
}

// multipleKinds reports whether items hold more than one kind, when
// kubectl prefixes names with their kind.
func multipleKinds(items []item) bool {
	for _, it := range items {
		if it.kind != items[0].kind {
			return true
		}
	}
	return false
}

// trackingWriter counts what goes through it.
type trackingWriter struct {
	w io.Writer
	n int
}

func (t *trackingWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	t.n += n
	return n, err
}

// metaOf returns the object metadata of a pod, Job or event.
func metaOf(obj runtime.Object) metav1.Object {
	switch o := obj.(type) {
	case *corev1.Pod:
		return o
	case *batchv1.Job:
		return o
	case *corev1.Event:
		return o
	}
	panic(fmt.Sprintf("metaOf: unexpected %T", obj))
}
