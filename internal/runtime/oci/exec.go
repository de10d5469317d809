package oci

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/podrun/podrun/internal/runtime"
	"github.com/podrun/podrun/internal/runtime/oci/runc"
)

// ExecSync runs cmd in the running container with the container's user,
// environment and working directory, and waits for it at most timeout
// (0 = no limit). A process that outlives the timeout is killed and the
// call fails with context.DeadlineExceeded.
func (r *Runtime) ExecSync(ctx context.Context, containerID string, cmd []string, timeout time.Duration) (runtime.ExecResult, error) {
	c, err := r.containerFor(ctx, "exec in", containerID)
	if err != nil {
		return runtime.ExecResult{}, err
	}
	if len(cmd) == 0 {
		return runtime.ExecResult{}, fmt.Errorf("exec in container %q: empty command", containerID)
	}
	r.mu.Lock()
	state := c.status.State
	r.mu.Unlock()
	if state != runtime.StateRunning {
		return runtime.ExecResult{}, fmt.Errorf("exec in container %q: container is %s, not running", containerID, state)
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var stdout, stderr bytes.Buffer
	code, err := r.runc.Exec(ctx, c.id, cmd, runc.ExecOpts{Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		return runtime.ExecResult{}, fmt.Errorf("exec %q in container %q: %w", cmd[0], containerID, err)
	}
	return runtime.ExecResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: code}, nil
}
