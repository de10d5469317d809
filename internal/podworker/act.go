package podworker

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/runtime"
)

// act performs the actions of one decision in order, recording each
// effect in w.obs (lifecycle/decision.go). It stops early after a start
// that left a postStart hook running or that failed: the planner decides
// again with that knowledge (R1.1). It returns false when the sandbox
// could not be created: nothing can progress until a retry.
func (w *Worker) act(ctx context.Context, actions []lifecycle.Action, now time.Time) bool {
	for _, a := range actions {
		w.log.Debug("action", "action", a.String())
		switch a.Kind {
		case lifecycle.CreateSandbox:
			if !w.createSandbox(ctx, now) {
				return false
			}
		case lifecycle.StartContainer:
			if !w.startContainer(ctx, a.Container) {
				return true
			}
		case lifecycle.BeginTermination:
			w.obs.Termination = &lifecycle.Termination{Reason: lifecycle.TerminationReason(a.Reason), StartedAt: now, Grace: a.Grace}
			if a.Reason == string(lifecycle.TerminationDeadlineExceeded) {
				w.obs.Reason, w.obs.Message = "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"
				w.event(ctx, "", corev1.EventTypeNormal, EventDeadlineExceeded, w.obs.Message)
			}
		case lifecycle.KillContainer:
			if at := w.obs.Container(a.Container).Current(); at != nil {
				reason := lifecycle.KillReason(a.Reason)
				at.Kill = &lifecycle.Kill{Reason: reason, StartedAt: now, Grace: a.Grace}
				w.event(ctx, a.Container, corev1.EventTypeNormal, EventKilling, msgKilling(a.Container, reason))
			}
		case lifecycle.RunPreStop:
			w.runPreStop(a.Container, now)
		case lifecycle.SignalStop:
			w.signalStop(ctx, a, now)
		case lifecycle.ForceKill:
			if at := w.obs.Container(a.Container).Current(); at != nil {
				if err := w.rt.SignalContainer(ctx, at.ID, syscall.SIGKILL); err != nil {
					w.log.Error("force kill", "container", a.Container, "err", err)
				}
				if at.Kill != nil {
					at.Kill.KilledAt = now
				}
			}
		case lifecycle.RemoveSandbox:
			if s := w.obs.Sandbox; s != nil {
				w.observe(ctx, now) // last look before the containers go
				if err := w.rt.RemovePodSandbox(ctx, s.ID); err != nil {
					w.log.Error("remove sandbox", "err", err)
					continue
				}
				w.obs.Sandbox = nil
			}
		default:
			w.log.Error("unknown action", "action", a.String())
		}
	}
	return true
}

// createSandbox creates the pod sandbox and records it; a failure is the
// kubelet's FailedCreatePodSandBox event.
func (w *Worker) createSandbox(ctx context.Context, now time.Time) bool {
	id, err := w.rt.RunPodSandbox(ctx, runtime.SandboxConfig{
		Pod: w.pod, LogDir: w.podLogDir(), ConfigMaps: w.cms, Secrets: w.secrets,
	})
	if err != nil {
		w.log.Error("create sandbox", "err", err)
		w.event(ctx, "", corev1.EventTypeWarning, EventFailedCreatePodSandBox, "Failed to create pod sandbox: "+err.Error())
		return false
	}
	sb := &lifecycle.SandboxObservation{ID: id, Ready: true, CreatedAt: now}
	if st, err := w.rt.PodSandboxStatus(ctx, id); err == nil {
		sb.IP, sb.Ready = st.IP, st.Ready
	}
	w.obs.Sandbox = sb
	return true
}

// runPreStop starts the container's preStop hook in a goroutine owned by
// the worker; it reports by EventHookDone.
func (w *Worker) runPreStop(name string, now time.Time) {
	at := w.obs.Container(name).Current()
	c := lifecycle.FindContainer(w.pod, name)
	if at == nil || at.Kill == nil || c == nil || c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
		return
	}
	at.Kill.PreStop = lifecycle.HookProgress{State: lifecycle.HookRunning, StartedAt: now}
	w.runHook(name, at.ID, "preStop", c, c.Lifecycle.PreStop, now)
}

// runHook runs h, which started at startedAt, in a goroutine owned by the
// worker, cancellable through hookCancel, and reports its end as
// EventHookDone.
func (w *Worker) runHook(name, id, hook string, c *corev1.Container, h *corev1.LifecycleHandler, startedAt time.Time) {
	ctx, cancel := context.WithCancel(w.bg)
	w.hookCancel[id+"/"+hook] = cancel
	target := HookTarget{Pod: w.pod, Container: c, ContainerID: id, StartedAt: startedAt}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer cancel()
		err := w.hooks.Run(ctx, target, h)
		w.send(w.bg, Event{Kind: EventHookDone, Container: name, ContainerID: id, Hook: hook, Err: err, At: w.clock.Now()})
	}()
}

