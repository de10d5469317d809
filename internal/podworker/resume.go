package podworker

import (
	"context"
	"errors"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/runtime"
)

// msgVanished is the message of an instance the runtime no longer has
// (the kubelet's ContainerStatusUnknown, T10).
const msgVanished = "The container could not be located when the pod was terminated"

// msgHookNotSeen is the record's message for a postStart hook whose
// worker died while it ran.
const msgHookNotSeen = "not seen to its end: the supervisor running it stopped"

// resume reconciles the state a worker restored from Config.Resume with
// the runtime, once, at its first step and before it plans. It follows
// what the kubelet does after its own restart with
// ChangeContainerStatusOnKubeletRestart off (the 1.37 default: a restart
// changes no container's status):
//
//   - Sandbox. A checkpoint without one looks the pod's sandboxes up by
//     UID (Runtime.ListPodSandbox) and continues in the newest; older
//     ones are removed, as the kubelet removes a pod's extra sandboxes.
//     When the checkpoint was never saved (the old worker died during
//     its first step) and a sandbox is found, the pod started when the
//     sandbox was created: that is its start time, and the Scheduled
//     event the old worker stored is recorded without being stored
//     again (with no sandbox either, the pod starts afresh, and a
//     Scheduled event the old worker stored is repeated). A
//     checkpointed sandbox the runtime no longer has is gone:
//     its live instances end ContainerStatusUnknown (exit 137, T10)
//     and the planner decides afresh.
//   - Instances the checkpoint does not know (the old worker created
//     them after its last save) are adopted as the next attempt of their
//     container when their attempt number is that next one; their
//     Created and Started events, which the store already holds, are
//     counted without being stored again. Any other unknown instance is
//     removed (the runtime kills it first).
//   - Instances that exited while nobody watched are observed as exited
//     with their real exit code and time by the step's observe.
//   - A postStart hook in flight died with the old process. The kubelet
//     runs postStart inside the sync that started the container, and a
//     restarted kubelet neither runs it again nor waits for it: the hook
//     counts as done (Succeeded) at the resume, so it no longer holds
//     the containers after it (R1.1) nor hides the instance (H1).
//   - A preStop hook in flight is run again: the kubelet runs a
//     container's preStop whenever it kills it, also after its own
//     restart. Its start stays the original one, so the stop signal is
//     due at the original deadline at the latest (H4), and a sleep
//     handler sleeps only what is left.
//   - A kill whose stop signal was sent continues to its SIGKILL
//     deadline (Kill.KillAt); a kill not yet signalled keeps its start
//     and budget, the pod's termination its start and grace, the pod its
//     start time (activeDeadlineSeconds) and every container its
//     attempts (restart counts, crash-loop back-off from the last exit).
//   - Probe results of the instances that predate the resume carry over
//     until the prober reports its own (see observe and ProbeTarget.Seed):
//     a started sidecar stays started, so a crashed regular container is
//     restarted (the regression fixed by kubernetes/kubernetes#137146).
//
// An error of the runtime (other than a missing object) fails the step:
// the worker cannot know what it continues.
func (w *Worker) resume(ctx context.Context, now time.Time) error {
	w.resuming = false
	for _, co := range w.obs.Containers {
		if a := co.Current(); a != nil && a.State != lifecycle.AttemptExited {
			w.carried[a.ID] = true
		}
	}
	if w.obs.Sandbox == nil {
		if err := w.findSandbox(ctx); err != nil {
			return err
		}
	} else if _, err := w.rt.PodSandboxStatus(ctx, w.obs.Sandbox.ID); errors.Is(err, runtime.ErrNotFound) {
		w.sandboxGone(now)
	} else if err != nil {
		return w.errorf("resume: pod sandbox %q: %w", w.obs.Sandbox.ID, err)
	}
	if w.obs.Sandbox != nil {
		if err := w.adoptInstances(ctx, now); err != nil {
			return err
		}
	}
	if err := w.observe(ctx, now); err != nil {
		return err
	}
	w.hooksInFlight(now)
	return nil
}

// findSandbox continues in the newest sandbox the runtime has for the
// pod, if any, and removes the older ones.
func (w *Worker) findSandbox(ctx context.Context) error {
	list, err := w.rt.ListPodSandbox(ctx, string(w.pod.UID))
	if err != nil {
		return w.errorf("resume: list pod sandboxes: %w", err)
	}
	if len(list) == 0 {
		return nil
	}
	sb := list[len(list)-1]
	for _, old := range list[:len(list)-1] {
		if err := w.rt.RemovePodSandbox(ctx, old.ID); err != nil {
			w.log.Error("remove an older pod sandbox", "sandbox", old.ID, "err", err)
		}
	}
	w.obs.Sandbox = &lifecycle.SandboxObservation{ID: sb.ID, Ready: sb.Ready, IP: sb.IP, CreatedAt: sb.CreatedAt}
	if !w.started {
		w.started = true
		w.obs.StartTime = sb.CreatedAt
		w.rec.scheduled(sb.CreatedAt)
	}
	return nil
}

