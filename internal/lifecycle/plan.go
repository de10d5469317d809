package lifecycle

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Plan returns what one kubelet sync of pod would do given obs at now
// (SEMANTICS.md §1): the actions in order — create the sandbox, begin the
// pod's termination, kill containers, start init containers in spec order,
// start regular containers in spec order — the earliest instant something
// becomes due even if no event arrives (Decision.WakeAt), and whether the
// pod has finished (Decision.Done).
//
// Kills are processes over time, not blocking calls: once the executor
// recorded a Kill on an attempt, later Plans emit RunPreStop, then
// SignalStop when the preStop is over and it is the container's turn in
// the termination order (§6.2), then ForceKill at Kill.KillAt. While a
// single-container kill (probe or postStart failure) is in progress,
// nothing else is started (R1.2); while a postStart hook runs, nothing else
// is started either (R1.1).
//
// Plan is pure: it reads only its arguments and never modifies them. The
// executor performs the actions in order, records their effects in obs,
// and calls Plan again at once after a non-empty decision, on every event
// (exit, probe result, hook end) and at WakeAt.
func Plan(pod *corev1.Pod, obs Observed, now time.Time) Decision {
	p := &planner{
		pod:   pod,
		obs:   obs,
		now:   now,
		kills: map[string]*Kill{},
		term:  obs.Termination,
	}
	p.plan()
	return p.d
}

// planner holds one Plan call. Actions that take effect at once
// (BeginTermination, KillContainer, RunPreStop) are also applied to a
// private overlay — term, kills — so the rest of the same decision sees
// them; obs itself is never written.
type planner struct {
	pod *corev1.Pod
	obs Observed
	now time.Time

	// term is obs.Termination, or the termination this decision begins.
	term *Termination
	// kills are the kills this decision records, by container name.
	kills map[string]*Kill

	d Decision
}

// plan is the body of Plan.
func (p *planner) plan() {
	if p.term == nil {
		p.checkTermination()
	}
	if p.term != nil {
		p.terminate()
		return
	}
	p.wake(p.activeDeadline())
	if p.syncInProgress() {
		return
	}
	if p.phaseTerminal() {
		// T1: SyncPod computes the phase first; a terminal phase ends
		// the pod before any container action is considered.
		p.beginTermination(TerminationCompleted, p.podGrace(), "T1")
		p.terminate()
		return
	}
	if p.obs.Sandbox == nil {
		// §1 step 2: a pod without a sandbox gets one first; its
		// containers are started in the same sync.
		p.emit(Action{Kind: CreateSandbox, Rule: "§1"})
	}
	p.syncContainers()
}

// emit appends a to the decision.
func (p *planner) emit(a Action) {
	p.d.Actions = append(p.d.Actions, a)
}

// wake lowers the decision's WakeAt to t; a zero t is ignored.
func (p *planner) wake(t time.Time) {
	if t.IsZero() {
		return
	}
	if p.d.WakeAt.IsZero() || t.Before(p.d.WakeAt) {
		p.d.WakeAt = t
	}
}

// current returns the newest attempt of the container name, or nil.
func (p *planner) current(name string) *Attempt {
	return p.obs.Container(name).Current()
}

// killOf returns the kill of name's current attempt: the one this
// decision records, else the observed one, else nil.
func (p *planner) killOf(name string) *Kill {
	if k, ok := p.kills[name]; ok {
		return k
	}
	if a := p.current(name); a != nil {
		return a.Kill
	}
	return nil
}

// running reports whether name's current attempt is running.
func (p *planner) running(name string) bool {
	a := p.current(name)
	return a != nil && a.State == AttemptRunning
}

// syncInProgress reports whether an earlier sync is still under way: a
// postStart hook still running (R1.1, H1, H7: no timeout but the
// handler's own) or a single-container kill not finished (R1.2). Kill
// progress is emitted here.
func (p *planner) syncInProgress() bool {
	busy := false
	for _, c := range allContainers(p.pod) {
		a := p.current(c.Name)
		if a == nil || a.State == AttemptExited {
			continue
		}
		if a.PostStart.State == HookRunning && a.Kill == nil {
			busy = true
		}
		if a.Kill != nil {
			busy = true
			p.progressKill(c, a, a.Kill, false)
		}
	}
	return busy
}

// allContainers returns the init containers then the regular containers
// of pod, in spec order.
func allContainers(pod *corev1.Pod) []*corev1.Container {
	out := make([]*corev1.Container, 0, len(pod.Spec.InitContainers)+len(pod.Spec.Containers))
	for i := range pod.Spec.InitContainers {
		out = append(out, &pod.Spec.InitContainers[i])
	}
	for i := range pod.Spec.Containers {
		out = append(out, &pod.Spec.Containers[i])
	}
	return out
}

// seconds converts a whole number of seconds to a duration.
func seconds(s int64) time.Duration {
	return time.Duration(s) * time.Second
}

// wholeSeconds truncates d to whole seconds, as the kubelet's int64 of
// time.Since(...).Seconds() does.
func wholeSeconds(d time.Duration) time.Duration {
	return d.Truncate(time.Second)
}

// phaseTerminal reports whether the kubelet's phase computation (§7) would
// already call the pod Succeeded or Failed: nothing runs, every regular
// container has exited and none of them is restarted, and no init
// container is still pending. The kubelet's SyncPod then treats the pod
// as terminal without computing container actions — so, for example, a
// sidecar that crashed together with the last regular container is not
// restarted.
func (p *planner) phaseTerminal() bool {
	for _, c := range allContainers(p.pod) {
		if p.running(c.Name) {
			return false
		}
	}
	for i := range p.pod.Spec.InitContainers {
		if p.current(p.pod.Spec.InitContainers[i].Name) == nil {
			return false
		}
	}
	for i := range p.pod.Spec.Containers {
		c := &p.pod.Spec.Containers[i]
		co := p.obs.Container(c.Name)
		a := co.Current()
		if a == nil || a.State != AttemptExited {
			return false
		}
		if restart, _ := p.regularRestarts(c, co); restart {
			return false
		}
	}
	return true
}
