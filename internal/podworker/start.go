package podworker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/image"
	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/runtime"
)

// startContainer performs StartContainer for the named container: pull
// per imagePullPolicy, create, start, then launch its postStart hook
// (kuberuntime startContainer). It reports whether the decision may go on
// with its next action: false after a failure or while a postStart hook
// runs.
func (w *Worker) startContainer(ctx context.Context, name string) bool {
	c := lifecycle.FindContainer(w.pod, name)
	if c == nil || w.obs.Sandbox == nil {
		w.log.Error("start container: unknown container or no sandbox", "container", name)
		return false
	}
	co := w.obs.Containers[name]
	if co == nil {
		co = &lifecycle.ContainerObservation{}
		w.obs.Containers[name] = co
	}
	attempt := len(co.Attempts)

	image, ok := w.pullImage(ctx, c, co)
	if !ok {
		return false
	}

	now := w.clock.Now()
	if p := w.logPath(name, attempt); p != "" {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			w.log.Error("create log directory", "container", name, "err", err)
		}
	}
	cfg := runtime.ContainerConfig{
		Name: name, Attempt: attempt, Pod: w.pod, Container: c, Image: image,
		LogPath: w.logPath(name, attempt),
	}
	id, err := w.rt.CreateContainer(ctx, w.obs.Sandbox.ID, cfg)
	if errors.Is(err, runtime.ErrAlreadyExists) {
		id, err = w.adopt(ctx, name, attempt)
	}
	if err != nil {
		se := startErrorOf(err, runtime.ReasonCreateContainerError)
		w.startFailed(ctx, co, name, se.Reason, se.Message)
		return false
	}
	co.Attempts = append(co.Attempts, lifecycle.Attempt{
		ID: id, State: lifecycle.AttemptCreated, Image: image, CreatedAt: now,
	})
	w.event(ctx, name, corev1.EventTypeNormal, EventCreated, msgCreated)

	if err := w.rt.StartContainer(ctx, id); err != nil {
		se := startErrorOf(err, runtime.ReasonRunContainerError)
		if st, serr := w.rt.ContainerStatus(ctx, id); serr == nil {
			applyRuntimeStatus(co.Current(), st)
		}
		w.startFailed(ctx, co, name, se.Reason, se.Message)
		return false
	}
	co.StartFailure = nil
	at := co.Current()
	at.State, at.StartedAt = lifecycle.AttemptRunning, w.clock.Now()
	if st, err := w.rt.ContainerStatus(ctx, id); err == nil {
		applyRuntimeStatus(at, st)
	}
	w.event(ctx, name, corev1.EventTypeNormal, EventStarted, msgStarted)

	if c.Lifecycle != nil && c.Lifecycle.PostStart != nil {
		at.PostStart = lifecycle.HookProgress{State: lifecycle.HookRunning, StartedAt: w.clock.Now()}
		w.runHook(name, id, "postStart", c, c.Lifecycle.PostStart, at.PostStart.StartedAt)
		return false
	}
	return true
}

