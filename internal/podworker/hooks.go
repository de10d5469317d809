package podworker

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"

	"github.com/podrun/podrun/internal/runtime"
)

// execer is the one Runtime method exec hooks need.
type execer interface {
	ExecSync(ctx context.Context, containerID string, cmd []string, timeout time.Duration) (runtime.ExecResult, error)
}

// runtimeHooks runs exec handlers through the runtime and sleep handlers
// on the clock; httpGet comes with the hooks issue.
type runtimeHooks struct {
	rt    execer
	clock clock.WithTicker
}

// NewHooks returns the default Hooks: exec through rt.ExecSync (no
// timeout but the command's own, H7), sleep as a timer on clk (H5) that
// ends HookTarget.StartedAt plus its seconds. An
// httpGet handler fails with runtime.ErrNotSupported for now; tcpSocket
// always fails, as on the kubelet.
func NewHooks(rt runtime.Runtime, clk clock.WithTicker) Hooks {
	return &runtimeHooks{rt: rt, clock: clk}
}

// Run executes h against target.
func (h *runtimeHooks) Run(ctx context.Context, target HookTarget, handler *corev1.LifecycleHandler) error {
	name := target.Container.Name
	switch {
	case handler.Exec != nil:
		cmd := handler.Exec.Command
		res, err := h.rt.ExecSync(ctx, target.ContainerID, cmd, 0)
		if err != nil {
			return fmt.Errorf("%s", msgExecHookFailed(cmd, name, target.Pod, err, ""))
		}
		if res.ExitCode != 0 {
			out := string(res.Stdout) + string(res.Stderr)
			cause := fmt.Errorf("command '%s' exited with %d: %s", strings.Join(cmd, " "), res.ExitCode, out)
			return fmt.Errorf("%s", msgExecHookFailed(cmd, name, target.Pod, cause, out))
		}
		return nil
	case handler.Sleep != nil:
		d := time.Duration(handler.Sleep.Seconds) * time.Second
		if !target.StartedAt.IsZero() {
			d = target.StartedAt.Add(d).Sub(h.clock.Now())
		}
		if d <= 0 {
			return nil // a hook run again after a resume, its time already up
		}
		t := h.clock.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C():
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	case handler.HTTPGet != nil:
		return fmt.Errorf("http lifecycle hook for container %q in pod %q: %w", name, podDesc(target.Pod), runtime.ErrNotSupported)
	case handler.TCPSocket != nil:
		return fmt.Errorf("tcpSocket lifecycle hook for container %q in pod %q is not supported by the kubelet", name, podDesc(target.Pod))
	}
	return fmt.Errorf("lifecycle hook for container %q in pod %q has no handler", name, podDesc(target.Pod))
}
