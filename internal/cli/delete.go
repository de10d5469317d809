package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/podrun/podrun/internal/backend/local"
	"github.com/podrun/podrun/internal/manifest"
	"github.com/podrun/podrun/internal/store"
)

// deleteOptions are the flags of `podrun delete`, kubectl delete's.
type deleteOptions struct {
	files          []string
	namespace      string
	all            bool
	gracePeriod    int
	now            bool
	force          bool
	wait           bool
	timeout        time.Duration
	ignoreNotFound bool
}

// forceWarning is kubectl's warning for --force --grace-period=0.
const forceWarning = "Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely."

// newDeleteCommand returns `podrun delete (TYPE NAME... | TYPE/NAME... |
// -f FILE | TYPE --all)`: delete pods and Jobs as kubectl delete does —
// gracefully, by the pod's owner, waiting until they are gone.
func newDeleteCommand(g *globalOptions, streams Streams) *cobra.Command {
	o := &deleteOptions{}
	cmd := &cobra.Command{
		Use:   "delete (TYPE NAME... | TYPE/NAME... | -f FILE | TYPE --all)",
		Short: "Delete pods and Jobs, terminating them gracefully",
		Long: `Delete marks each pod deleted, as the API server does: its supervisor
terminates it the kubelet's way (preStop hooks, regular containers, then
sidecars in reverse order) within the grace period, and removes it. With
--wait (the default) delete returns once the objects are gone.

Deleting a Job deletes its pods (background propagation). --grace-period=0
needs --force, which kills at once.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.ignoreNotFound = o.ignoreNotFound || (o.all && !cmd.Flags().Changed("ignore-not-found"))
			return o.run(cmd.Context(), g, streams, args)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.files, "filename", "f", nil, "manifest file or directory naming the objects to delete; repeatable")
	addNamespaceFlags(cmd, &o.namespace, nil)
	f.BoolVar(&o.all, "all", false, "delete every object of the given types in the namespace")
	f.IntVar(&o.gracePeriod, "grace-period", -1, "seconds given to the pod to terminate gracefully; -1 uses the pod's own; 0 only with --force")
	f.BoolVar(&o.now, "now", false, "signal the pods to stop at once (--grace-period=1)")
	f.BoolVar(&o.force, "force", false, "with --grace-period=0, kill at once")
	f.BoolVar(&o.wait, "wait", true, "wait until the objects are gone before returning")
	f.DurationVar(&o.timeout, "timeout", 0, "give up waiting after this long (0 waits a week)")
	f.BoolVar(&o.ignoreNotFound, "ignore-not-found", false, "treat objects that do not exist as deleted")
	return cmd
}

// deleteTarget is one object to delete.
type deleteTarget struct {
	kind      resourceKind
	namespace string
	name      string
}

// complete applies kubectl's rules to the grace flags.
func (o *deleteOptions) complete() error {
	if o.now {
		if o.gracePeriod != -1 {
			return errors.New("--now and --grace-period cannot be specified together")
		}
		o.gracePeriod = 1
	}
	if o.gracePeriod == 0 && !o.force {
		o.gracePeriod = 1 // kubectl: --grace-period=0 needs --force
	}
	if o.force && o.gracePeriod < 0 {
		o.gracePeriod = 0
	}
	if o.force && o.gracePeriod > 0 {
		return errors.New("--force and --grace-period greater than 0 cannot be specified together")
	}
	return nil
}

// targets resolves the arguments, files or --all into objects.
func (o *deleteOptions) targets(ctx context.Context, st *store.Store, streams Streams, args []string) ([]deleteTarget, error) {
	switch {
	case len(args) == 0 && len(o.files) == 0:
		return nil, InputError(errors.New("You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'"))
	case len(args) > 0 && len(o.files) > 0:
		return nil, InputError(errors.New("when paths, URLs, or stdin is provided as input, you may not specify resource arguments as well"))
	}
	if len(o.files) > 0 {
		set, err := manifest.Load(o.files, streams.In, manifest.Options{})
		if err != nil {
			return nil, InputError(err)
		}
		var out []deleteTarget
		for _, p := range set.Pods() {
			out = append(out, deleteTarget{podKind, p.Namespace, p.Name})
		}
		for _, j := range set.Jobs() {
			out = append(out, deleteTarget{jobKind, j.Namespace, j.Name})
		}
		return out, nil
	}
	reqs, err := parseResources(args)
	if err != nil {
		return nil, err
	}
	var out []deleteTarget
	for _, r := range reqs {
		if r.kind != podKind && r.kind != jobKind {
			return nil, InputError(fmt.Errorf("podrun deletes pods and jobs, not %s", r.kind.plural()))
		}
		switch {
		case o.all && len(r.names) > 0:
			return nil, InputError(errors.New("name cannot be provided when a selector or --all is specified"))
		case o.all:
			objs, err := r.kind.list(ctx, st, o.namespace)
			if err != nil {
				return nil, err
			}
			for _, obj := range objs {
				m := metaOf(obj)
				out = append(out, deleteTarget{r.kind, m.GetNamespace(), m.GetName()})
			}
		case len(r.names) == 0:
			return nil, InputError(errors.New("resource(s) were provided, but no name was specified"))
		default:
			for _, n := range r.names {
				out = append(out, deleteTarget{r.kind, o.namespace, n})
			}
		}
	}
	return out, nil
}

func (o *deleteOptions) run(ctx context.Context, g *globalOptions, streams Streams, args []string) error {
	if err := o.complete(); err != nil {
		return InputError(err)
	}
	st, err := openStore(g)
	if err != nil {
		return &ExitError{Code: ExitRuntime, Err: err}
	}
	targets, err := o.targets(ctx, st, streams, args)
	if err != nil {
		return err
	}
	if o.force && o.gracePeriod == 0 {
		fmt.Fprintln(streams.ErrOut, forceWarning)
	}
	launch := launcher(st)
	dopts := local.DeleteOptions{Now: time.Now(), Launch: launch}
	if o.gracePeriod >= 0 {
		g := int64(o.gracePeriod)
		dopts.GracePeriod = &g
	}
	var errs []error
	var deleted []deleteTarget
	for _, t := range targets {
		if err := o.deleteOne(ctx, st, launch, t, dopts); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				if !o.ignoreNotFound {
					errs = append(errs, notFound(t.kind, t.name))
				}
				continue
			}
			errs = append(errs, err)
			continue
		}
		deleted = append(deleted, t)
		fmt.Fprintf(streams.Out, "%s %q %s from %s namespace\n", deletedKind(t.kind), t.name, o.operation(), t.namespace)
	}
	if len(deleted) == 0 && len(errs) == 0 {
		fmt.Fprintln(streams.Out, "No resources found")
		return nil
	}
	if o.wait && len(deleted) > 0 {
		if err := o.waitGone(ctx, st, launch, deleted, dopts); err != nil {
			errs = append(errs, err)
		}
	}
	return reportErrors(streams.ErrOut, errs)
}

// operation is kubectl's verb for the deletion.
func (o *deleteOptions) operation() string {
	if o.gracePeriod == 0 {
		return "force deleted"
	}
	return "deleted"
}

// deletedKind is kubectl's kind string in deletion lines: pod, job.batch.
func deletedKind(k resourceKind) string {
	if k == jobKind {
		return "job.batch"
	}
	return "pod"
}

// deleteOne marks one object deleted; a pod whose supervisor died gets a
// new one, so that the deletion is carried out.
func (o *deleteOptions) deleteOne(ctx context.Context, st *store.Store, launch local.Starter, t deleteTarget, dopts local.DeleteOptions) error {
	if t.kind == jobKind {
		_, err := local.MarkJobDeleted(ctx, st, t.namespace, t.name, dopts)
		return err
	}
	done, err := local.MarkPodDeleted(ctx, st, t.namespace, t.name, dopts)
	if err != nil || done == local.DeletionRemoved {
		return err
	}
	if _, err := local.EnsureSupervised(ctx, st, launch, t.namespace, t.name); err != nil {
		return fmt.Errorf("delete pod %s/%s: %w", t.namespace, t.name, err)
	}
	return nil
}

// waitGone waits until every deleted object left the store, within
// --timeout (a week when 0, as kubectl).
func (o *deleteOptions) waitGone(ctx context.Context, st *store.Store, launch local.Starter, targets []deleteTarget, dopts local.DeleteOptions) error {
	timeout := o.timeout
	if timeout == 0 {
		timeout = 168 * time.Hour
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, t := range targets {
		var err error
		if t.kind == jobKind {
			err = local.WaitJobGone(ctx, st, t.namespace, t.name, dopts)
		} else {
			err = local.WaitPodGone(ctx, st, t.namespace, t.name, launch)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("timed out waiting for the condition on %s/%s", t.kind.plural(), t.name)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
