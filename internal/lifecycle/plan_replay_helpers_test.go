package lifecycle_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/lifecycle"
)

// A replay drives Plan through a whole scenario, playing the executor
// and a scripted runtime itself: it applies every action to Observed at
// the current instant, then jumps to the earliest of the decision's
// WakeAt and the next scripted event (an exit, a hook end, a probe
// result). Pure: no goroutines, no clock.

// behaviour scripts one container instance.
type behaviour struct {
	// runFor: the process exits by itself with exitCode after this long;
	// zero means it runs until stopped.
	runFor   time.Duration
	exitCode int32
	// onTerm: after the stop signal the process exits with termCode this
	// long later; ignoresTerm makes it wait for SIGKILL (137).
	onTerm      time.Duration
	termCode    int32
	ignoresTerm bool
	// preStop is how long the preStop hook runs.
	preStop time.Duration
	// postStart is how long the postStart hook runs (if the container
	// has one); postStartFails makes it fail.
	postStart      time.Duration
	postStartFails bool
	// startupAfter: the startup probe reports Success (or Failure when
	// startupFails) this long after the start.
	startupAfter time.Duration
	startupFails bool
	// livenessFailsAfter: the liveness probe reports Failure this long
	// after the start.
	livenessFailsAfter time.Duration
}

// replayEvent is one recorded runtime event.
type replayEvent struct {
	at   time.Time
	what string // "start", "exit", "signal", "sigkill", "prestop"
	name string
	n    int   // attempt number, from 1
	code int32 // exit code for "exit"
}

// replay is one scenario run.
type replay struct {
	t      *testing.T
	pod    *corev1.Pod
	obs    lifecycle.Observed
	script func(name string, attempt int) behaviour
	now    time.Time
	events []replayEvent
	done   bool
}

// newReplay starts a replay of pod at planT0 with no sandbox yet.
func newReplay(t *testing.T, pod *corev1.Pod, script func(name string, attempt int) behaviour) *replay {
	o := planObserved()
	o.Sandbox = nil
	return &replay{t: t, pod: pod, obs: o, script: script, now: planT0}
}

// behaviourOf returns the script of name's current attempt.
func (r *replay) behaviourOf(name string) behaviour {
	return r.script(name, len(r.obs.Containers[name].Attempts))
}

// run plans and acts until the pod is done or until passes (now is then
// until).
func (r *replay) run(until time.Time) {
	r.t.Helper()
	for steps := 0; steps < 10000; steps++ {
		d := lifecycle.Plan(r.pod, r.obs, r.now)
		if len(d.Actions) > 0 {
			for _, a := range d.Actions {
				r.apply(a)
			}
			continue
		}
		if d.Done {
			r.done = true
			return
		}
		next := d.WakeAt
		if e := r.nextEvent(); !e.IsZero() && (next.IsZero() || e.Before(next)) {
			next = e
		}
		if next.IsZero() || next.After(until) {
			r.now = until
			return
		}
		if next.Before(r.now) {
			r.t.Fatalf("replay: next instant %v is before now %v", next, r.now)
		}
		r.now = next
		r.fire()
	}
	r.t.Fatalf("replay did not settle; events:\n%s", r.timeline())
}