// hookDone records the end of a hook.
func (w *Worker) hookDone(ev Event, now time.Time) {
	key := ev.ContainerID + "/" + ev.Hook
	if cancel, ok := w.hookCancel[key]; ok {
		cancel()
		delete(w.hookCancel, key)
	}
	co := w.obs.Container(ev.Container)
	if co == nil {
		return
	}
	var at *lifecycle.Attempt
	for i := range co.Attempts {
		if co.Attempts[i].ID == ev.ContainerID {
			at = &co.Attempts[i]
		}
	}
	if at == nil {
		return
	}
	var hp *lifecycle.HookProgress
	failReason := EventFailedPostStartHook
	switch ev.Hook {
	case "postStart":
		hp = &at.PostStart
	case "preStop":
		if at.Kill == nil {
			return
		}
		hp, failReason = &at.Kill.PreStop, EventFailedPreStopHook
	}
	if hp == nil || hp.State != lifecycle.HookRunning || !hp.DoneAt.IsZero() {
		return // the worker gave up on it already
	}
	hp.DoneAt = now
	if ev.Err == nil {
		hp.State = lifecycle.HookSucceeded
		return
	}
	hp.State, hp.Message = lifecycle.HookFailed, ev.Err.Error()
	w.event(w.bg, ev.Container, corev1.EventTypeWarning, failReason, ev.Err.Error())
}

// signalStop sends the stop signal and records when SIGKILL is due; a
// preStop still running is abandoned (H4).
func (w *Worker) signalStop(ctx context.Context, a lifecycle.Action, now time.Time) {
	at := w.obs.Container(a.Container).Current()
	if at == nil {
		return
	}
	if at.Kill != nil && at.Kill.PreStop.State == lifecycle.HookRunning && at.Kill.PreStop.DoneAt.IsZero() {
		at.Kill.PreStop.DoneAt = now
		if cancel, ok := w.hookCancel[at.ID+"/preStop"]; ok {
			cancel()
		}
	}
	sig := parseSignal(a.Signal)
	if err := w.rt.SignalContainer(ctx, at.ID, sig); err != nil {
		w.log.Error("stop signal", "container", a.Container, "signal", sig, "err", err)
	}
	if at.Kill == nil {
		at.Kill = &lifecycle.Kill{Reason: lifecycle.KillPodTermination, StartedAt: now, Grace: a.Grace}
	}
	at.Kill.SignaledAt, at.Kill.KillAt = now, now.Add(a.Grace)
}

// signals maps stop-signal names to signals (lifecycle.stopSignal values).
var signals = map[string]syscall.Signal{
	"SIGTERM": syscall.SIGTERM, "SIGINT": syscall.SIGINT, "SIGQUIT": syscall.SIGQUIT,
	"SIGHUP": syscall.SIGHUP, "SIGKILL": syscall.SIGKILL, "SIGUSR1": syscall.SIGUSR1,
	"SIGUSR2": syscall.SIGUSR2, "SIGWINCH": syscall.SIGWINCH, "SIGSTOP": syscall.SIGSTOP,
}

// parseSignal returns the named signal, SIGTERM for "" or an unknown name.
func parseSignal(name string) syscall.Signal {
	if s, ok := signals[strings.ToUpper(name)]; ok {
		return s
	}
	return syscall.SIGTERM
}

// pullBackOff turns a recent ErrImagePull into ImagePullBackOff while the
// pull back-off holds, as the kubelet's next sync does, with its events.
func (w *Worker) pullBackOff(ctx context.Context, now time.Time) {
	for name, co := range w.obs.Containers {
		sf := co.StartFailure
		if sf == nil || sf.Reason != runtime.ReasonErrImagePull || co.ImagePullBackoff == nil {
			continue
		}
		if !now.After(sf.At) {
			if t := sf.At.Add(time.Second); w.wakeAt.IsZero() || t.Before(w.wakeAt) {
				w.wakeAt = t // the pod worker's resync after a failed sync
			}
			continue
		}
		if waiting, _ := lifecycle.ImagePullBackOff(co.ImagePullBackoff, co.ImagePullBackoff.LastUpdate, now); waiting {
			sf.Reason = runtime.ReasonImagePullBackOff
			sf.Message = msgPullBackOff(imageOf(w.pod, name)) + ": " + runtime.ReasonErrImagePull + ": " + sf.Message
			w.event(ctx, name, corev1.EventTypeNormal, EventBackOff, msgPullBackOff(imageOf(w.pod, name)))
			w.event(ctx, name, corev1.EventTypeWarning, EventFailed, msgError(runtime.ReasonImagePullBackOff))
		}
	}
}

func imageOf(pod *corev1.Pod, name string) string {
	if c := lifecycle.FindContainer(pod, name); c != nil {
		return c.Image
	}
	return ""
}

// startErrorOf returns err as a *runtime.StartError, defaulting the reason.
func startErrorOf(err error, reason string) *runtime.StartError {
	var se *runtime.StartError
	if errors.As(err, &se) {
		return se
	}
	return &runtime.StartError{Reason: reason, Message: err.Error(), Err: err}
}
