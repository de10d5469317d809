package podworker

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/runtime"
)

// EventKind says what woke the worker.
type EventKind string

// What can wake the worker.
const (
	EventStart    EventKind = "Start"    // first step
	EventExit     EventKind = "Exit"     // a container exited
	EventTimer    EventKind = "Timer"    // Decision.WakeAt passed
	EventProbe    EventKind = "Probe"    // a cached probe result changed
	EventHookDone EventKind = "HookDone" // a postStart or preStop hook ended
	EventDelete   EventKind = "Delete"   // the pod was deleted
)

// Event is one input of step.
type Event struct {
	Kind        EventKind
	Container   string
	ContainerID string
	// Hook is "postStart" or "preStop" for EventHookDone; Err is the
	// hook's failure (or the WaitContainer error for EventExit).
	Hook string
	Err  error
	At   time.Time
	// Grace is the deletion grace period for EventDelete (nil: the pod's).
	Grace *int64
}

// maxPlansPerStep bounds the observe-plan-act rounds of one step; a
// planner that never settles is a bug, logged rather than spun on.
const maxPlansPerStep = 64

// step is the body of the worker: apply the event, then observe, plan and
// act until the planner asks for nothing more, then publish the status.
// Tests call it directly.
func (w *Worker) step(ctx context.Context, ev Event) error {
	now := w.clock.Now()
	if w.resuming {
		if err := w.resume(ctx, now); err != nil {
			return err
		}
	}
	if !w.started {
		w.started = true
		w.obs.StartTime = now
		w.emitStored(ctx, w.rec.scheduled(now))
	}
	w.apply(ctx, ev, now)
	for round := 0; ; round++ {
		now = w.clock.Now()
		if err := w.observe(ctx, now); err != nil {
			return err
		}
		d := w.planFn(w.pod, w.obs, now)
		w.wakeAt = d.WakeAt
		if d.Done {
			w.finished = true
		}
		if len(d.Actions) == 0 {
			break
		}
		if round >= maxPlansPerStep {
			w.log.Error("planner did not settle", "decision", d.String())
			break
		}
		if round > 0 && startsContainer(d.Actions) {
			// Each round is one kubelet sync, which generates the pod's
			// status before it acts: a sidecar reported started before
			// the container it unblocks starts (S2).
			// Recorded now, written to the store with the step's final
			// status: the moment counts, not an extra fsync per round.
			w.generateStatus(ctx, now)
		}
		if !w.act(ctx, d.Actions, now) {
			// The pod worker retries a failed sync after a while.
			w.wakeAt = now.Add(lifecycle.SyncRetryPeriod)
			break
		}
	}
	w.pullBackOff(ctx, now)
	return w.publish(ctx, now)
}

// apply records the effect of ev in the worker's state.
func (w *Worker) apply(ctx context.Context, ev Event, now time.Time) {
	switch ev.Kind {
	case EventDelete:
		grace := ev.Grace
		if grace == nil {
			g := int64(lifecycle.DefaultTerminationGracePeriod / time.Second)
			if w.pod.Spec.TerminationGracePeriodSeconds != nil {
				g = *w.pod.Spec.TerminationGracePeriodSeconds
			}
			grace = &g
		}
		w.mu.Lock() // Pod() reads w.pod from other goroutines
		if w.pod.DeletionTimestamp == nil {
			t := metav1.NewTime(now)
			w.pod.DeletionTimestamp = &t
			w.record.DeletedAt = timePtr(now)
		}
		shortened := w.pod.DeletionGracePeriodSeconds == nil || *grace < *w.pod.DeletionGracePeriodSeconds
		if shortened {
			g := *grace
			w.pod.DeletionGracePeriodSeconds = &g
		}
		w.mu.Unlock()
		if shortened {
			w.shortenKills(time.Duration(*grace)*time.Second, now)
		}
	case EventHookDone:
		w.hookDone(ev, now)
	case EventExit:
		delete(w.watched, ev.ContainerID)
	}
}

// shortenKills applies a deletion whose grace is shorter than the kills
// already under way (a second delete, a second Ctrl-C): as the kubelet
// kills again with the new grace, no container may now outlive
// now+grace, whatever budget its kill started with.
func (w *Worker) shortenKills(grace time.Duration, now time.Time) {
	if t := w.obs.Termination; t != nil && now.Sub(t.StartedAt)+grace < t.Grace {
		t.Grace = now.Sub(t.StartedAt) + grace
	}
	for _, co := range w.obs.Containers {
		a := co.Current()
		if a == nil || a.Kill == nil || a.State == lifecycle.AttemptExited {
			continue
		}
		k := a.Kill
		if !k.SignaledAt.IsZero() {
			if deadline := now.Add(grace); deadline.Before(k.KillAt) {
				k.KillAt = deadline
			}
			continue
		}
		if budget := now.Sub(k.StartedAt) + grace; budget < k.Grace {
			k.Grace = budget
		}
	}
}

