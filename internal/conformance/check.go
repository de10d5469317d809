package conformance

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/podrun/podrun/internal/podworker"
)

// simultaneousWindow is how close "simultaneous" events must be.
const simultaneousWindow = time.Second

// markSlack widens a marker's instant to the whole second its epoch
// timestamp stands for.
const markSlack = time.Second

// Check checks e against o and returns every failed expectation, each a
// sentence naming the key, the expectation and what was observed. Job,
// pods, validation keys and variants are not checked here.
func Check(e Expect, o *Observation) []string {
	c := &checker{o: o}
	c.order(e.Order)
	c.overlap(e.Overlap)
	c.simultaneous(e.Simultaneous)
	c.during(e.During)
	c.gaps(e.Gaps)
	c.neverStarts(e.NeverStarts)
	c.marks(e)
	if e.Invariant != nil {
		for _, sc := range o.Record.StatusHistory {
			c.podFacts(fmt.Sprintf("invariant at %s", sc.At.Format(time.RFC3339Nano)), *e.Invariant, &sc)
		}
	}
	c.containers(e.Containers)
	for _, s := range e.Snapshots {
		t, ok := c.time("snapshot", s.At)
		if !ok {
			continue
		}
		sc := o.StatusAt(t)
		if sc == nil {
			c.failf("snapshot at %s: no status recorded by then", s.At)
			continue
		}
		c.podFacts("snapshot at "+s.At, s.PodFacts, sc)
	}
	if e.Pod != nil {
		if f := o.Final(); f == nil {
			c.failf("pod: no status recorded")
		} else {
			c.podFacts("pod", *e.Pod, f)
		}
	}
	return c.fails
}

type checker struct {
	o     *Observation
	fails []string
}

func (c *checker) failf(format string, args ...any) {
	c.fails = append(c.fails, fmt.Sprintf(format, args...))
}

// time resolves ref, recording a failure if it did not happen.
func (c *checker) time(key, ref string) (time.Time, bool) {
	t, ok, err := c.o.Time(ref)
	if err != nil {
		c.failf("%s: %v", key, err)
		return time.Time{}, false
	}
	if !ok {
		c.failf("%s: event %s never happened", key, ref)
		return time.Time{}, false
	}
	return t, true
}

func fmtT(t time.Time) string { return t.UTC().Format("15:04:05.000") }

func (c *checker) order(pairs [][]string) {
	for _, p := range pairs {
		if len(p) != 2 {
			c.failf("order %v: want a pair", p)
			continue
		}
		a, okA := c.time("order", p[0])
		b, okB := c.time("order", p[1])
		if okA && okB && a.After(b) {
			c.failf("order: %s (%s) must not be after %s (%s)", p[0], fmtT(a), p[1], fmtT(b))
		}
	}
}

// interval is one attempt's running time; an open end is far away.
type interval struct{ from, to time.Time }

func (c *checker) intervals(name string) []interval {
	cr := c.o.container(name)
	if cr == nil {
		return nil
	}
	var out []interval
	for _, a := range cr.Attempts {
		if a.StartedAt == nil {
			continue
		}
		iv := interval{from: *a.StartedAt, to: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}
		if a.FinishedAt != nil {
			iv.to = *a.FinishedAt
		}
		out = append(out, iv)
	}
	return out
}

func (c *checker) overlap(pairs [][]string) {
	for _, p := range pairs {
		if len(p) != 2 {
			c.failf("overlap %v: want a pair", p)
			continue
		}
		ok := false
		for _, x := range c.intervals(p[0]) {
			for _, y := range c.intervals(p[1]) {
				if x.from.Before(y.to) && y.from.Before(x.to) {
					ok = true
				}
			}
		}
		if !ok {
			c.failf("overlap: %s and %s never ran at the same moment", p[0], p[1])
		}
	}
}

func (c *checker) simultaneous(groups [][]string) {
	for _, g := range groups {
		var ts []time.Time
		for _, ref := range g {
			if t, ok := c.time("simultaneous", ref); ok {
				ts = append(ts, t)
			}
		}
		if len(ts) != len(g) {
			continue
		}
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
		if d := ts[len(ts)-1].Sub(ts[0]); d > simultaneousWindow {
			c.failf("simultaneous %v: spread over %s, want within %s", g, d, simultaneousWindow)
		}
	}
}

func (c *checker) during(ds []During) {
	for _, d := range ds {
		t, ok := c.time("during", "mark:"+d.Mark)
		if !ok {
			continue
		}
		for _, name := range d.Running {
			running := false
			for _, iv := range c.intervals(name) {
				// the mark stands for [t, t+1s): running at some instant of it
				if iv.from.Before(t.Add(markSlack)) && iv.to.After(t) {
					running = true
				}
			}
			if !running {
				c.failf("during mark %s (%s): %s was not running", d.Mark, fmtT(t), name)
			}
		}
	}
}