// apply performs one action at r.now, as the executor records it.
func (r *replay) apply(a lifecycle.Action) {
	r.t.Helper()
	switch a.Kind {
	case lifecycle.CreateSandbox:
		r.obs.Sandbox = &lifecycle.SandboxObservation{ID: "sb", Ready: true, CreatedAt: r.now}
	case lifecycle.StartContainer:
		co := r.obs.Containers[a.Container]
		if co == nil {
			co = &lifecycle.ContainerObservation{}
			r.obs.Containers[a.Container] = co
		}
		co.StartFailure = nil
		co.Attempts = append(co.Attempts, lifecycle.Attempt{
			ID: fmt.Sprintf("%s-%d", a.Container, len(co.Attempts)), State: lifecycle.AttemptRunning,
			CreatedAt: r.now, StartedAt: r.now, Liveness: lifecycle.ProbeSuccess,
		})
		r.record("start", a.Container, 0)
		if c := specContainer(r.pod, a.Container); c.Lifecycle != nil && c.Lifecycle.PostStart != nil {
			// The executor runs postStart to its end before the next
			// action (R1.1): time passes inside this action.
			cur := co.Current()
			cur.PostStart = lifecycle.HookProgress{State: lifecycle.HookRunning, StartedAt: r.now}
			b := r.behaviourOf(a.Container)
			r.now = r.now.Add(b.postStart)
			cur.PostStart.State, cur.PostStart.DoneAt = hookOutcome(b), r.now
			r.fire()
		}
	case lifecycle.BeginTermination:
		r.obs.Termination = &lifecycle.Termination{Reason: lifecycle.TerminationReason(a.Reason), StartedAt: r.now, Grace: a.Grace}
	case lifecycle.KillContainer:
		r.attempt(a.Container).Kill = &lifecycle.Kill{Reason: lifecycle.KillReason(a.Reason), StartedAt: r.now, Grace: a.Grace}
	case lifecycle.RunPreStop:
		k := r.attempt(a.Container).Kill
		k.PreStop = lifecycle.HookProgress{State: lifecycle.HookRunning, StartedAt: r.now}
		r.record("prestop", a.Container, 0)
		if r.behaviourOf(a.Container).preStop == 0 {
			k.PreStop.State, k.PreStop.DoneAt = lifecycle.HookSucceeded, r.now
		}
	case lifecycle.SignalStop:
		k := r.attempt(a.Container).Kill
		k.SignaledAt, k.KillAt = r.now, r.now.Add(a.Grace)
		r.record("signal", a.Container, 0)
		if b := r.behaviourOf(a.Container); !b.ignoresTerm && b.onTerm == 0 {
			r.exit(a.Container, b.termCode)
		}
	case lifecycle.ForceKill:
		r.attempt(a.Container).Kill.KilledAt = r.now
		r.record("sigkill", a.Container, 0)
		r.exit(a.Container, 137)
	case lifecycle.RemoveSandbox:
		r.obs.Sandbox = nil
	default:
		r.t.Fatalf("replay: unknown action %v", a)
	}
}

// attempt returns name's current attempt.
func (r *replay) attempt(name string) *lifecycle.Attempt {
	r.t.Helper()
	a := r.obs.Containers[name].Current()
	if a == nil {
		r.t.Fatalf("replay: %s has no attempt", name)
	}
	return a
}

// exit ends name's current attempt with code at r.now.
func (r *replay) exit(name string, code int32) {
	a := r.attempt(name)
	a.State, a.ExitCode, a.FinishedAt = lifecycle.AttemptExited, code, r.now
	if a.Kill != nil && a.Kill.PreStop.State == lifecycle.HookRunning {
		a.Kill.PreStop.State, a.Kill.PreStop.DoneAt = lifecycle.HookFailed, r.now
	}
	r.record("exit", name, code)
}

// record appends an event for name's current attempt.
func (r *replay) record(what, name string, code int32) {
	r.events = append(r.events, replayEvent{at: r.now, what: what, name: name, n: len(r.obs.Containers[name].Attempts), code: code})
}

// pending lists, per running attempt, the instants of its scripted
// events.
func (r *replay) pending(fn func(name string, a *lifecycle.Attempt, at time.Time, do func())) {
	for _, c := range allSpecContainers(r.pod) {
		co := r.obs.Containers[c.Name]
		a := co.Current()
		if a == nil || a.State != lifecycle.AttemptRunning {
			continue
		}
		b := r.behaviourOf(c.Name)
		name := c.Name
		if b.runFor > 0 {
			fn(name, a, a.StartedAt.Add(b.runFor), func() { r.exit(name, b.exitCode) })
		}
		if k := a.Kill; k != nil {
			if !k.SignaledAt.IsZero() && !b.ignoresTerm && b.onTerm > 0 {
				fn(name, a, k.SignaledAt.Add(b.onTerm), func() { r.exit(name, b.termCode) })
			}
			if k.PreStop.State == lifecycle.HookRunning {
				fn(name, a, k.PreStop.StartedAt.Add(b.preStop), func() {
					k.PreStop.State, k.PreStop.DoneAt = lifecycle.HookSucceeded, r.now
				})
			}
		}
		if c.StartupProbe != nil && a.Startup == lifecycle.ProbeNone && b.startupAfter > 0 {
			fn(name, a, a.StartedAt.Add(b.startupAfter), func() {
				a.Startup = lifecycle.ProbeSuccess
				if b.startupFails {
					a.Startup = lifecycle.ProbeFailure
				}
			})
		}
		if c.LivenessProbe != nil && a.Liveness != lifecycle.ProbeFailure && b.livenessFailsAfter > 0 {
			fn(name, a, a.StartedAt.Add(b.livenessFailsAfter), func() { a.Liveness = lifecycle.ProbeFailure })
		}
	}
}

