package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/podrun/podrun/internal/backend/local"
	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/store"
)

// applyOptions are the flags of `podrun apply`.
type applyOptions struct {
	files             []string
	maxRestartBackoff time.Duration
	runtime           string
}

// newApplyCommand returns `podrun apply -f FILE`: store each Pod and Job
// and start a detached supervisor for it, as a cluster would schedule it.
func newApplyCommand(g *globalOptions, streams Streams) *cobra.Command {
	o := &applyOptions{}
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Start the Pods and Jobs of a manifest in the background",
		Long: `Apply validates the manifest and starts every Pod and Job in it on this machine
under its own background supervisor, then returns at once: follow them with
get, describe, logs, events and wait, and stop them with delete.

Printing follows kubectl: "pod/NAME created", or "unchanged" when the object
already runs with the same spec. A pod's spec cannot be changed in place:
delete it first. Exit codes: 0 when every object was applied, 1 when one was
refused, 2 for bad input (nothing was started), 3 for a system error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), g, streams)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.files, "filename", "f", nil, "manifest file, directory (*.yaml, *.yml, *.json) or - for stdin; repeatable")
	f.DurationVar(&o.maxRestartBackoff, "max-restart-backoff", lifecycle.MaxBackoff, "crash-loop back-off ceiling, as the kubelet's crashLoopBackOff.maxContainerRestartPeriod (1s to 300s)")
	f.StringVar(&o.runtime, "runtime", "runc", "OCI runtime: runc, crun or the path of a runc-compatible binary")
	return cmd
}

func (o *applyOptions) run(ctx context.Context, g *globalOptions, streams Streams) error {
	w, err := loadWorkload("apply", g, streams, o.files, o.maxRestartBackoff)
	if err != nil {
		return err
	}
	pods, jobs, set, settings := w.pods, w.jobs, w.set, w.settings
	if err := local.CheckRuntime(o.runtime); err != nil {
		return &ExitError{Code: ExitRuntime, Err: err}
	}

	st, err := openStore(g)
	if err != nil {
		return &ExitError{Code: ExitRuntime, Err: err}
	}
	results := local.Apply(ctx, st, pods, jobs, local.ApplyOptions{
		Runtime: o.runtime, Settings: settings,
		ConfigMaps: byName(set.ConfigMaps()), Secrets: byName(set.Secrets()),
		Launch: launcher(st), Now: time.Now(),
	})
	return printApplied(streams, results)
}

// printApplied prints kubectl apply's lines and picks the exit code: 1
// if an object was refused, 3 if a system error stopped one.
func printApplied(streams Streams, results []local.Applied) error {
	code := ExitOK
	for _, r := range results {
		if r.Err == nil {
			fmt.Fprintf(streams.Out, "%s/%s %s\n", resourcePrefix(r.Kind), r.Name, r.Action)
			continue
		}
		var imm *local.ImmutableError
		if errors.As(r.Err, &imm) {
			fmt.Fprintln(streams.ErrOut, imm.Error())
			code = max(code, ExitFailed)
			continue
		}
		fmt.Fprintf(streams.ErrOut, "error: %v\n", r.Err)
		code = ExitRuntime
	}
	if code != ExitOK {
		return &ExitError{Code: code}
	}
	return nil
}

// resourcePrefix is kubectl's TYPE in TYPE/NAME: pod, job.batch.
func resourcePrefix(k local.Kind) string {
	if k == local.KindJob {
		return "job.batch"
	}
	return "pod"
}

// launcher starts supervisors by running this same binary with the
// store's root.
func launcher(st *store.Store) *local.Launcher {
	exe := "/proc/self/exe"
	if p, err := os.Executable(); err == nil {
		exe = p
	}
	return &local.Launcher{Command: []string{exe, "--root", st.Root()}, Root: st.Root()}
}

// ensureSupervised starts a new supervisor for the pod ns/name if its
// supervisor died while it ran (local.EnsureSupervised). The read-side
// verbs (get, describe, logs, wait) call it for each pod they show; a
// failure to start one is reported on errOut and otherwise ignored, so
// that reading never fails because of it.
func ensureSupervised(ctx context.Context, st *store.Store, errOut io.Writer, ns, name string) {
	if _, err := local.EnsureSupervised(ctx, st, launcher(st), ns, name); err != nil {
		fmt.Fprintf(errOut, "warning: pod %s/%s: %v\n", ns, name, err)
	}
}