func (c *checker) gaps(gs []Gap) {
	for _, g := range gs {
		from, okF := c.time("gap", g.From)
		to, okT := c.time("gap", g.To)
		if !okF || !okT {
			continue
		}
		d := to.Sub(from).Seconds()
		if g.MinSeconds != nil && d < *g.MinSeconds {
			c.failf("gap %s -> %s: %.3fs, want at least %gs", g.From, g.To, d, *g.MinSeconds)
		}
		if g.MaxSeconds != nil && d > *g.MaxSeconds {
			c.failf("gap %s -> %s: %.3fs, want at most %gs", g.From, g.To, d, *g.MaxSeconds)
		}
	}
}

func (c *checker) neverStarts(names []string) {
	for _, n := range names {
		if iv := c.intervals(n); len(iv) > 0 {
			c.failf("neverStarts: %s started at %s", n, fmtT(iv[0].from))
		}
	}
}

func (c *checker) marks(e Expect) {
	has := func(tok string) bool {
		for _, m := range c.o.Marks {
			if m.Token == tok {
				return true
			}
		}
		return false
	}
	for _, tok := range e.MarksPresent {
		if !has(tok) {
			c.failf("marksPresent: %s not in the marker file", tok)
		}
	}
	for _, tok := range e.MarksAbsent {
		if has(tok) {
			c.failf("marksAbsent: %s is in the marker file", tok)
		}
	}
	for _, ma := range e.MarksAfter {
		anchor := -1
		for i, m := range c.o.Marks {
			if m.Token == ma.Anchor {
				anchor = i
				break
			}
		}
		if anchor < 0 {
			c.failf("marksAfter: anchor %s not in the marker file", ma.Anchor)
			continue
		}
		found := false
		for _, m := range c.o.Marks[anchor+1:] {
			if m.Token == ma.Token {
				found = true
			}
		}
		if found != ma.Present {
			c.failf("marksAfter: %s after %s present=%v, want %v", ma.Token, ma.Anchor, found, ma.Present)
		}
	}
}

func (c *checker) containers(facts map[string]ContainerFacts) {
	names := make([]string, 0, len(facts))
	for n := range facts {
		names = append(names, n)
	}
	sort.Strings(names)
	final := c.o.Final()
	for _, name := range names {
		f := facts[name]
		cr := c.o.container(name)
		if cr == nil {
			c.failf("containers.%s: no such container", name)
			continue
		}
		var state *podworker.ContainerState
		if final != nil {
			for i := range final.Containers {
				if final.Containers[i].Name == name {
					state = &final.Containers[i]
				}
			}
		}
		n := len(cr.Attempts)
		restarts := int32(max(n-1, 0))
		if state != nil {
			restarts = state.RestartCount
		}
		attempt := func(i int) *podworker.AttemptRecord {
			if i < 0 || i >= n {
				return nil
			}
			return &cr.Attempts[i]
		}
		exitOf := func(key string, a *podworker.AttemptRecord, want *int32) {
			if want == nil {
				return
			}
			if a == nil || a.ExitCode == nil {
				c.failf("containers.%s.%s: want %d, the attempt has no exit", name, key, *want)
			} else if *a.ExitCode != *want {
				c.failf("containers.%s.%s: %d, want %d", name, key, *a.ExitCode, *want)
			}
		}
		reasonOf := func(key string, a *podworker.AttemptRecord, want string) {
			if want == "" {
				return
			}
			if a == nil || a.Reason != want {
				got := "<none>"
				if a != nil {
					got = a.Reason
				}
				c.failf("containers.%s.%s: %s, want %s", name, key, got, want)
			}
		}
		exitOf("exitCode", attempt(n-1), f.ExitCode)
		reasonOf("reason", attempt(n-1), f.Reason)
		exitOf("lastExitCode", attempt(n-2), f.LastExitCode)
		reasonOf("lastReason", attempt(n-2), f.LastReason)
		exitOf("firstExitCode", attempt(0), f.FirstExitCode)
		if f.Restarts != nil && restarts != *f.Restarts {
			c.failf("containers.%s.restarts: %d, want %d", name, restarts, *f.Restarts)
		}
		if f.RestartsMin != nil && restarts < *f.RestartsMin {
			c.failf("containers.%s.restartsMin: %d restarts, want at least %d", name, restarts, *f.RestartsMin)
		}
		if f.Attempts != nil && n != *f.Attempts {
			c.failf("containers.%s.attempts: %d, want %d", name, n, *f.Attempts)
		}
		if state == nil {
			if f.FinalState != "" || f.WaitingReason != "" || len(f.WaitingReasonOneOf) > 0 || f.Ready != nil || f.Started != nil {
				c.failf("containers.%s: no final status", name)
			}
			continue
		}
		if f.FinalState != "" && state.State != f.FinalState {
			c.failf("containers.%s.finalState: %s, want %s", name, state.State, f.FinalState)
		}
		waiting := ""
		if state.State == "waiting" {
			waiting = state.Reason
		}
		if f.WaitingReason != "" && waiting != f.WaitingReason {
			c.failf("containers.%s.waitingReason: %q, want %s", name, waiting, f.WaitingReason)
		}
		if len(f.WaitingReasonOneOf) > 0 && !slices.Contains(f.WaitingReasonOneOf, waiting) {
			c.failf("containers.%s.waitingReasonOneOf: %q, want one of %v", name, waiting, f.WaitingReasonOneOf)
		}
		if f.Ready != nil && state.Ready != *f.Ready {
			c.failf("containers.%s.ready: %v, want %v", name, state.Ready, *f.Ready)
		}
		if f.Started != nil && state.Started != *f.Started {
			c.failf("containers.%s.started: %v, want %v", name, state.Started, *f.Started)
		}
	}
}

