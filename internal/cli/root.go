// Package cli builds podrun's command tree: one file per verb, flags in,
// one call down, print. It never decides lifecycle and never writes to
// os.Stdout directly.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/podrun/podrun/internal/features"
	"github.com/podrun/podrun/internal/manifest"
)

// Streams are the standard streams a command reads and writes.
type Streams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// Interrupts delivers SIGINT and SIGTERM. A command that handles them
	// itself (run) claims them; for every other command the first one
	// cancels the command's context. Nil means none arrive.
	Interrupts <-chan os.Signal
}

// Exit codes podrun returns; see DESIGN.md "Process model".
const (
	ExitOK      = 0 // the pod Succeeded / the Job is Complete
	ExitFailed  = 1 // the pod failed or timed out
	ExitInput   = 2 // bad input: nothing was started
	ExitRuntime = 3 // a runtime or system error
)

// ExitError carries an exit code chosen by a command together with the
// error to print (which may be nil when the command already reported).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit code %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// InputError marks err as bad user input (exit code 2).
func InputError(err error) error { return &ExitError{Code: ExitInput, Err: err} }

// Main runs podrun with args and returns the process exit code.
func Main(ctx context.Context, streams Streams, args []string) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	claimed := make(chan os.Signal, 4)
	var claim atomic.Bool
	if signals := streams.Interrupts; signals != nil {
		go func() {
			for {
				select {
				case sig := <-signals:
					if claim.Load() {
						claimed <- sig
					} else {
						cancel()
					}
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	streams.Interrupts = claimed
	root := newRootCommand(streams, &claim)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		var invalid *manifest.ValidationError
		switch {
		case errors.As(exit.Err, &invalid):
			// As kubectl prints the API server's Invalid: "The Pod "x"
			// is invalid: ...", one line per object, no "error: ".
			fmt.Fprintln(streams.ErrOut, invalid.Error())
		case exit.Err != nil:
			fmt.Fprintf(streams.ErrOut, "error: %v\n", exit.Err)
		}
		return exit.Code
	}
	fmt.Fprintf(streams.ErrOut, "error: %v\n", err)
	if isUsageError(err) {
		return ExitInput
	}
	return ExitRuntime
}

// globalOptions are the flags every verb shares.
type globalOptions struct {
	root         string
	featureGates string
	// gates are featureGates parsed, by checkSharedFlags before any verb
	// runs (the zero value is the release's defaults).
	gates features.Gates
	// claimInterrupts, when set, hands SIGINT/SIGTERM to the command on
	// Streams.Interrupts instead of cancelling its context.
	claimInterrupts *atomic.Bool
}

// NewRootCommand returns the podrun command with every verb attached.
func NewRootCommand(streams Streams) *cobra.Command {
	return newRootCommand(streams, &atomic.Bool{})
}

func newRootCommand(streams Streams, claim *atomic.Bool) *cobra.Command {
	g := &globalOptions{claimInterrupts: claim}
	cmd := &cobra.Command{
		Use:           "podrun",
		Short:         "Run Kubernetes Pods and Jobs on this machine with the kubelet's lifecycle",
		SilenceUsage:  true,
		SilenceErrors: true,
		// Flags every verb shares are checked before any verb runs, so
		// that bad input is exit 2 everywhere.
		PersistentPreRunE: func(c *cobra.Command, _ []string) error { return checkSharedFlags(c, g) },
	}
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	cmd.PersistentFlags().StringVar(&g.root, "root", "", "state directory (default /var/lib/podrun for root, $XDG_DATA_HOME/podrun otherwise)")
	cmd.PersistentFlags().StringVar(&g.featureGates, "feature-gates", "", "comma-separated Name=true|false pairs, as on the kubelet and API server")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	for _, add := range verbs {
		sub := add(g, streams)
		markArgErrorsAsUsage(sub)
		cmd.AddCommand(sub)
	}
	return cmd
}

// checkSharedFlags parses --feature-gates into g.gates, refusing a value
// that does not parse, and refuses a --namespace that is no namespace
// name (a DNS-1123 label).
func checkSharedFlags(c *cobra.Command, g *globalOptions) error {
	gates, err := features.Parse(g.featureGates)
	if err != nil {
		return InputError(fmt.Errorf("invalid --feature-gates: %w", err))
	}
	g.gates = gates
	if f := c.Flags().Lookup("namespace"); f != nil && f.Changed {
		if errs := validation.IsDNS1123Label(f.Value.String()); len(errs) > 0 {
			return InputError(fmt.Errorf("invalid namespace %q: %s", f.Value.String(), strings.Join(errs, "; ")))
		}
	}
	return nil
}

// verbs lists the constructors of podrun's subcommands; each verb file
// appends nothing at init time: the list is written out here.
var verbs = []func(*globalOptions, Streams) *cobra.Command{
	newRunCommand,
	newImageCommand,
	newValidateCommand,
	newGetCommand,
	newApplyCommand,
	newSuperviseCommand,
	newDeleteCommand,
	newDescribeCommand,
	newLogsCommand,
	newEventsCommand,
	newWaitCommand,
	newTimelineCommand,
}

type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

func isUsageError(err error) bool {
	var u usageError
	return errors.As(err, &u)
}

// markArgErrorsAsUsage makes a wrong number or kind of arguments, like a
// bad flag, a usage error (exit 2), in cmd and its subcommands.
func markArgErrorsAsUsage(cmd *cobra.Command) {
	if check := cmd.Args; check != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		markArgErrorsAsUsage(sub)
	}
}
