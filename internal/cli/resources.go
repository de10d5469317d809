package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/clock"

	"github.com/podrun/podrun/internal/printers"
	"github.com/podrun/podrun/internal/store"
)

// addNamespaceFlags adds kubectl's -n and -A.
func addNamespaceFlags(cmd *cobra.Command, ns *string, all *bool) {
	cmd.Flags().StringVarP(ns, "namespace", "n", "default", "namespace of the objects")
	if all != nil {
		cmd.Flags().BoolVarP(all, "all-namespaces", "A", false, "list the objects of every namespace")
	}
}

// openStore opens the state directory named by --root, or the default.
func openStore(g *globalOptions) (*store.Store, error) {
	root := g.root
	if root == "" {
		var err error
		if root, err = store.DefaultRoot(); err != nil {
			return nil, err
		}
	}
	return store.Open(root)
}

// openViewer opens the state directory for a read-side verb.
func openViewer(g *globalOptions, streams Streams, clk clock.Clock) (*viewer, error) {
	s, err := openStore(g)
	if err != nil {
		return nil, err
	}
	return &viewer{s: s, clock: clk, streams: streams}, nil
}

// viewer reads the state directory for the read-side verbs.
type viewer struct {
	s       *store.Store
	clock   clock.Clock
	streams Streams
}

// serverError is an error kubectl prints as the API server's:
// "Error from server (Reason): message", without "error: ".
type serverError struct {
	reason, message string
}

func (e *serverError) Error() string {
	return fmt.Sprintf("Error from server (%s): %s", e.reason, e.message)
}

// notFound is the API server's NotFound for name of kind k.
func notFound(k resourceKind, name string) error {
	return &serverError{reason: "NotFound", message: fmt.Sprintf("%s %q not found", k.groupResource(), name)}
}

// reportErrors prints errs as kubectl does (server errors as they are,
// others after "error: ") and returns exit code 1 if there were any.
func reportErrors(w io.Writer, errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	for _, err := range errs {
		var se *serverError
		if errors.As(err, &se) {
			fmt.Fprintln(w, se.Error())
		} else {
			fmt.Fprintf(w, "error: %v\n", err)
		}
	}
	return &ExitError{Code: ExitFailed}
}

// resourceKind is one kind of object the views read.
type resourceKind int

const (
	podKind resourceKind = iota + 1
	jobKind
	eventKind
)

// resourceNames maps every name kubectl accepts for a kind to the kind.
var resourceNames = map[string]resourceKind{
	"po": podKind, "pod": podKind, "pods": podKind,
	"job": jobKind, "jobs": jobKind, "job.batch": jobKind, "jobs.batch": jobKind,
	"ev": eventKind, "event": eventKind, "events": eventKind,
}

// plural is the kind's resource name: pods, jobs, events.
func (k resourceKind) plural() string {
	return map[resourceKind]string{podKind: "pods", jobKind: "jobs", eventKind: "events"}[k]
}

// groupResource names the kind in API errors: pods, jobs.batch, events.
func (k resourceKind) groupResource() string {
	if k == jobKind {
		return "jobs.batch"
	}
	return k.plural()
}

// groupKind is the kind's API group and kind, as kubectl prefixes names.
func (k resourceKind) groupKind() schema.GroupKind {
	return map[resourceKind]schema.GroupKind{
		podKind: {Kind: "Pod"}, jobKind: {Group: "batch", Kind: "Job"}, eventKind: {Kind: "Event"},
	}[k]
}

// storeKind is the store's directory of the kind.
func (k resourceKind) storeKind() store.Kind {
	return map[resourceKind]store.Kind{podKind: store.Pods, jobKind: store.Jobs, eventKind: store.Events}[k]
}

// list returns the objects of the kind in ns ("" for all namespaces).
func (k resourceKind) list(ctx context.Context, s *store.Store, ns string) ([]runtime.Object, error) {
	switch k {
	case podKind:
		return objects(s.ListPods(ctx, ns))
	case jobKind:
		return objects(s.ListJobs(ctx, ns))
	default:
		return objects(s.ListEvents(ctx, ns))
	}
}

