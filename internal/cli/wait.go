package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"github.com/podrun/podrun/internal/store"
)

// waitOptions are the flags of `podrun wait`.
type waitOptions struct {
	namespace string
	forCond   string
	timeout   time.Duration
	selector  string
	all       bool
}

// waitTargets lists the objects reqs name, or those of each kind that sel
// matches now.
func (v *viewer) waitTargets(ctx context.Context, ns string, reqs []resourceRequest, sel labels.Selector) ([]waitTarget, error) {
	var targets []waitTarget
	for _, r := range reqs {
		for _, n := range r.names {
			targets = append(targets, waitTarget{r.kind, n})
		}
		if len(r.names) > 0 {
			continue
		}
		found, _, err := v.fetch(ctx, r, ns, sel)
		if err != nil {
			return nil, err
		}
		for _, it := range found {
			targets = append(targets, waitTarget{r.kind, metaOf(it.obj).GetName()})
		}
	}
	return targets, nil
}

// newWaitCommand returns `podrun wait`: kubectl wait on pods and Jobs of
// the state directory, woken by the store's watch.
func newWaitCommand(g *globalOptions, streams Streams) *cobra.Command {
	return waitCommand(g, streams, clock.RealClock{})
}

// waitCommand is newWaitCommand with the clock that measures --timeout.
func waitCommand(g *globalOptions, streams Streams, clk clock.Clock) *cobra.Command {
	o := &waitOptions{}
	cmd := &cobra.Command{
		Use:   "wait --for=condition=NAME[=VALUE]|create|delete (pod/NAME|job/NAME)... | (pods|jobs) (-l SELECTOR|--all) [--timeout D]",
		Short: "Wait until pods or Jobs meet a condition or are deleted, as kubectl wait does",
		RunE: func(cmd *cobra.Command, args []string) error {
			cond, err := parseWaitCondition(o.forCond)
			if err != nil {
				return err
			}
			reqs, err := parseResources(args)
			if err != nil {
				return err
			}
			sel, err := labels.Parse(o.selector)
			if err != nil {
				return InputError(fmt.Errorf("invalid label selector %q: %w", o.selector, err))
			}
			for _, r := range reqs {
				if r.kind == eventKind {
					return InputError(errors.New("wait works on pods and Jobs"))
				}
				if len(r.names) == 0 && o.selector == "" && !o.all {
					return InputError(errors.New("resource name must be provided"))
				}
				if len(r.names) > 0 && (o.selector != "" || o.all) {
					return InputError(errors.New("name cannot be provided when a selector or --all is specified"))
				}
			}
			v, err := openViewer(g, streams, clk)
			if err != nil {
				return err
			}
			targets, err := v.waitTargets(cmd.Context(), o.namespace, reqs, sel)
			if err != nil {
				return err
			}
			if len(targets) == 0 {
				return reportErrors(streams.ErrOut, []error{errors.New("no matching resources found")})
			}
			return v.wait(cmd.Context(), o, cond, targets)
		},
	}
	addNamespaceFlags(cmd, &o.namespace, nil)
	cmd.Flags().StringVarP(&o.selector, "selector", "l", "", "wait for the objects this label selector matches now")
	cmd.Flags().BoolVar(&o.all, "all", false, "wait for every object of the given kinds in the namespace")
	cmd.Flags().StringVar(&o.forCond, "for", "", "what to wait for: create, delete, or condition=NAME[=VALUE] (Ready, Initialized, ContainersReady, PodScheduled, Complete, Failed); VALUE defaults to true")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 30*time.Second, "how long to wait; 0 checks once, a negative value waits a week")
	return cmd
}

// waitCondition is what --for asks for.
type waitCondition struct {
	created bool
	deleted bool
	name    string // the condition type
	status  string // its wanted status
}

// parseWaitCondition reads --for as kubectl does.
func parseWaitCondition(s string) (waitCondition, error) {
	if strings.EqualFold(s, "delete") {
		return waitCondition{deleted: true}, nil
	}
	if strings.EqualFold(s, "create") {
		return waitCondition{created: true}, nil
	}
	if rest, ok := strings.CutPrefix(s, "condition="); ok && rest != "" {
		name, status, ok := strings.Cut(rest, "=")
		if !ok {
			status = "true"
		}
		return waitCondition{name: name, status: status}, nil
	}
	return waitCondition{}, InputError(fmt.Errorf("unrecognized condition: %q", s))
}