// nextEvent returns the earliest scripted event not before now, or zero.
func (r *replay) nextEvent() time.Time {
	var next time.Time
	r.pending(func(_ string, _ *lifecycle.Attempt, at time.Time, _ func()) {
		if at.Before(r.now) {
			at = r.now
		}
		if next.IsZero() || at.Before(next) {
			next = at
		}
	})
	return next
}

// fire runs every scripted event due at now.
func (r *replay) fire() {
	var due []func()
	r.pending(func(_ string, _ *lifecycle.Attempt, at time.Time, do func()) {
		if !at.After(r.now) {
			due = append(due, do)
		}
	})
	for _, do := range due {
		do()
	}
}

// allSpecContainers lists the pod's init and regular containers.
func allSpecContainers(pod *corev1.Pod) []*corev1.Container {
	var out []*corev1.Container
	for i := range pod.Spec.InitContainers {
		out = append(out, &pod.Spec.InitContainers[i])
	}
	for i := range pod.Spec.Containers {
		out = append(out, &pod.Spec.Containers[i])
	}
	return out
}

// when returns the instant of event what of name's attempt n (n=0: the
// last such event); the test fails if there is none.
func (r *replay) when(what, name string, n int) time.Time {
	r.t.Helper()
	var found *replayEvent
	for i := range r.events {
		e := &r.events[i]
		if e.what == what && e.name == name && (n == 0 || e.n == n) {
			found = e
			if n != 0 {
				break
			}
		}
	}
	if found == nil {
		r.t.Fatalf("no %s of %s#%d; events:\n%s", what, name, n, r.timeline())
	}
	return found.at
}

// count returns how many events what of name happened.
func (r *replay) count(what, name string) int {
	n := 0
	for _, e := range r.events {
		if e.what == what && e.name == name {
			n++
		}
	}
	return n
}

// exitCode returns the exit code of name's last exit.
func (r *replay) exitCode(name string) int32 {
	r.t.Helper()
	code, ok := int32(0), false
	for _, e := range r.events {
		if e.what == "exit" && e.name == name {
			code, ok = e.code, true
		}
	}
	if !ok {
		r.t.Fatalf("%s never exited; events:\n%s", name, r.timeline())
	}
	return code
}

// timeline renders the events, one per line, in seconds since planT0.
func (r *replay) timeline() string {
	var b strings.Builder
	for _, e := range r.events {
		fmt.Fprintf(&b, "%7.1fs %-8s %s#%d", e.at.Sub(planT0).Seconds(), e.what, e.name, e.n)
		if e.what == "exit" {
			fmt.Fprintf(&b, " code=%d", e.code)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// seq returns the timeline as "what name#n" strings, without times.
func (r *replay) seq(whats ...string) []string {
	var out []string
	for _, e := range r.events {
		for _, w := range whats {
			if e.what == w {
				out = append(out, fmt.Sprintf("%s %s#%d", e.what, e.name, e.n))
			}
		}
	}
	return out
}

// secondsBetween returns b − a in seconds.
func secondsBetween(a, b time.Time) float64 {
	return b.Sub(a).Seconds()
}

// hookOutcome is the end state of b's postStart hook.
func hookOutcome(b behaviour) lifecycle.HookState {
	if b.postStartFails {
		return lifecycle.HookFailed
	}
	return lifecycle.HookSucceeded
}

// specContainer returns the spec of name.
func specContainer(pod *corev1.Pod, name string) *corev1.Container {
	for _, c := range allSpecContainers(pod) {
		if c.Name == name {
			return c
		}
	}
	return nil
}
