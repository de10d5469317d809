package lifecycle

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// DefaultTerminationGracePeriod is the API server's default
// terminationGracePeriodSeconds, used when a pod arrives without it.
const DefaultTerminationGracePeriod = 30 * time.Second

// MinimumStopWindow is the shortest time between the stop signal and
// SIGKILL (§6.3).
const MinimumStopWindow = 2 * time.Second

// terminationRules maps why a pod terminates to the rule that says so.
var terminationRules = map[TerminationReason]string{
	TerminationCompleted:        "T1",
	TerminationInitFailed:       "T2",
	TerminationDeleted:          "T3",
	TerminationDeadlineExceeded: "T3",
}

// checkTermination begins the termination of a deleted pod or of one
// past its activeDeadlineSeconds (T3).
func (p *planner) checkTermination() {
	if p.pod.DeletionTimestamp != nil {
		p.beginTermination(TerminationDeleted, p.podGrace(), "T3")
		return
	}
	if t := p.activeDeadline(); !t.IsZero() && !p.now.Before(t) {
		p.beginTermination(TerminationDeadlineExceeded, p.podGrace(), "T3")
	}
}

// specGrace is the pod's terminationGracePeriodSeconds.
func (p *planner) specGrace() time.Duration {
	if g := p.pod.Spec.TerminationGracePeriodSeconds; g != nil {
		return seconds(*g)
	}
	return DefaultTerminationGracePeriod
}

// podGrace is the grace of a pod kill: the deletion grace period if the
// pod was deleted, else the spec's (§6.3).
func (p *planner) podGrace() time.Duration {
	if g := p.pod.DeletionGracePeriodSeconds; g != nil {
		return seconds(*g)
	}
	return p.specGrace()
}

// containerGrace is the grace of a single-container kill: the deletion
// grace, else the probe's terminationGracePeriodSeconds for a probe kill,
// else the spec's (§6.3, kubelet setTerminationGracePeriod).
func (p *planner) containerGrace(c *corev1.Container, reason KillReason) time.Duration {
	if g := p.pod.DeletionGracePeriodSeconds; g != nil {
		return seconds(*g)
	}
	var probe *corev1.Probe
	switch reason {
	case KillLivenessProbe:
		probe = c.LivenessProbe
	case KillStartupProbe:
		probe = c.StartupProbe
	}
	if probe != nil && probe.TerminationGracePeriodSeconds != nil {
		return seconds(*probe.TerminationGracePeriodSeconds)
	}
	return p.specGrace()
}

// beginTermination emits BeginTermination and applies it to the overlay.
func (p *planner) beginTermination(reason TerminationReason, grace time.Duration, rule string) {
	p.term = &Termination{Reason: reason, StartedAt: p.now, Grace: grace}
	p.emit(Action{Kind: BeginTermination, Reason: string(reason), Grace: grace, Rule: rule})
}

// terminationOrder lists the containers in the order their kills are
// emitted: regular containers in spec order, then init containers in
// reverse spec order (the order they receive the stop signal, T5).
func terminationOrder(pod *corev1.Pod) []*corev1.Container {
	out := make([]*corev1.Container, 0, len(pod.Spec.InitContainers)+len(pod.Spec.Containers))
	for i := range pod.Spec.Containers {
		out = append(out, &pod.Spec.Containers[i])
	}
	for i := len(pod.Spec.InitContainers) - 1; i >= 0; i-- {
		out = append(out, &pod.Spec.InitContainers[i])
	}
	return out
}

// terminate runs the pod's termination (§6): every running container
// gets a PodTermination kill starting together (T4, H6, T9), kills
// progress in the termination order, nothing is started (RS2), and once
// nothing runs the pod is done and its sandbox removed.
func (p *planner) terminate() {
	order := terminationOrder(p.pod)
	rule := terminationRules[p.term.Reason]
	if p.obs.Settings.SidecarsRestartableDuringPodTermination {
		p.restartSidecarsWhileTerminating()
	}
	for _, c := range order {
		if !p.running(c.Name) || p.killOf(c.Name) != nil {
			continue
		}
		// A container joining late gets what is left of the shared
		// budget (T9).
		grace := p.term.Grace - wholeSeconds(p.now.Sub(p.term.StartedAt))
		if grace < 0 {
			grace = 0
		}
		r := rule
		if kind, _ := KindOf(p.pod, c.Name); kind == KindInit {
			r = "T8"
		}
		p.kills[c.Name] = &Kill{Reason: KillPodTermination, StartedAt: p.now, Grace: grace}
		p.emit(Action{Kind: KillContainer, Container: c.Name, Reason: string(KillPodTermination), Grace: grace, Rule: r})
	}
	running := false
	for _, c := range order {
		a := p.current(c.Name)
		if a == nil || a.State != AttemptRunning {
			continue
		}
		running = true
		k := p.killOf(c.Name)
		p.progressKill(c, a, k, k.Reason == KillPodTermination)
	}
	if running {
		return
	}
	p.d.Done = true
	if p.obs.Sandbox != nil {
		p.emit(Action{Kind: RemoveSandbox, Rule: rule})
	}
}