// get returns the object ns/name of the kind, or store.ErrNotFound.
func (k resourceKind) get(ctx context.Context, s *store.Store, ns, name string) (runtime.Object, error) {
	switch k {
	case podKind:
		return s.GetPod(ctx, ns, name)
	case jobKind:
		return s.GetJob(ctx, ns, name)
	default:
		evs, err := s.ListEvents(ctx, ns)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			if e.Name == name {
				return e, nil
			}
		}
		return nil, store.ErrNotFound
	}
}

// table builds the kind's kubectl table of objs at now.
func (k resourceKind) table(objs []runtime.Object, now time.Time) *metav1.Table {
	switch k {
	case podKind:
		return printers.PodTable(typed[*corev1.Pod](objs), now)
	case jobKind:
		return printers.JobTable(typed[*batchv1.Job](objs), now)
	default:
		return printers.EventTable(typed[*corev1.Event](objs), now)
	}
}

// objects converts a typed list to runtime.Objects.
func objects[T runtime.Object](xs []T, err error) ([]runtime.Object, error) {
	if err != nil {
		return nil, err
	}
	out := make([]runtime.Object, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out, nil
}

// typed converts runtime.Objects back to their type.
func typed[T runtime.Object](objs []runtime.Object) []T {
	out := make([]T, len(objs))
	for i, o := range objs {
		out[i] = o.(T)
	}
	return out
}

// resourceRequest is one kind and the names asked for (none: all).
type resourceRequest struct {
	kind  resourceKind
	names []string
}

// parseResources reads kubectl's resource arguments: "TYPE[,TYPE...]
// [NAME...]" or "TYPE/NAME...".
func parseResources(args []string) ([]resourceRequest, error) {
	if len(args) == 0 {
		return nil, InputError(errors.New("you must specify the type of resource to get: pods, jobs or events"))
	}
	if strings.Contains(args[0], "/") {
		var reqs []resourceRequest
		for _, a := range args {
			typ, name, ok := strings.Cut(a, "/")
			if !ok {
				return nil, InputError(fmt.Errorf("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'podrun get resource/<resource_name>' instead of 'podrun get resource resource/<resource_name>'"))
			}
			if strings.Contains(name, "/") {
				return nil, InputError(errors.New("arguments in resource/name form may not have more than one slash"))
			}
			k, err := kindOf(typ)
			if err != nil {
				return nil, err
			}
			if name == "" {
				return nil, InputError(fmt.Errorf("arguments in resource/name form must have a single resource and name"))
			}
			reqs = append(reqs, resourceRequest{kind: k, names: []string{name}})
		}
		return reqs, nil
	}
	var reqs []resourceRequest
	for _, typ := range strings.Split(args[0], ",") {
		if strings.EqualFold(typ, "all") {
			// kubectl's category "all": of its kinds podrun has pods and
			// Jobs, listed in that order.
			for _, k := range []resourceKind{podKind, jobKind} {
				reqs = append(reqs, resourceRequest{kind: k, names: args[1:]})
			}
			continue
		}
		k, err := kindOf(typ)
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, resourceRequest{kind: k, names: args[1:]})
	}
	return reqs, nil
}

// kindOf maps a resource name (pods, po, job.batch, ev, ...) to its kind.
func kindOf(typ string) (resourceKind, error) {
	k, ok := resourceNames[strings.ToLower(typ)]
	if !ok {
		return 0, InputError(fmt.Errorf("the server doesn't have a resource type %q", typ))
	}
	return k, nil
}