// pullImage makes the container's image available and emits the pull
// events; on failure it records the StartFailure and the pull back-off.
func (w *Worker) pullImage(ctx context.Context, c *corev1.Container, co *lifecycle.ContainerObservation) (string, bool) {
	policy := c.ImagePullPolicy
	if policy == "" {
		policy = corev1.PullIfNotPresent
	}
	start := w.clock.Now()
	resolved, pulled, err := w.images.EnsureImage(ctx, c.Image, policy, w.pullSecrets())
	end := w.clock.Now()
	if err != nil {
		reason, text := pullFailure(err)
		switch reason {
		case runtime.ReasonErrImageNeverPull:
			w.eventAt(ctx, end, c.Name, corev1.EventTypeWarning, EventErrImageNeverPull, msgNeverPull(c.Image))
		case runtime.ReasonInvalidImageName:
			w.eventAt(ctx, end, c.Name, corev1.EventTypeWarning, EventInspectFailed, text)
		default:
			w.eventAt(ctx, start, c.Name, corev1.EventTypeNormal, EventPulling, msgPulling(c.Image))
			w.eventAt(ctx, end, c.Name, corev1.EventTypeWarning, EventFailed, msgPullFailed(c.Image, text))
			co.ImagePullBackoff = lifecycle.NextImagePullBackoff(co.ImagePullBackoff, end)
		}
		w.startFailed(ctx, co, c.Name, reason, text)
		return "", false
	}
	if pulled {
		var size int64
		if s, ok := w.images.(ImageSizer); ok {
			size, _ = s.ImageSize(ctx, resolved)
		}
		w.eventAt(ctx, start, c.Name, corev1.EventTypeNormal, EventPulling, msgPulling(c.Image))
		w.eventAt(ctx, end, c.Name, corev1.EventTypeNormal, EventPulled, msgPulled(c.Image, end.Sub(start), size))
	} else {
		w.eventAt(ctx, end, c.Name, corev1.EventTypeNormal, EventPulled, msgPresent(c.Image))
	}
	co.ImagePullBackoff = nil
	if resolved == "" {
		resolved = c.Image
	}
	return resolved, true
}

// pullFailure classifies an Images error: the reason from a
// *runtime.StartError or from the image store's error kinds
// (image.Reason), ErrImagePull otherwise, and the error's own text.
func pullFailure(err error) (reason, text string) {
	var se *runtime.StartError
	if errors.As(err, &se) {
		text = se.Message
		if se.Err != nil {
			text += ": " + se.Err.Error()
		}
		return se.Reason, text
	}
	if r := image.Reason(err); r != "" {
		return r, err.Error()
	}
	return runtime.ReasonErrImagePull, err.Error()
}

// startFailed records a failed start and emits the kubelet's Failed event.
func (w *Worker) startFailed(ctx context.Context, co *lifecycle.ContainerObservation, name, reason, message string) {
	co.StartFailure = &lifecycle.StartFailure{Reason: reason, Message: message, At: w.clock.Now()}
	detail := reason
	if reason != runtime.ReasonErrImagePull && reason != runtime.ReasonErrImageNeverPull && reason != runtime.ReasonImagePullBackOff && message != "" {
		detail = message
	}
	w.event(ctx, name, corev1.EventTypeWarning, EventFailed, msgError(detail))
}

// adopt finds the container a previous worker created for name and
// attempt (CreateContainer said it exists).
func (w *Worker) adopt(ctx context.Context, name string, attempt int) (string, error) {
	list, err := w.rt.ListContainers(ctx, w.obs.Sandbox.ID)
	if err != nil {
		return "", fmt.Errorf("adopt container %q attempt %d: %w", name, attempt, err)
	}
	for _, st := range list {
		if st.Name == name && st.Attempt == attempt {
			return st.ID, nil
		}
	}
	return "", fmt.Errorf("adopt container %q attempt %d: %w", name, attempt, runtime.ErrNotFound)
}

// pullSecrets resolves the pod's imagePullSecrets from the apply set.
func (w *Worker) pullSecrets() []*corev1.Secret {
	var out []*corev1.Secret
	for _, ref := range w.pod.Spec.ImagePullSecrets {
		if s, ok := w.secrets[ref.Name]; ok {
			out = append(out, s)
		}
	}
	return out
}

// podLogDir is the pod's log directory, as the kubelet's
// /var/log/pods/NAMESPACE_NAME_UID; empty without a LogDir.
func (w *Worker) podLogDir() string {
	if w.logDir == "" {
		return ""
	}
	return filepath.Join(w.logDir, fmt.Sprintf("%s_%s_%s", w.pod.Namespace, w.pod.Name, uidOrName(w.pod)))
}

// logPath is CONTAINER/ATTEMPT.log under the pod's log directory.
func (w *Worker) logPath(name string, attempt int) string {
	dir := w.podLogDir()
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, name, fmt.Sprintf("%d.log", attempt))
}
