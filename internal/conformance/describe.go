package conformance

import (
	"fmt"
	"strings"
	"time"

	"github.com/podrun/podrun/internal/podworker"
)

// Describe renders a run record compactly for failure messages: every
// attempt, every status change and every event, with times relative to
// the pod's start.
func Describe(r *podworker.Record) string {
	if r == nil {
		return "(no run record)"
	}
	var b strings.Builder
	var t0 time.Time
	if r.StartTime != nil {
		t0 = *r.StartTime
	}
	ts := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return fmt.Sprintf("%+.3fs", t.Sub(t0).Seconds())
	}
	fmt.Fprintf(&b, "pod %s/%s deleted %s gone %s\n", r.Namespace, r.Name, ts(r.DeletedAt), ts(r.FinishedAt))
	for _, c := range r.Containers {
		for _, a := range c.Attempts {
			code := "-"
			if a.ExitCode != nil {
				code = fmt.Sprint(*a.ExitCode)
			}
			fmt.Fprintf(&b, "  %s#%d (%s): start %s started %s exit %s code %s %s", c.Name, a.Attempt+1, c.Kind,
				ts(a.StartedAt), ts(a.StartedTrueAt), ts(a.FinishedAt), code, a.Reason)
			if k := a.Kill; k != nil {
				fmt.Fprintf(&b, " killed for %s at %s (grace %gs) signal %s SIGKILL %s", a.KilledFor, ts(&k.StartedAt), k.GraceSeconds, ts(k.SignaledAt), ts(k.KilledAt))
			}
			b.WriteByte('\n')
		}
	}
	for _, s := range r.StatusHistory {
		at := s.At
		fmt.Fprintf(&b, "  %s %s %s %s %s\n", ts(&at), s.Phase, s.Columns.Status, s.Columns.Ready, s.Columns.Restarts)
	}
	for _, ev := range r.Events {
		ft := ev.FirstTime
		fmt.Fprintf(&b, "  event %s %s %s x%d: %s\n", ts(&ft), ev.Reason, ev.Object, ev.Count, ev.Message)
	}
	return b.String()
}