// progressKill emits the next step of killing attempt a of c under k
// (§6.3): run the preStop hook (H3, H4), wait for the container's turn if
// the pod terminates in order (T5, T6), send the stop signal with the
// remaining budget floored at MinimumStopWindow, SIGKILL at KillAt.
func (p *planner) progressKill(c *corev1.Container, a *Attempt, k *Kill, ordered bool) {
	if a == nil || a.State == AttemptExited {
		return
	}
	if !k.SignaledAt.IsZero() {
		if !k.KilledAt.IsZero() {
			return
		}
		if p.now.Before(k.KillAt) {
			p.wake(k.KillAt)
			return
		}
		p.emit(Action{Kind: ForceKill, Container: c.Name, Rule: "T10"})
		return
	}
	remaining := k.Grace
	stopFrom := k.StartedAt // when the preStop phase ended
	rule := "§6.3"
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && k.Grace > 0 {
		hookStart := k.PreStop.StartedAt
		if hookStart.IsZero() {
			hookStart = k.StartedAt
		}
		hookDeadline := hookStart.Add(k.Grace)
		switch k.PreStop.State {
		case HookNotRun:
			preRule := "H3"
			if ordered {
				preRule = "H6" // every preStop starts at termination start
			}
			p.emit(Action{Kind: RunPreStop, Container: c.Name, Rule: preRule})
			p.wake(p.now.Add(k.Grace))
			return
		case HookRunning:
			if p.now.Before(hookDeadline) {
				p.wake(hookDeadline)
				return
			}
			stopFrom = hookDeadline // H4: the hook's time is up
			rule = "H4"
		default:
			stopFrom = k.PreStop.DoneAt
			if stopFrom.IsZero() || stopFrom.After(hookDeadline) {
				stopFrom = hookDeadline
			}
		}
		remaining -= wholeSeconds(stopFrom.Sub(hookStart))
	}
	if ordered && remaining > 0 {
		rule = "T4"
		switch kind, _ := KindOf(p.pod, c.Name); kind {
		case KindInit:
			rule = "T8"
		case KindSidecar:
			turnDeadline := stopFrom.Add(remaining)
			turnAt := p.now
			switch {
			case p.turnCame(c.Name):
				rule = "T5"
				if turnAt.After(turnDeadline) {
					turnAt = turnDeadline
				}
			case p.now.Before(turnDeadline):
				p.wake(turnDeadline)
				return
			default:
				rule = "T6"
				turnAt = turnDeadline
			}
			if turnAt.After(stopFrom) {
				remaining -= wholeSeconds(turnAt.Sub(stopFrom))
			}
		}
	}
	window := max(remaining, MinimumStopWindow)
	p.emit(Action{Kind: SignalStop, Container: c.Name, Grace: window, Signal: stopSignal(c), Rule: rule})
	p.wake(p.now.Add(window))
}

// stopSignal is c's lifecycle.stopSignal, or "" to let the executor use
// the image's STOPSIGNAL or SIGTERM.
func stopSignal(c *corev1.Container) string {
	if c.Lifecycle != nil && c.Lifecycle.StopSignal != nil {
		return string(*c.Lifecycle.StopSignal)
	}
	return ""
}

// turnCame reports whether sidecar name may receive its stop signal (T5):
// every regular container has exited and the nearest sidecar declared
// after it has terminated (kubelet newTerminationOrdering: sidecars form a
// chain in reverse declaration order, each behind all regular
// containers).
func (p *planner) turnCame(name string) bool {
	for i := range p.pod.Spec.Containers {
		if p.running(p.pod.Spec.Containers[i].Name) {
			return false
		}
	}
	later := p.laterSidecar(name)
	if later == "" {
		return true
	}
	return p.terminatedInOrder(later)
}

// laterSidecar returns the nearest sidecar declared after name, or "".
func (p *planner) laterSidecar(name string) string {
	inits := p.pod.Spec.InitContainers
	found := false
	for i := range inits {
		if inits[i].Name == name {
			found = true
			continue
		}
		if found && IsSidecar(&inits[i]) {
			return inits[i].Name
		}
	}
	return ""
}

// terminatedInOrder reports whether name no longer holds back earlier
// sidecars: it was not running when termination began (T5, T7), or it
// exited and its own kill got past its turn (or ran out of time, T6).
func (p *planner) terminatedInOrder(name string) bool {
	a := p.current(name)
	if a == nil {
		return true
	}
	k := p.killOf(name)
	if k == nil || k.Reason != KillPodTermination {
		return a.State != AttemptRunning
	}
	if a.State == AttemptRunning {
		return false
	}
	return p.turnCame(name) || !p.now.Before(k.StartedAt.Add(k.Grace))
}

// restartSidecarsWhileTerminating restarts, with KEP-4438's gate on, a
// sidecar that exited by itself during the termination before its turn
// came, while a regular container still runs (RS2's exception); the new
// instance joins the termination with what is left of the budget.
func (p *planner) restartSidecarsWhileTerminating() {
	regularRunning := false
	for i := range p.pod.Spec.Containers {
		if p.running(p.pod.Spec.Containers[i].Name) {
			regularRunning = true
		}
	}
	if !regularRunning {
		return
	}
	for i := range p.pod.Spec.InitContainers {
		c := &p.pod.Spec.InitContainers[i]
		a := p.current(c.Name)
		if !IsSidecar(c) || a == nil || a.State != AttemptExited || a.Kill == nil ||
			a.Kill.Reason != KillPodTermination || !a.Kill.SignaledAt.IsZero() {
			continue
		}
		p.start(startRequest{c: c, rule: "RS2"})
	}
}
