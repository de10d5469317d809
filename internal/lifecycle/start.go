package lifecycle

import (
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// SyncRetryPeriod is how long the kubelet's pod worker waits before it
// syncs a pod again after a failed sync (a start that failed for a reason
// other than a back-off); podrun retries such a start after it.
const SyncRetryPeriod = 10 * time.Second

// killRequest is a single-container kill decided by computePodActions.
type killRequest struct {
	c      *corev1.Container
	reason KillReason
	rule   string
}

// startRequest is a container to start, with the rule that decided it.
type startRequest struct {
	c    *corev1.Container
	rule string
}

// initPlan is the outcome of the init-container walk (§2.1).
type initPlan struct {
	starts      []startRequest
	kills       []killRequest
	killPod     bool
	initialized bool
}

// regularPlan is the outcome of the regular-container pass (§3.1).
type regularPlan struct {
	starts []startRequest
	kills  []killRequest
	// keep counts running regular containers that stay (RS5).
	keep int
}

// syncContainers is computePodActions and SyncPod after the sandbox: init
// containers first (§2.1), regular containers once initialized, the pod
// killed when nothing is left to run (T1, T2), then one kill at a time
// (R1.2) or the starts in spec order.
func (p *planner) syncContainers() {
	for _, c := range allContainers(p.pod) {
		a := p.current(c.Name)
		if a != nil && a.State == AttemptRunning && a.Kill == nil && a.PostStart.State == HookFailed {
			// H2: a failed postStart kills the container through the
			// normal kill path (preStop runs) before anything else.
			p.killOne(killRequest{c: c, reason: KillPostStartHook, rule: "H2"})
			return
		}
	}
	ip := p.initActions()
	if ip.killPod {
		p.beginTermination(TerminationInitFailed, p.podGrace(), "T2")
		p.terminate()
		return
	}
	var rp regularPlan
	if ip.initialized {
		rp = p.regularActions()
		if rp.keep == 0 && len(rp.starts) == 0 {
			// RS5/T1: every regular container exited and none will
			// restart; sidecars are not restarted but stopped.
			p.beginTermination(TerminationCompleted, p.podGrace(), "T1")
			p.terminate()
			return
		}
	}
	if kills := append(ip.kills, rp.kills...); len(kills) > 0 {
		// R1.2: kills are synchronous in SyncPod and run one after the
		// other; the starts of this sync follow once they are over.
		p.killOne(kills[0])
		return
	}
	for _, s := range ip.starts {
		if !p.start(s) && !IsSidecar(s.c) {
			// A regular init container that cannot start aborts the
			// sync; a sidecar is skipped (SyncPod step 6).
			return
		}
	}
	for _, s := range rp.starts {
		p.start(s)
	}
}

// initActions walks the init containers backwards as
// computeInitContainerActions does (§2.1).
func (p *planner) initActions() initPlan {
	var ip initPlan
	inits := p.pod.Spec.InitContainers
	if len(inits) == 0 {
		ip.initialized = true
		return ip
	}
	// A regular container created or running means initialization ran
	// (exited ones do not count, R1.3).
	regularStarted := false
	for i := range p.pod.Spec.Containers {
		a := p.current(p.pod.Spec.Containers[i].Name)
		if a != nil && (a.State == AttemptCreated || a.State == AttemptRunning) {
			regularStarted = true
			break
		}
	}
	initialized := regularStarted
	previouslyInitialized := regularStarted
	last := len(inits) - 1
	restartRule := "S6"
	if regularStarted {
		restartRule = "RS1"
	}
	var starts []startRequest // collected backwards
	add := func(i int, rule string) {
		starts = append(starts, startRequest{c: &inits[i], rule: rule})
	}
	for i := last; i >= 0; i-- {
		c := &inits[i]
		sidecar := IsSidecar(c)
		a := p.current(c.Name)
		if a == nil {
			if previouslyInitialized && sidecar {
				add(i, restartRule) // a vanished sidecar is started again
			}
			continue
		}
		if previouslyInitialized && !sidecar {
			continue // S11: a completed init container never re-runs
		}
		switch a.State {
		case AttemptCreated:
			add(i, "R1.3") // stuck in created: start again
		case AttemptRunning:
			if !sidecar {
				break // S1: wait for it to exit
			}
			if c.StartupProbe != nil && a.Startup != ProbeSuccess {
				if a.Startup == ProbeFailure {
					// S5: killed (preStop runs) and restarted; the
					// sequence stays blocked.
					ip.kills = append(ip.kills, killRequest{c: c, reason: KillStartupProbe, rule: "S5"})
					add(i, "S5")
				}
				break // S2, S7: not started yet, wait
			}
			// S2: the sidecar is done for sequencing.
			if i == last {
				initialized = true
			} else if !previouslyInitialized {
				add(i+1, "S2")
			}
			if c.LivenessProbe != nil && a.Liveness == ProbeFailure {
				// P2, P3: liveness does not gate sequencing; a failure
				// kills and restarts the sidecar.
				ip.kills = append(ip.kills, killRequest{c: c, reason: KillLivenessProbe, rule: "P3"})
				add(i, "P3")
			}
		case AttemptExited:
			if sidecar {
				if a.Kill != nil && a.Kill.Reason == KillLivenessProbe {
					// P3: the sync that killed it had it started and also
					// started the next container.
					if i == last {
						initialized = true
					} else if !previouslyInitialized {
						add(i+1, "P3")
					}
				}
				add(i, restartRule) // RS1, S6: any exit, any policy
				break
			}
			if initFailed(a) {
				if !p.initRestarts(c, a) {
					ip.killPod = true // S8, T2
					return ip
				}
				add(i, "S8")
				break
			}
			if i == last {
				initialized = true
			} else {
				add(i+1, "S1")
			}
		default: // unknown state
			if !sidecar && !p.initRestarts(c, a) {
				ip.killPod = true
				return ip
			}
			ip.kills = append(ip.kills, killRequest{c: c, reason: KillUnknownState, rule: "§2.1"})
			add(i, "§2.1")
		}
		previouslyInitialized = true
	}
	if !previouslyInitialized {
		add(0, "S1") // nothing ran yet: start the first
	}
	slices.Reverse(starts)
	ip.starts = starts
	ip.initialized = initialized
	return ip
}

// initRestarts reports whether a failed regular init container is
// retried (S8, §3.2): the container's own policy and rules when restart
// rules are on and it has a policy, else the pod's policy other than
// Never.
func (p *planner) initRestarts(c *corev1.Container, a *Attempt) bool {
	s := p.obs.Settings
	if s.ContainerRestartRules && c.RestartPolicy != nil && a.State == AttemptExited {
		return ContainerShouldRestart(s, c, p.pod.Spec.RestartPolicy, a.ExitCode)
	}
	return restartOnFailure(s, c, p.pod.Spec.RestartPolicy)
}

// regularActions evaluates the regular containers once the pod is
// initialized (computePodActions, §3.1, §4.2).
func (p *planner) regularActions() regularPlan {
	var rp regularPlan
	s := p.obs.Settings
	policy := p.pod.Spec.RestartPolicy
	for i := range p.pod.Spec.Containers {
		c := &p.pod.Spec.Containers[i]
		co := p.obs.Container(c.Name)
		a := co.Current()
		if a == nil {
			rp.starts = append(rp.starts, startRequest{c: c, rule: "S3"})
			continue
		}
		if a.State != AttemptRunning {
			if restart, rule := p.regularRestarts(c, co); restart {
				rp.starts = append(rp.starts, startRequest{c: c, rule: rule})
				if a.State == AttemptUnknown {
					rp.kills = append(rp.kills, killRequest{c: c, reason: KillUnknownState, rule: "§3.1"})
				}
			}
			continue
		}
		var reason KillReason
		switch {
		case c.LivenessProbe != nil && a.Liveness == ProbeFailure:
			reason = KillLivenessProbe
		case c.StartupProbe != nil && a.Startup == ProbeFailure:
			reason = KillStartupProbe
		default:
			rp.keep++
			continue
		}
		// §4.2: kill; the restart is decided now by policy alone (§3.1:
		// OnFailure always restarts a probe kill; §3.2: the container's
		// own policy when set) and happens once the kill is over.
		rp.kills = append(rp.kills, killRequest{c: c, reason: reason, rule: "§4.2"})
		if restartOnFailure(s, c, policy) {
			rp.starts = append(rp.starts, startRequest{c: c, rule: "§4.2"})
		}
	}
	return rp
}

// regularRestarts reports whether a regular container that is not running
// is started again, and the rule that says so (kubelet
// ShouldContainerBeRestarted).
func (p *planner) regularRestarts(c *corev1.Container, co *ContainerObservation) (bool, string) {
	s := p.obs.Settings
	a := co.Current()
	switch a.State {
	case AttemptCreated, AttemptUnknown:
		return true, "R1.3"
	}
	if restartsInKillSync(s, co) {
		// Restarted in the kill's own sync, as decided at kill time.
		return restartOnFailure(s, c, p.pod.Spec.RestartPolicy), "§4.2"
	}
	rule := "§3.1"
	if s.ContainerRestartRules && c.RestartPolicy != nil {
		rule = "§3.2"
	}
	return ContainerShouldRestart(s, c, p.pod.Spec.RestartPolicy, a.ExitCode), rule
}

// start emits StartContainer for r unless a back-off or a recent failed
// start holds it (R1.4, §3.4, S10); it reports whether it did.
func (p *planner) start(r startRequest) bool {
	if until, blocked := p.startBlockedUntil(p.obs.Container(r.c.Name)); blocked {
		p.wake(until)
		return false
	}
	p.emit(Action{Kind: StartContainer, Container: r.c.Name, Rule: r.rule})
	return true
}

// startBlockedUntil reports whether a new instance of co may not start at
// now and until when: the crash-loop back-off of its exited attempt
// (R1.4), the image-pull back-off after a failed pull (S10), or the pod
// worker's retry period after another failed start.
func (p *planner) startBlockedUntil(co *ContainerObservation) (time.Time, bool) {
	if co == nil {
		return time.Time{}, false
	}
	var until time.Time
	if sf := co.StartFailure; sf != nil && !sf.At.IsZero() {
		until = sf.At.Add(SyncRetryPeriod)
		if isPullFailure(sf.Reason) && co.ImagePullBackoff != nil {
			if waiting, t := ImagePullBackOff(co.ImagePullBackoff, co.ImagePullBackoff.LastUpdate, p.now); waiting && t.After(until) {
				until = t
			}
		}
	}
	if waiting, _, t := CrashLoopBackOff(p.obs.Settings, co, p.now); waiting && t.After(until) {
		until = t
	}
	if p.now.Before(until) {
		return until, true
	}
	return time.Time{}, false
}

// isPullFailure reports whether a start-failure reason is an image pull
// failure (§9).
func isPullFailure(reason string) bool {
	switch reason {
	case "ErrImagePull", "ImagePullBackOff":
		return true
	}
	return false
}

// killOne emits a single-container kill and its first steps.
func (p *planner) killOne(r killRequest) {
	a := p.current(r.c.Name)
	grace := p.containerGrace(r.c, r.reason)
	k := &Kill{Reason: r.reason, StartedAt: p.now, Grace: grace}
	p.emit(Action{Kind: KillContainer, Container: r.c.Name, Reason: string(r.reason), Grace: grace, Rule: r.rule})
	p.kills[r.c.Name] = k
	p.progressKill(r.c, a, k, false)
}