// sandboxGone records that the pod's sandbox vanished: its live instances
// ended ContainerStatusUnknown.
func (w *Worker) sandboxGone(now time.Time) {
	for _, co := range w.obs.Containers {
		if a := co.Current(); a != nil && a.State != lifecycle.AttemptExited {
			vanished(a, now)
		}
	}
	w.obs.Sandbox = nil
}

// vanished marks a that the runtime no longer has as exited: the
// kubelet synthesises ContainerStatusUnknown, exit 137 (T10).
func vanished(a *lifecycle.Attempt, now time.Time) {
	a.State, a.FinishedAt, a.ExitCode, a.Reason = lifecycle.AttemptExited, now, 137, "ContainerStatusUnknown"
	a.Message = msgVanished
}

// adoptInstances makes the sandbox's instances that the checkpoint does
// not know the next attempts of their containers, or removes them.
func (w *Worker) adoptInstances(ctx context.Context, now time.Time) error {
	list, err := w.rt.ListContainers(ctx, w.obs.Sandbox.ID)
	if errors.Is(err, runtime.ErrNotFound) {
		w.sandboxGone(now)
		return nil
	}
	if err != nil {
		return w.errorf("resume: list containers of pod sandbox %q: %w", w.obs.Sandbox.ID, err)
	}
	known := map[string]bool{}
	for _, co := range w.obs.Containers {
		for _, a := range co.Attempts {
			known[a.ID] = true
		}
	}
	var unknown []runtime.ContainerStatus
	for _, st := range list {
		if !known[st.ID] {
			unknown = append(unknown, st)
		}
	}
	slices.SortStableFunc(unknown, func(a, b runtime.ContainerStatus) int { return a.Attempt - b.Attempt })
	for _, st := range unknown {
		c := lifecycle.FindContainer(w.pod, st.Name)
		co := w.obs.Containers[st.Name]
		if c == nil || st.Attempt != len(attemptsOf(co)) {
			w.log.Info("remove an instance the checkpoint does not know", "container", st.Name, "attempt", st.Attempt, "id", st.ID)
			if err := w.rt.RemoveContainer(ctx, st.ID); err != nil {
				w.log.Error("remove unknown instance", "id", st.ID, "err", err)
			}
			continue
		}
		if co == nil {
			co = &lifecycle.ContainerObservation{}
			w.obs.Containers[st.Name] = co
		}
		w.adopt1(co, c, st)
	}
	return nil
}

// adopt1 appends st, an instance the old worker created after its last
// save, as the next attempt of c.
func (w *Worker) adopt1(co *lifecycle.ContainerObservation, c *corev1.Container, st runtime.ContainerStatus) {
	w.log.Info("adopt an instance started after the last checkpoint", "container", c.Name, "attempt", st.Attempt, "id", st.ID)
	a := lifecycle.Attempt{ID: st.ID, State: lifecycle.AttemptCreated, Image: st.Image, CreatedAt: st.CreatedAt}
	applyRuntimeStatus(&a, st)
	co.StartFailure = nil
	if st.State == runtime.StateExited && st.StartedAt.IsZero() {
		// The start failed (runtime reason StartError), as startContainer
		// records it.
		co.StartFailure = &lifecycle.StartFailure{Reason: runtime.ReasonRunContainerError, Message: st.Message, At: st.FinishedAt}
	}
	w.rec.absorb(st.CreatedAt, c.Name, corev1.EventTypeNormal, EventCreated, msgCreated)
	if !st.StartedAt.IsZero() {
		w.rec.absorb(st.StartedAt, c.Name, corev1.EventTypeNormal, EventStarted, msgStarted)
		if c.Lifecycle != nil && c.Lifecycle.PostStart != nil {
			// The old worker started the hook with the container.
			a.PostStart = lifecycle.HookProgress{State: lifecycle.HookRunning, StartedAt: st.StartedAt}
		}
	}
	co.Attempts = append(co.Attempts, a)
}

// hooksInFlight settles the hooks whose goroutines died with the old
// worker: a postStart counts as done, a preStop runs again (see resume).
func (w *Worker) hooksInFlight(now time.Time) {
	for name, co := range w.obs.Containers {
		a := co.Current()
		if a == nil {
			continue
		}
		if a.PostStart.State == lifecycle.HookRunning && a.PostStart.DoneAt.IsZero() {
			a.PostStart.State, a.PostStart.DoneAt, a.PostStart.Message = lifecycle.HookSucceeded, now, msgHookNotSeen
		}
		k := a.Kill
		c := lifecycle.FindContainer(w.pod, name)
		if k == nil || k.PreStop.State != lifecycle.HookRunning || !k.PreStop.DoneAt.IsZero() ||
			a.State == lifecycle.AttemptExited || c == nil || c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
			continue
		}
		w.runHook(name, a.ID, "preStop", c, c.Lifecycle.PreStop, k.PreStop.StartedAt)
	}
}
