package podworker_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/conformance"
	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/podworker"
)

// maxInterruptions bounds the interruption moments tried per scenario:
// every checkpoint when there are fewer, else that many spread evenly
// (always the first and the last).
const maxInterruptions = 24

// TestResumeScenarios replays every catalog scenario the fake runtime
// can run, killing the worker right after one of its checkpoints and
// continuing the pod with a worker resumed from it (same runtime, same
// store, a new prober), for interruption moments across the whole run.
// The pod must end as it does without interruption: the phase, every
// attempt (ID, exit code, reason, why it was killed, its times), the
// runtime calls that start and kill (in order), the events with their
// counts, and the scenario's own expectations.
//
// Three kinds of moments are held to less, each for a stated reason:
//   - a scenario whose uninterrupted run is not reproducible on its own
//     (goroutines racing at one instant of virtual time) must keep its
//     phase and its expectations;
//   - with a postStart hook in flight the resumed worker counts the hook
//     as done, as a restarted kubelet does (resume.go), so what the hook
//     held or would have failed legitimately differs: the run must end
//     without error, the hook recorded as not seen to its end;
//   - Unhealthy events are compared without their count: a new prober
//     may probe once more at the instant of the resume (ExecProber).
func TestResumeScenarios(t *testing.T) {
	all, _ := catalogScenarios(t)
	for _, sc := range all {
		t.Run(sc.Name, func(t *testing.T) {
			if reason := pendingReason(sc); reason != "" {
				t.Skipf("pending: %s", reason)
			}
			if why, ok := knownFailures[sc.Name]; ok {
				t.Skipf("known failure: %s", why)
			}
			base := runScenarioWith(t, sc, scenarioOpts{})
			want := outcomeOf(base)
			if base.saves == 0 {
				t.Fatalf("the uninterrupted run saved no checkpoint")
			}
			racy := racyScenarios[sc.Name]
			for range 2 {
				again := runScenarioWith(t, sc, scenarioOpts{})
				if diff := cmp.Diff(want, outcomeOf(again)); diff != "" {
					racy = diff
				}
			}
			for _, k := range interruptions(base.saves) {
				t.Run(fmt.Sprintf("die-after-checkpoint-%d-of-%d", k, base.saves), func(t *testing.T) {
					got := runScenarioWith(t, sc, scenarioOpts{dieAfter: k})
					if !got.resumed {
						if got.saves < k {
							t.Skipf("this run ended after %d checkpoints", got.saves)
						}
						t.Fatalf("no second worker took over after checkpoint %d", k)
					}
					diff := cmp.Diff(want, outcomeOf(got))
					switch {
					case slices.ContainsFunc(got.inFlight, func(h string) bool { return strings.HasSuffix(h, ":postStart") }):
						checkHookNotSeen(t, got)
						if diff != "" {
							t.Logf("postStart %v in flight at checkpoint %d, counted as done (-uninterrupted +resumed):\n%s", got.inFlight, k, diff)
						}
						return
					case racy != "":
						if want.Phase != outcomeOf(got).Phase {
							t.Errorf("phase %s after resuming at checkpoint %d, want %s", outcomeOf(got).Phase, k, want.Phase)
						}
					case execPreStopInFlight(sc.Pod, got.inFlight):
						// An exec preStop runs again from its start: the
						// kill ends later, in the same order.
						if d := cmp.Diff(timeless(want), timeless(outcomeOf(got))); d != "" {
							t.Errorf("outcome after resuming at checkpoint %d with exec preStop hooks %v in flight differs from the uninterrupted run, times aside (-want +got):\n%s", k, got.inFlight, d)
						}
					case diff != "":
						t.Errorf("outcome after resuming at checkpoint %d (hooks in flight %v) differs from the uninterrupted run (-want +got):\n%s", k, got.inFlight, diff)
					}
					for _, f := range conformance.Check(sc.Expect, got.obs) {
						t.Error(f)
					}
					if t.Failed() {
						t.Logf("uninterrupted:\n%s\nresumed:\n%s", conformance.Describe(base.obs.Record), conformance.Describe(got.obs.Record))
					}
				})
			}
		})
	}
}

