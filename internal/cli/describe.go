package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/clock"

	"github.com/podrun/podrun/internal/printers"
)

// describeOptions are the flags of `podrun describe`.
type describeOptions struct {
	namespace     string
	allNamespaces bool
	selector      string
}

// newDescribeCommand returns `podrun describe`: kubectl describe for pods
// and Jobs held in the state directory, with their events.
func newDescribeCommand(g *globalOptions, streams Streams) *cobra.Command {
	return describeCommand(g, streams, clock.RealClock{})
}

// describeCommand is newDescribeCommand with the clock that dates ages.
func describeCommand(g *globalOptions, streams Streams, clk clock.Clock) *cobra.Command {
	o := &describeOptions{}
	cmd := &cobra.Command{
		Use:   "describe (pod|job) [NAME_PREFIX...] | TYPE/NAME... [-l SELECTOR]",
		Short: "Show the details of pods or Jobs, with their events, as kubectl describe does",
		RunE: func(cmd *cobra.Command, args []string) error {
			reqs, err := parseResources(args)
			if err != nil {
				return err
			}
			v, err := openViewer(g, streams, clk)
			if err != nil {
				return err
			}
			return v.describe(cmd.Context(), o, reqs)
		},
	}
	addNamespaceFlags(cmd, &o.namespace, &o.allNamespaces)
	cmd.Flags().StringVarP(&o.selector, "selector", "l", "", "label selector to filter on")
	return cmd
}

// describe prints each object asked for, separated by blank lines as
// kubectl separates them; a name matches exactly or, failing that, as a
// prefix of names, as kubectl describe does.
func (v *viewer) describe(ctx context.Context, o *describeOptions, reqs []resourceRequest) error {
	sel, err := labels.Parse(o.selector)
	if err != nil {
		return InputError(fmt.Errorf("invalid label selector %q: %w", o.selector, err))
	}
	ns := o.namespace
	if o.allNamespaces {
		ns = ""
	}
	var items []item
	var errs []error
	for _, r := range reqs {
		if r.kind == eventKind {
			return InputError(errors.New("describe shows pods and Jobs; use podrun get events or podrun events"))
		}
		if len(r.names) == 0 {
			found, _, err := v.fetch(ctx, r, ns, sel)
			if err != nil {
				return err
			}
			items = append(items, found...)
			continue
		}
		for _, name := range r.names {
			found, err := v.matchPrefix(ctx, r.kind, o.namespace, name)
			if err != nil {
				return err
			}
			if len(found) == 0 {
				errs = append(errs, notFound(r.kind, name))
			}
			items = append(items, found...)
		}
	}
	if len(items) == 0 && len(errs) == 0 {
		if o.allNamespaces {
			fmt.Fprintln(v.streams.ErrOut, "No resources found")
		} else {
			fmt.Fprintf(v.streams.ErrOut, "No resources found in %s namespace.\n", o.namespace)
		}
		return nil
	}
	now := v.clock.Now()
	for i, it := range items {
		if i > 0 {
			fmt.Fprint(v.streams.Out, "\n\n")
		}
		if err := v.describeOne(ctx, v.streams.Out, it.obj, now); err != nil {
			return err
		}
	}
	return reportErrors(v.streams.ErrOut, errs)
}

// matchPrefix returns the object named name or, if there is none, those
// whose names start with name.
func (v *viewer) matchPrefix(ctx context.Context, k resourceKind, ns, name string) ([]item, error) {
	all, err := k.list(ctx, v.s, ns)
	if err != nil {
		return nil, err
	}
	var prefixed []item
	for _, obj := range all {
		n := metaOf(obj).GetName()
		if n == name {
			return []item{{k, obj}}, nil
		}
		if strings.HasPrefix(n, name) {
			prefixed = append(prefixed, item{k, obj})
		}
	}
	return prefixed, nil
}

// describeOne prints one pod or Job with the events about it.
func (v *viewer) describeOne(ctx context.Context, w io.Writer, obj runtime.Object, now time.Time) error {
	m := metaOf(obj)
	events, err := v.s.EventsFor(ctx, m.GetNamespace(), m.GetUID())
	if err != nil {
		return err
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		return printers.DescribePod(w, o, events, now)
	case *batchv1.Job:
		return printers.DescribeJob(w, o, events, now)
	}
	return fmt.Errorf("describe: unexpected %T", obj)
}