// observe refreshes the attempts from the runtime and the probe results
// from the prober.
func (w *Worker) observe(ctx context.Context, now time.Time) error {
	if w.obs.Sandbox == nil {
		return nil
	}
	list, err := w.rt.ListContainers(ctx, w.obs.Sandbox.ID)
	if err != nil {
		if errors.Is(err, runtime.ErrNotFound) {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		w.log.Error("list containers", "err", err)
		return nil
	}
	byID := map[string]runtime.ContainerStatus{}
	for _, st := range list {
		byID[st.ID] = st
	}
	for _, co := range w.obs.Containers {
		for i := range co.Attempts {
			a := &co.Attempts[i]
			st, ok := byID[a.ID]
			if !ok {
				if a.State == lifecycle.AttemptRunning {
					vanished(a, now) // while running
				}
				continue
			}
			applyRuntimeStatus(a, st)
			if a.State == lifecycle.AttemptRunning {
				r := w.prober.Results(a.ID)
				if w.carried[a.ID] {
					r = carryOver(*a, r)
				}
				a.Startup, a.Liveness, a.Readiness = r.Startup, r.Liveness, r.Readiness
				w.unhealthyEvents(ctx, co, a.ID, r)
			}
		}
	}
	return nil
}

// carryOver keeps the results a, an instance that predates a resume,
// had before it for each probe the prober has no result of yet (a fresh
// prober, before it tracks the instance): a restart of the worker
// changes no container's status. The prober's own results are
// authoritative as soon as it has them.
func carryOver(a lifecycle.Attempt, r ProbeResults) ProbeResults {
	if r.Startup == lifecycle.ProbeNone {
		r.Startup = a.Startup
	}
	if r.Liveness == lifecycle.ProbeNone {
		r.Liveness = a.Liveness
	}
	if r.Readiness == lifecycle.ProbeNone {
		r.Readiness = a.Readiness
	}
	return r
}

// unhealthyEvents emits one Unhealthy event per probe failure not yet
// reported for the instance id. A count below those reported is a prober
// that counts afresh (a new one after a resume): it is followed from
// there.
func (w *Worker) unhealthyEvents(ctx context.Context, co *lifecycle.ContainerObservation, id string, r ProbeResults) {
	name := ""
	for n, c := range w.obs.Containers {
		if c == co {
			name = n
		}
	}
	for _, kind := range []ProbeKind{ProbeStartup, ProbeLiveness, ProbeReadiness} {
		key := id + "/" + string(kind)
		if r.Failed[kind] < w.probeFailures[key] {
			w.probeFailures[key] = r.Failed[kind]
		}
		for w.probeFailures[key] < r.Failed[kind] {
			w.probeFailures[key]++
			w.event(ctx, name, corev1.EventTypeWarning, EventUnhealthy, fmt.Sprintf("%s probe failed: %s", kind, r.Output[kind]))
		}
	}
}

// applyRuntimeStatus copies what the runtime reports into an attempt.
func applyRuntimeStatus(a *lifecycle.Attempt, st runtime.ContainerStatus) {
	switch st.State {
	case runtime.StateCreated:
		a.State = lifecycle.AttemptCreated
	case runtime.StateRunning:
		a.State = lifecycle.AttemptRunning
	case runtime.StateExited:
		a.State = lifecycle.AttemptExited
	default:
		a.State = lifecycle.AttemptUnknown
	}
	if !st.StartedAt.IsZero() {
		a.StartedAt = st.StartedAt
	}
	if st.State == runtime.StateExited {
		a.FinishedAt, a.ExitCode, a.Signal = st.FinishedAt, st.ExitCode, int(st.Signal)
		a.Reason, a.Message = st.Reason, st.Message
	}
	if st.ImageID != "" {
		a.ImageID = st.ImageID
	}
}

// publish computes the status, updates started/ready history, the record
// and the store: status, record, then the checkpoint a successor resumes
// from (one write per step; none on the container-start path).
func (w *Worker) publish(ctx context.Context, now time.Time) error {
	status, r := w.generateStatus(ctx, now)
	if err := w.store.SaveStatus(ctx, w.pod, status); err != nil {
		return w.errorf("save status: %w", err)
	}
	if err := w.store.SaveRecord(ctx, r); err != nil {
		return w.errorf("save run record: %w", err)
	}
	if err := w.store.SaveCheckpoint(ctx, w.checkpoint()); err != nil {
		return w.errorf("save checkpoint: %w", err)
	}
	w.trackProbes()
	return nil
}

// generateStatus computes the pod's status at now, records what changed
// (started and ready moments, the status history, back-off events) and
// makes it what Status and Record return; publish also persists it.
func (w *Worker) generateStatus(ctx context.Context, now time.Time) (corev1.PodStatus, *Record) {
	status := w.statusFn(w.pod, w.obs, now)
	w.obs.LastConditions = status.Conditions
	w.obs.LastPhase = status.Phase
	w.trackStartedReady(status, now)
	w.backOffEvents(ctx, status, now)

	r := &w.record
	r.Namespace, r.Name, r.UID, r.Node = w.pod.Namespace, w.pod.Name, string(w.pod.UID), w.node
	r.StartTime = timePtr(w.obs.StartTime)
	if w.finished && r.FinishedAt == nil {
		r.FinishedAt = timePtr(now)
	}
	r.Containers = buildContainers(w.pod, &w.obs)
	sc := statusChange(w.pod, status, now)
	if n := len(r.StatusHistory); n == 0 || !sameStatus(r.StatusHistory[n-1], sc) {
		r.StatusHistory = append(r.StatusHistory, sc)
	}
	r.Events = append([]EventRecord(nil), w.rec.times...)

	w.mu.Lock()
	w.published = status
	w.pubRecord = cloneRecord(*r)
	w.mu.Unlock()
	return status, r
}

// trackStartedReady records when status.started became true and every
// change of status.ready on the current attempts.
func (w *Worker) trackStartedReady(status corev1.PodStatus, now time.Time) {
	// An instance that exited while ready stops being ready when it exits,
	// even if the status already shows its successor.
	for _, co := range w.obs.Containers {
		for i := range co.Attempts {
			a := &co.Attempts[i]
			if n := len(a.ReadyTransitions); n > 0 && a.ReadyTransitions[n-1].Ready && a.State == lifecycle.AttemptExited && i < len(co.Attempts)-1 {
				a.ReadyTransitions = append(a.ReadyTransitions, lifecycle.ReadyTransition{At: a.FinishedAt, Ready: false})
			}
		}
	}
	for _, list := range [][]corev1.ContainerStatus{status.InitContainerStatuses, status.ContainerStatuses} {
		for _, cs := range list {
			a := w.obs.Container(cs.Name).Current()
			if a == nil || (cs.ContainerID != "" && !hasSuffixID(cs.ContainerID, a.ID)) {
				continue
			}
			spec := lifecycle.FindContainer(w.pod, cs.Name)
			if cs.Started != nil && *cs.Started && a.StartedTrueAt.IsZero() {
				a.StartedTrueAt = now
			}
			last := false
			if n := len(a.ReadyTransitions); n > 0 {
				last = a.ReadyTransitions[n-1].Ready
			}
			if cs.Ready != last {
				at := now
				switch {
				case cs.Ready && spec != nil && spec.ReadinessProbe == nil && !a.StartedTrueAt.IsZero():
					at = a.StartedTrueAt // ready as soon as started
				case !cs.Ready && a.State == lifecycle.AttemptExited && !a.FinishedAt.IsZero() && !a.FinishedAt.After(now):
					at = a.FinishedAt // unready when it exited
				}
				a.ReadyTransitions = append(a.ReadyTransitions, lifecycle.ReadyTransition{At: at, Ready: cs.Ready})
			}
		}
	}
}

// startsContainer reports whether actions start a container.
func startsContainer(actions []lifecycle.Action) bool {
	for _, a := range actions {
		if a.Kind == lifecycle.StartContainer {
			return true
		}
	}
	return false
}

// hasSuffixID reports whether a status containerID (runc://ID) names id.
func hasSuffixID(containerID, id string) bool {
	return len(containerID) >= len(id) && containerID[len(containerID)-len(id):] == id
}

// backOffEvents emits the kubelet's BackOff event once per exited
// attempt that waits in crash-loop back-off.
func (w *Worker) backOffEvents(ctx context.Context, status corev1.PodStatus, now time.Time) {
	if w.obs.Termination != nil {
		return
	}
	for name, co := range w.obs.Containers {
		a := co.Current()
		if a == nil || a.State != lifecycle.AttemptExited || w.backOffSeen[a.ID] {
			continue
		}
		if held, _, _ := lifecycle.CrashLoopBackOff(w.obs.Settings, co, now); held {
			w.backOffSeen[a.ID] = true
			w.event(ctx, name, corev1.EventTypeWarning, EventBackOff, msgBackOff(w.pod, name))
		}
	}
}

// trackProbes tells the prober which instances run now.
func (w *Worker) trackProbes() {
	var targets []ProbeTarget
	for _, c := range allContainers(w.pod) {
		a := w.obs.Container(c.Name).Current()
		if a != nil && a.State == lifecycle.AttemptRunning && (a.Kill == nil || c.ReadinessProbe != nil) {
			t := ProbeTarget{Container: c, ContainerID: a.ID, StartedAt: a.StartedAt, Killing: a.Kill != nil}
			if w.carried[a.ID] {
				t.Seed = &ProbeResults{Startup: a.Startup, Liveness: a.Liveness, Readiness: a.Readiness}
			}
			targets = append(targets, t)
		}
	}
	w.prober.Track(w.pod, targets)
}

// emitStored stores an event built by the recorder.
func (w *Worker) emitStored(ctx context.Context, ev corev1.Event) {
	if err := w.store.AppendEvent(ctx, ev); err != nil {
		w.log.Error("store event", "reason", ev.Reason, "err", err)
	}
}

// allContainers returns the init then the regular containers of pod.
func allContainers(pod *corev1.Pod) []*corev1.Container {
	var out []*corev1.Container
	for i := range pod.Spec.InitContainers {
		out = append(out, &pod.Spec.InitContainers[i])
	}
	for i := range pod.Spec.Containers {
		out = append(out, &pod.Spec.Containers[i])
	}
	return out
}