// checkHookNotSeen checks that a resumed run recorded the postStart
// hooks that were in flight as done, not seen to their end.
func checkHookNotSeen(t *testing.T, r *scenarioResult) {
	t.Helper()
	for _, c := range r.obs.Record.Containers {
		for _, a := range c.Attempts {
			if h := a.PostStart; h != nil && h.State == lifecycle.HookRunning {
				t.Errorf("%s attempt %d: postStart still running in the resumed worker's record", c.Name, a.Attempt)
			}
		}
	}
	found := false
	for _, c := range r.obs.Record.Containers {
		for _, a := range c.Attempts {
			if h := a.PostStart; h != nil && strings.Contains(h.Message, "not seen to its end") {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("no postStart recorded as not seen to its end; in flight were %v", r.inFlight)
	}
}

// racyScenarios are scenarios whose uninterrupted run is not
// reproducible on its own, with the reason; the check above also finds
// them, but not every time.
var racyScenarios = map[string]string{
	"026-sidecar-liveness-fail-restart": "main's crash-loop back-off and sidecar-1's liveness failure end on one instant (+12s): which the worker sees first decides when main restarts",
}

// execPreStopInFlight reports whether inFlight has an exec preStop hook
// of pod.
func execPreStopInFlight(pod *corev1.Pod, inFlight []string) bool {
	for _, h := range inFlight {
		name, ok := strings.CutSuffix(h, ":preStop")
		if c := lifecycle.FindContainer(pod, name); ok && c != nil && c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Exec != nil {
			return true
		}
	}
	return false
}

// timeless is o without the attempts' times.
func timeless(o outcome) outcome {
	var cs []containerOutcome
	for _, c := range o.Containers {
		c.Attempts = slices.Clone(c.Attempts)
		for i := range c.Attempts {
			c.Attempts[i].Created, c.Attempts[i].Started, c.Attempts[i].Finished = "", "", ""
		}
		cs = append(cs, c)
	}
	o.Containers = cs
	return o
}

// interruptions returns the checkpoints after which to kill the worker
// in a run that saved n.
func interruptions(n int) []int {
	if n <= maxInterruptions {
		out := make([]int, n)
		for i := range out {
			out[i] = i + 1
		}
		return out
	}
	var out []int
	for i := range maxInterruptions {
		k := 1 + i*(n-1)/(maxInterruptions-1)
		if len(out) == 0 || out[len(out)-1] != k {
			out = append(out, k)
		}
	}
	return out
}

// outcome is what a run must have in common with every interrupted
// replay of it.
type outcome struct {
	Phase      corev1.PodPhase
	Containers []containerOutcome
	// Calls are the runtime calls that create, start, signal and remove,
	// in order.
	Calls []string
	// Events are the stored events: "Type Reason object: message (xN)".
	Events []string
}

type containerOutcome struct {
	Name     string
	Attempts []attemptOutcome
}

// attemptOutcome is one attempt; times are offsets from the pod's start.
type attemptOutcome struct {
	ID, Exit, Reason, KilledFor string
	Created, Started, Finished  string
}

// outcomeOf summarises a run.
func outcomeOf(r *scenarioResult) outcome {
	rec := r.obs.Record
	var o outcome
	if n := len(rec.StatusHistory); n > 0 {
		o.Phase = rec.StatusHistory[n-1].Phase
	}
	var start time.Time
	if rec.StartTime != nil {
		start = *rec.StartTime
	}
	offset := func(at *time.Time) string {
		if at == nil {
			return ""
		}
		return "+" + at.Sub(start).String()
	}
	for _, c := range rec.Containers {
		co := containerOutcome{Name: c.Name}
		for _, a := range c.Attempts {
			ao := attemptOutcome{ID: a.ContainerID, Exit: exitString(a.ExitCode), Reason: a.Reason, KilledFor: a.KilledFor,
				Created: offset(a.CreatedAt), Started: offset(a.StartedAt), Finished: offset(a.FinishedAt)}
			co.Attempts = append(co.Attempts, ao)
		}
		o.Containers = append(o.Containers, co)
	}
	for _, c := range r.rt.Calls() {
		switch c.Method {
		case "RunPodSandbox", "CreateContainer", "StartContainer", "SignalContainer", "RemoveContainer", "RemovePodSandbox":
			o.Calls = append(o.Calls, c.String())
		}
	}
	for _, e := range r.store.Events() {
		line := fmt.Sprintf("%s %s", e.Type, e.Reason)
		if e.InvolvedObject.FieldPath != "" {
			line += " " + e.InvolvedObject.FieldPath
		}
		line += ": " + strings.TrimSpace(e.Message)
		if e.Count > 1 && e.Reason != podworker.EventUnhealthy {
			line += fmt.Sprintf(" (x%d)", e.Count)
		}
		o.Events = append(o.Events, line)
	}
	return o
}

// hooksInFlight names the hooks running in cp ("main:postStart").
func hooksInFlight(cp *podworker.Checkpoint) []string {
	var out []string
	for name, co := range cp.Observed.Containers {
		a := co.Current()
		if a == nil {
			continue
		}
		if a.PostStart.State == lifecycle.HookRunning && a.PostStart.DoneAt.IsZero() {
			out = append(out, name+":postStart")
		}
		if a.Kill != nil && a.Kill.PreStop.State == lifecycle.HookRunning && a.Kill.PreStop.DoneAt.IsZero() {
			out = append(out, name+":preStop")
		}
	}
	sort.Strings(out)
	return out
}
