package conformance

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/podrun/podrun/internal/podworker"
)

// Observation is what a run produced: the pod's run record and the lines
// of the marker file /shared/marks (nil if the pod has none).
type Observation struct {
	Record *podworker.Record
	Marks  []Mark
}

// Mark is one line of the marker file: "<epoch-seconds> <token>".
type Mark struct {
	At    time.Time
	Token string
}

// ParseMarks parses marker-file lines; malformed lines are skipped.
func ParseMarks(lines []string) []Mark {
	var out []Mark
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 2 {
			continue
		}
		sec, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		out = append(out, Mark{At: time.Unix(sec, 0).UTC(), Token: f[1]})
	}
	return out
}

// Time resolves an event reference of INDEX.md ("main.exit#2 + 3s",
// "mark:sidecar-1:prestop", "delete", ...) against the observation. ok is
// false when the event did not happen; err reports a malformed reference.
func (o *Observation) Time(ref string) (t time.Time, ok bool, err error) {
	base, offset, err := splitOffset(ref)
	if err != nil {
		return time.Time{}, false, err
	}
	t, ok, err = o.baseTime(base)
	if err != nil || !ok {
		return time.Time{}, ok, err
	}
	return t.Add(offset), true, nil
}

// splitOffset splits "EVENT + 3s" into EVENT and 3 s.
func splitOffset(ref string) (string, time.Duration, error) {
	base, off, found := strings.Cut(ref, "+")
	base = strings.TrimSpace(base)
	if !found {
		return base, 0, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(off))
	if err != nil {
		return "", 0, fmt.Errorf("event %q: bad offset: %w", ref, err)
	}
	return base, d, nil
}

func (o *Observation) baseTime(ref string) (time.Time, bool, error) {
	r := o.Record
	switch {
	case ref == "delete":
		return deref(r.DeletedAt)
	case ref == "pod.start":
		return deref(r.StartTime)
	case ref == "pod.gone":
		return deref(r.FinishedAt)
	case strings.HasPrefix(ref, "mark:"):
		tok, which, _ := strings.Cut(strings.TrimPrefix(ref, "mark:"), "#")
		var found []time.Time
		for _, m := range o.Marks {
			if m.Token == tok {
				found = append(found, m.At)
			}
		}
		if len(found) == 0 {
			return time.Time{}, false, nil
		}
		if which == "last" {
			return found[len(found)-1], true, nil
		}
		return found[0], true, nil
	}
	name, what, ok := cutLast(ref, ".")
	if !ok {
		return time.Time{}, false, fmt.Errorf("event %q: want CONTAINER.EVENT", ref)
	}
	c := o.container(name)
	if c == nil {
		return time.Time{}, false, fmt.Errorf("event %q: no container %q in the pod", ref, name)
	}
	what, nth, _ := strings.Cut(what, "#")
	switch what {
	case "start", "exit":
		idx := 0
		switch nth {
		case "", "first":
		case "last":
			idx = len(c.Attempts) - 1
		default:
			n, err := strconv.Atoi(nth)
			if err != nil || n < 1 {
				return time.Time{}, false, fmt.Errorf("event %q: bad attempt number", ref)
			}
			idx = n - 1
		}
		if idx < 0 || idx >= len(c.Attempts) {
			return time.Time{}, false, nil
		}
		if what == "start" {
			return deref(c.Attempts[idx].StartedAt)
		}
		return deref(c.Attempts[idx].FinishedAt)
	case "running":
		for _, sc := range r.StatusHistory {
			for _, cs := range sc.Containers {
				if cs.Name == name && cs.State == "running" {
					return sc.At, true, nil
				}
			}
		}
		return time.Time{}, false, nil
	case "started":
		for _, a := range c.Attempts {
			if a.StartedTrueAt != nil {
				return *a.StartedTrueAt, true, nil
			}
		}
		return time.Time{}, false, nil
	case "ready":
		for _, a := range c.Attempts {
			for _, tr := range a.ReadyTransitions {
				if tr.Ready {
					return tr.At, true, nil
				}
			}
		}
		return time.Time{}, false, nil
	}
	return time.Time{}, false, fmt.Errorf("event %q: unknown event %q", ref, what)
}

func (o *Observation) container(name string) *podworker.ContainerRecord {
	for i := range o.Record.Containers {
		if o.Record.Containers[i].Name == name {
			return &o.Record.Containers[i]
		}
	}
	return nil
}

func deref(t *time.Time) (time.Time, bool, error) {
	if t == nil {
		return time.Time{}, false, nil
	}
	return *t, true, nil
}

// cutLast cuts s around the last sep.
func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// StatusAt returns the pod status in force at t: the last change at or
// before t (nil before the first).
func (o *Observation) StatusAt(t time.Time) *podworker.StatusChange {
	var last *podworker.StatusChange
	for i := range o.Record.StatusHistory {
		if o.Record.StatusHistory[i].At.After(t) {
			break
		}
		last = &o.Record.StatusHistory[i]
	}
	return last
}

// Final returns the last status of the record (nil if none).
func (o *Observation) Final() *podworker.StatusChange {
	if n := len(o.Record.StatusHistory); n > 0 {
		return &o.Record.StatusHistory[n-1]
	}
	return nil
}