// watch prints the requested objects, then one row per change of one of
// them until ctx ends, as kubectl get -w: the store's watch is started
// before the list so no change is missed, and a removed object is printed
// once more in its last state.
func (v *viewer) watch(ctx context.Context, o *getOptions, reqs []resourceRequest) error {
	if len(reqs) != 1 {
		return InputError(errors.New("watch is only supported on individual resources and resource collections, but multiple resource types were requested"))
	}
	r := reqs[0]
	sel, err := o.check(reqs)
	if err != nil {
		return err
	}
	ns := o.namespace
	if o.allNamespaces {
		ns = ""
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes, err := v.s.Watch(ctx, ns)
	if err != nil {
		return err
	}
	w := &watchPrinter{v: v, o: o, kind: r.kind, seen: map[string]runtime.Object{}}
	if printers.IsTableFormat(o.output) {
		w.table = printers.NewTablePrinter(v.streams.Out, o.tableOptions())
	}
	found, errs, err := v.fetch(ctx, r, ns, sel)
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return reportErrors(v.streams.ErrOut, errs)
	}
	if err := w.printAll(found); err != nil {
		return err
	}
	wanted := func(name string) bool { return len(r.names) == 0 || slices.Contains(r.names, name) }
	for c := range changes {
		if c.Resync {
			if err := w.resync(ctx, r, ns, sel); err != nil {
				return err
			}
			continue
		}
		if c.Kind != r.kind.storeKind() || !wanted(c.Name) {
			continue
		}
		obj, err := r.kind.get(ctx, v.s, c.Namespace, c.Name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			err = w.removed(c.Namespace + "/" + c.Name)
		case err != nil:
			if ctx.Err() != nil {
				return nil
			}
			return err
		case sel.Matches(labels.Set(metaOf(obj).GetLabels())):
			err = w.print(obj)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// watchPrinter prints each new version of the watched objects once.
type watchPrinter struct {
	v     *viewer
	o     *getOptions
	kind  resourceKind
	table *printers.TablePrinter // nil for the -o formats
	seen  map[string]runtime.Object
}

// print prints obj unless this version was printed already.
func (w *watchPrinter) print(obj runtime.Object) error {
	return w.printAll([]item{{w.kind, obj}})
}

// removed prints the last state of a removed object.
func (w *watchPrinter) removed(key string) error {
	last, ok := w.seen[key]
	if !ok {
		return nil
	}
	delete(w.seen, key)
	return w.emit(last)
}

// resync re-lists after the store lost changes and prints what changed.
func (w *watchPrinter) resync(ctx context.Context, r resourceRequest, ns string, sel labels.Selector) error {
	found, _, err := w.v.fetch(ctx, r, ns, sel)
	if err != nil {
		return err
	}
	return w.printAll(found)
}

// printAll prints the versions of items not printed yet as one table.
func (w *watchPrinter) printAll(items []item) error {
	var fresh []runtime.Object
	for _, it := range items {
		m := metaOf(it.obj)
		key := m.GetNamespace() + "/" + m.GetName()
		if prev, ok := w.seen[key]; ok && metaOf(prev).GetResourceVersion() == m.GetResourceVersion() {
			continue
		}
		w.seen[key] = it.obj
		fresh = append(fresh, it.obj)
	}
	if len(fresh) == 0 {
		return nil
	}
	return w.emit(fresh...)
}

// emit prints objs (of w's kind): rows of the table, or each object
// alone in the -o format.
func (w *watchPrinter) emit(objs ...runtime.Object) error {
	now := w.v.clock.Now()
	if w.table == nil {
		for _, obj := range objs {
			if err := printers.PrintObjects(w.v.streams.Out, []runtime.Object{obj}, printers.OutputOptions{Format: w.o.output, SingleItem: true}); err != nil {
				return err
			}
		}
		return nil
	}
	switch w.kind {
	case podKind:
		return w.table.Pods(typed[*corev1.Pod](objs), now)
	case jobKind:
		return w.table.Jobs(typed[*batchv1.Job](objs), now)
	default:
		return w.table.Events(typed[*corev1.Event](objs), now)
	}
}
