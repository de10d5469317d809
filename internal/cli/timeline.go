package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/utils/clock"

	"github.com/podrun/podrun/internal/podworker"
	"github.com/podrun/podrun/internal/store"
)

// timelineOptions are the flags of `podrun timeline`.
type timelineOptions struct {
	namespace string
	output    string
}

// newTimelineCommand returns `podrun timeline`: the run record of a pod
// (every container attempt with its times, the status history and the
// events), as JSON or as a table of attempts.
func newTimelineCommand(g *globalOptions, streams Streams) *cobra.Command {
	return timelineCommand(g, streams, clock.RealClock{})
}

// timelineCommand is newTimelineCommand with a clock, like the other views.
func timelineCommand(g *globalOptions, streams Streams, clk clock.Clock) *cobra.Command {
	o := &timelineOptions{}
	cmd := &cobra.Command{
		Use:   "timeline POD [-o json]",
		Short: "Show the run record of a pod: each container attempt with its times",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.output != "" && o.output != "json" {
				return InputError(fmt.Errorf("timeline: unknown output format %q (want json or nothing)", o.output))
			}
			name := args[0]
			if typ, n, ok := strings.Cut(name, "/"); ok {
				if k, err := kindOf(typ); err != nil || k != podKind {
					return InputError(fmt.Errorf("timeline shows pods only, not %q", typ))
				}
				name = n
			}
			v, err := openViewer(g, streams, clk)
			if err != nil {
				return err
			}
			return v.timeline(cmd.Context(), o, name)
		},
	}
	addNamespaceFlags(cmd, &o.namespace, nil)
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "json prints the whole run record")
	return cmd
}

// timeline prints the run record of the pod ns/name.
func (v *viewer) timeline(ctx context.Context, o *timelineOptions, name string) error {
	raw, err := v.s.GetRecord(ctx, o.namespace, name)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		if _, perr := v.s.GetPod(ctx, o.namespace, name); perr == nil {
			return &ExitError{Code: ExitFailed, Err: fmt.Errorf("pod %q has no run record yet", name)}
		}
		return reportErrors(v.streams.ErrOut, []error{notFound(podKind, name)})
	}
	if err != nil {
		return err
	}
	var rec podworker.Record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return fmt.Errorf("run record of pod %s/%s: %w", o.namespace, name, err)
	}
	if o.output == "json" {
		out, err := json.MarshalIndent(&rec, "", "    ")
		if err != nil {
			return fmt.Errorf("run record of pod %s/%s: %w", o.namespace, name, err)
		}
		_, err = fmt.Fprintf(v.streams.Out, "%s\n", out)
		return err
	}
	return printAttempts(v.streams.Out, &rec)
}

// printAttempts prints one row per container attempt; times are offsets
// from the pod's start, so that the order reads at a glance.
func printAttempts(w io.Writer, rec *podworker.Record) error {
	origin := recordOrigin(rec)
	if !origin.IsZero() {
		fmt.Fprintf(w, "Pod %s/%s started %s\n", rec.Namespace, rec.Name, origin.UTC().Format(time.RFC3339Nano))
	}
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER\tKIND\tATTEMPT\tSTARTED\tSTARTED-TRUE\tFINISHED\tEXIT\tREASON")
	for _, c := range rec.Containers {
		if len(c.Attempts) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t-\tnever started\n", c.Name, c.Kind)
		}
		for _, a := range c.Attempts {
			exit := "-"
			if a.ExitCode != nil {
				exit = strconv.Itoa(int(*a.ExitCode))
			}
			reason := a.Reason
			if reason == "" {
				reason = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Kind, a.Attempt,
				offset(a.StartedAt, origin), offset(a.StartedTrueAt, origin), offset(a.FinishedAt, origin), exit, reason)
		}
	}
	return tw.Flush()
}

// recordOrigin is the time offsets count from: the pod's start, else its
// first recorded time.
func recordOrigin(rec *podworker.Record) time.Time {
	if rec.StartTime != nil {
		return *rec.StartTime
	}
	var first time.Time
	for _, c := range rec.Containers {
		for _, a := range c.Attempts {
			for _, t := range []*time.Time{a.CreatedAt, a.StartedAt} {
				if t != nil && (first.IsZero() || t.Before(first)) {
					first = *t
				}
			}
		}
	}
	return first
}

// offset prints t as "+1.234s" after origin, "-" when absent.
func offset(t *time.Time, origin time.Time) string {
	if t == nil {
		return "-"
	}
	d := t.Sub(origin)
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	return fmt.Sprintf("%s%.3fs", sign, d.Seconds())
}