// met reports whether obj's conditions satisfy c.
func (c waitCondition) met(obj runtime.Object) bool {
	type cond struct{ typ, status string }
	var conds []cond
	switch o := obj.(type) {
	case *corev1.Pod:
		for _, pc := range o.Status.Conditions {
			conds = append(conds, cond{string(pc.Type), string(pc.Status)})
		}
	case *batchv1.Job:
		for _, jc := range o.Status.Conditions {
			conds = append(conds, cond{string(jc.Type), string(jc.Status)})
		}
	}
	for _, x := range conds {
		if strings.EqualFold(x.typ, c.name) {
			return strings.EqualFold(x.status, c.status)
		}
	}
	return false
}

// waitTarget is one object to wait for.
type waitTarget struct {
	kind resourceKind
	name string
}

// ref is kubectl's "pods/NAME" of its wait errors.
func (t waitTarget) ref() string { return t.kind.plural() + "/" + t.name }

// wait waits for each target in turn, within one deadline, printing
// "KIND/NAME condition met" for each as kubectl does.
func (v *viewer) wait(ctx context.Context, o *waitOptions, cond waitCondition, targets []waitTarget) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes, err := v.s.Watch(ctx, o.namespace) // before the first read
	if err != nil {
		return err
	}
	timeout := o.timeout
	if timeout < 0 {
		timeout = 7 * 24 * time.Hour
	}
	// The timer is armed when a first object has to be waited for.
	var timer clock.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	expired := func() <-chan time.Time {
		if timer == nil {
			timer = v.clock.NewTimer(timeout)
		}
		return timer.C()
	}
	for _, t := range targets {
		done, err := v.waitOne(ctx, o.namespace, cond, t, changes, expired, timeout == 0)
		if err != nil {
			return reportErrors(v.streams.ErrOut, []error{err})
		}
		if done {
			fmt.Fprintf(v.streams.Out, "%s/%s condition met\n", strings.ToLower(t.kind.groupKind().String()), t.name)
		}
	}
	return nil
}

// waitOne waits until t meets cond. It reports false without error when
// t, waited on for deletion, did not exist.
func (v *viewer) waitOne(ctx context.Context, ns string, cond waitCondition, t waitTarget, changes <-chan store.Change, expired func() <-chan time.Time, once bool) (bool, error) {
	obj, err := t.kind.get(ctx, v.s, ns, t.name)
	missing := errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid)
	switch {
	case missing && cond.deleted:
		return false, nil
	case missing && cond.created:
		obj = nil
	case missing:
		return false, notFound(t.kind, t.name)
	case err != nil:
		return false, err
	}
	var uid types.UID
	if obj != nil {
		uid = metaOf(obj).GetUID()
		v.adoptObject(ctx, obj) // its supervisor may have died
	}
	for {
		if cond.created {
			if obj != nil {
				return true, nil
			}
		} else if cond.deleted {
			if obj == nil || metaOf(obj).GetUID() != uid {
				return true, nil
			}
		} else {
			if obj == nil {
				return false, notFound(t.kind, t.name)
			}
			if cond.met(obj) {
				return true, nil
			}
		}
		if once {
			return false, fmt.Errorf("condition not met for %s", t.ref())
		}
		select {
		case <-expired():
			if cond.created { // kubectl names no object here
				return false, errors.New("timed out waiting for the condition")
			}
			return false, fmt.Errorf("timed out waiting for the condition on %s", t.ref())
		case <-ctx.Done():
			return false, ctx.Err()
		case c, ok := <-changes:
			if !ok {
				return false, ctx.Err()
			}
			if !c.Resync && (c.Kind != t.kind.storeKind() || c.Name != t.name) {
				continue
			}
		}
		obj, err = t.kind.get(ctx, v.s, ns, t.name)
		if errors.Is(err, store.ErrNotFound) {
			obj, err = nil, nil
		}
		if err != nil {
			return false, err
		}
	}
}
