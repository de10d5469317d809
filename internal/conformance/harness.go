package conformance

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Stopped reports whether the scenario's stopWhen condition holds on o at
// now: "c.restarts>=N", "c.waitingReason==X", or an event reference
// ("sidecar-1.ready", "sidecar-1.start + 20s") that has happened by now.
// An empty stopWhen never holds.
// Conditions joined with "&&" must all hold.
func (e Expect) Stopped(o *Observation, now time.Time) (bool, error) {
	if strings.TrimSpace(e.StopWhen) == "" {
		return false, nil
	}
	for _, cond := range strings.Split(e.StopWhen, "&&") {
		ok, err := stopped(strings.TrimSpace(cond), o, now)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// stopped evaluates one stopWhen condition.
func stopped(cond string, o *Observation, now time.Time) (bool, error) {
	if lhs, rhs, ok := strings.Cut(cond, ">="); ok {
		name, field, _ := cutLast(strings.TrimSpace(lhs), ".")
		if field != "restarts" {
			return false, fmt.Errorf("stopWhen %q: unknown field %q", cond, field)
		}
		n, err := strconv.Atoi(strings.TrimSpace(rhs))
		if err != nil {
			return false, fmt.Errorf("stopWhen %q: %w", cond, err)
		}
		return o.restarts(name) >= n, nil
	}
	if lhs, rhs, ok := strings.Cut(cond, "=="); ok {
		name, field, _ := cutLast(strings.TrimSpace(lhs), ".")
		if field != "waitingReason" {
			return false, fmt.Errorf("stopWhen %q: unknown field %q", cond, field)
		}
		if f := o.Final(); f != nil {
			for _, cs := range f.Containers {
				if cs.Name == name && cs.State == "waiting" && cs.Reason == strings.TrimSpace(rhs) {
					return true, nil
				}
			}
		}
		return false, nil
	}
	t, ok, err := o.Time(cond)
	if err != nil {
		return false, fmt.Errorf("stopWhen: %w", err)
	}
	return ok && !now.Before(t), nil
}

// restarts is the container's restart count in the latest status.
func (o *Observation) restarts(name string) int {
	if f := o.Final(); f != nil {
		for _, cs := range f.Containers {
			if cs.Name == name {
				return int(cs.RestartCount)
			}
		}
	}
	return 0
}

// DueAt returns when the action must run: its After event plus
// DelaySeconds; ok is false while the event has not happened.
func (a Action) DueAt(o *Observation) (time.Time, bool, error) {
	t, ok, err := o.Time(a.After)
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	return t.Add(time.Duration(a.DelaySeconds * float64(time.Second))), true, nil
}

// Timeout is the scenario's timeoutSeconds as a duration (60 s if unset).
func (e Expect) Timeout() time.Duration {
	if e.TimeoutSeconds <= 0 {
		return time.Minute
	}
	return time.Duration(e.TimeoutSeconds * float64(time.Second))
}