// podFacts checks f against the status sc; key names the assertion.
func (c *checker) podFacts(key string, f PodFacts, sc *podworker.StatusChange) {
	at := " (status of " + fmtT(sc.At) + ")"
	if f.Phase != "" && string(sc.Phase) != f.Phase {
		c.failf("%s: phase %s, want %s%s", key, sc.Phase, f.Phase, at)
	}
	if len(f.PhaseOneOf) > 0 && !slices.Contains(f.PhaseOneOf, string(sc.Phase)) {
		c.failf("%s: phase %s, want one of %v%s", key, sc.Phase, f.PhaseOneOf, at)
	}
	if f.Reason != "" && sc.Reason != f.Reason {
		c.failf("%s: reason %q, want %q%s", key, sc.Reason, f.Reason, at)
	}
	cond := func(typ string) *podworker.ConditionState {
		for i := range sc.Conditions {
			if string(sc.Conditions[i].Type) == typ {
				return &sc.Conditions[i]
			}
		}
		return nil
	}
	for _, m := range []struct {
		name string
		want map[string]string
		get  func(*podworker.ConditionState) string
	}{
		{"conditions", f.Conditions, func(s *podworker.ConditionState) string { return string(s.Status) }},
		{"conditionReasons", f.ConditionReasons, func(s *podworker.ConditionState) string { return s.Reason }},
		{"conditionMessages", f.ConditionMessages, func(s *podworker.ConditionState) string { return s.Message }},
	} {
		for _, typ := range sortedKeys(m.want) {
			got := "<absent>"
			if s := cond(typ); s != nil {
				got = m.get(s)
			}
			if got != m.want[typ] {
				c.failf("%s: %s.%s %q, want %q%s", key, m.name, typ, got, m.want[typ], at)
			}
		}
	}
	if f.StatusColumn != "" && sc.Columns.Status != f.StatusColumn {
		c.failf("%s: STATUS %q, want %q%s", key, sc.Columns.Status, f.StatusColumn, at)
	}
	if len(f.StatusColumnOneOf) > 0 && !slices.Contains(f.StatusColumnOneOf, sc.Columns.Status) {
		c.failf("%s: STATUS %q, want one of %q%s", key, sc.Columns.Status, f.StatusColumnOneOf, at)
	}
	if f.ReadyColumn != "" && sc.Columns.Ready != f.ReadyColumn {
		c.failf("%s: READY %q, want %q%s", key, sc.Columns.Ready, f.ReadyColumn, at)
	}
	if f.RestartsColumn != "" && sc.Columns.Restarts != f.RestartsColumn {
		c.failf("%s: RESTARTS %q, want %q%s", key, sc.Columns.Restarts, f.RestartsColumn, at)
	}
	if f.RestartsColumnPattern != "" {
		re, err := regexp.Compile(f.RestartsColumnPattern)
		if err != nil {
			c.failf("%s: restartsColumnPattern: %v", key, err)
		} else if !re.MatchString(sc.Columns.Restarts) {
			c.failf("%s: RESTARTS %q does not match %s%s", key, sc.Columns.Restarts, f.RestartsColumnPattern, at)
		}
	}
	state := func(name string) *podworker.ContainerState {
		for i := range sc.Containers {
			if sc.Containers[i].Name == name {
				return &sc.Containers[i]
			}
		}
		return nil
	}
	for _, name := range sortedKeys(f.Ready) {
		if s := state(name); s == nil || s.Ready != f.Ready[name] {
			c.failf("%s: ready.%s want %v%s", key, name, f.Ready[name], at)
		}
	}
	for _, name := range sortedKeys(f.Started) {
		if s := state(name); s == nil || s.Started != f.Started[name] {
			c.failf("%s: started.%s want %v%s", key, name, f.Started[name], at)
		}
	}
	waitingOf := func(name string) string {
		if s := state(name); s != nil && s.State == "waiting" {
			return s.Reason
		}
		return ""
	}
	for _, name := range sortedKeys(f.WaitingReasons) {
		if got := waitingOf(name); got != f.WaitingReasons[name] {
			c.failf("%s: waitingReasons.%s %q, want %q%s", key, name, got, f.WaitingReasons[name], at)
		}
	}
	for _, name := range sortedKeys(f.WaitingReasonsOneOf) {
		if got := waitingOf(name); !slices.Contains(f.WaitingReasonsOneOf[name], got) {
			c.failf("%s: waitingReasonsOneOf.%s %q, want one of %v%s", key, name, got, f.WaitingReasonsOneOf[name], at)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// String renders failures one per line.
func String(fails []string) string { return strings.Join(fails, "\n") }
