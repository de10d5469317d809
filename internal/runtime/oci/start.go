package oci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/podrun/podrun/internal/runtime"
	"github.com/podrun/podrun/internal/runtime/oci/runc"
	"github.com/podrun/podrun/internal/runtime/oci/shim"
)

// maxTerminationMessage is the kubelet's limit on a termination message
// read from terminationMessagePath.
const maxTerminationMessage = 4096

// StartContainer has a shim (podrun-shim) create the container in the OCI
// runtime with its stdout and stderr piped into the CRI log file, starts
// it, and begins watching the shim. A failure is a *StartError with reason RunContainerError
// and leaves the container Exited with reason StartError and exit code 128.
func (r *Runtime) StartContainer(ctx context.Context, containerID string) error {
	c, err := r.containerFor(ctx, "start", containerID)
	if err != nil {
		return err
	}
	c.opMu.Lock()
	defer c.opMu.Unlock()
	r.mu.Lock()
	state := c.status.State
	closed := r.closed
	_, present := r.containers[c.id]
	r.mu.Unlock()
	if !present {
		return fmt.Errorf("start container %q: removed: %w", containerID, runtime.ErrNotFound)
	}
	if closed {
		return fmt.Errorf("start container %q: runtime closed", containerID)
	}
	if state != runtime.StateCreated {
		return fmt.Errorf("start container %q: container is %s, not created", containerID, state)
	}
	if err := r.start(ctx, c); err != nil {
		se := &runtime.StartError{Reason: runtime.ReasonRunContainerError,
			Message: fmt.Sprintf("failed to start container %q: %v", c.cfg.Name, startMessage(err)), Err: err}
		r.failStart(c, se)
		return se
	}
	return nil
}

// startMessage is the part of a start failure a user needs: the OCI
// runtime's own message when there is one.
func startMessage(err error) string {
	var rerr *runc.Error
	if errors.As(err, &rerr) && rerr.Stderr != "" {
		return rerr.Stderr
	}
	return err.Error()
}

// start has a shim create the container (its stdout and stderr piped
// into the CRI log by the shim), opens pidfds on the shim and the
// container process, and runs the OCI runtime's start. On failure the
// container process, if any, is killed and the runtime state deleted.
func (r *Runtime) start(ctx context.Context, c *container) error {
	r.mu.Lock()
	launched := c.shim != nil
	r.mu.Unlock()
	// A container loaded from disk may have been created, by its shim,
	// but not started when its Runtime died.
	if !launched {
		if err := r.launch(ctx, c); err != nil {
			return err
		}
	}
	// The process may exit before runc start returns; its start time is
	// taken before, so a fast exit still reports startedAt <= finishedAt.
	r.mu.Lock()
	c.startAt = r.now()
	r.mu.Unlock()
	if err := r.runc.Start(ctx, c.id); err != nil {
		return err
	}
	r.mu.Lock()
	if c.status.State == runtime.StateCreated {
		c.status.State = runtime.StateRunning
		c.status.StartedAt = c.startAt
	}
	pid := c.status.PID
	r.mu.Unlock()
	if err := r.recordContainer(c); err != nil {
		r.log.Warn("container record", "container", c.cfg.Name, "id", c.id, "err", err)
	}
	r.log.Debug("container started", "container", c.cfg.Name, "attempt", c.cfg.Attempt, "id", c.id, "pid", pid)
	return nil
}

// launch starts the container's shim, which creates it in the OCI
// runtime, and begins watching the shim.
func (r *Runtime) launch(ctx context.Context, c *container) error {
	binary, err := r.shimBinary()
	if err != nil {
		return err
	}
	c.created = true
	l, err := shim.Launch(ctx, binary, shim.Config{
		ID: c.id, Bundle: c.bundle,
		Runtime: shim.RuntimeCommand{Command: r.runc.Command, Wrapper: r.runc.Wrapper, Root: r.runc.Root},
		LogPath: c.cfg.LogPath, LogMaxSize: r.opts.LogMaxSize, LogMaxFiles: r.opts.LogMaxFiles,
		// In a shared PID namespace the main process's children survive
		// it; the container has ended, so they go too.
		KillAll: c.sb.pidNamespace() != "",
	})
	if err != nil {
		_ = r.deleteFromRuntime(context.WithoutCancel(ctx), c)
		return err
	}
	// The container process waits in the runtime's init for start.
	shimProc, err := newProcess(l.ShimPID, l.ShimPidfd)
	if err != nil {
		_ = r.deleteFromRuntime(context.WithoutCancel(ctx), c)
		return err
	}
	proc, err := openProcess(l.PID)
	if err != nil {
		// The delete kills the container; its shim then ends.
		_ = r.deleteFromRuntime(context.WithoutCancel(ctx), c)
		_ = shimProc.wait()
		shimProc.close()
		return err
	}
	r.mu.Lock()
	c.shim, c.proc = shimProc, proc
	c.status.PID = l.PID
	r.mu.Unlock()
	r.wg.Add(1)
	go r.watch(c)
	return nil
}

// failStart ends a container whose start failed: its process (if any) is
// killed, and it is Exited with reason StartError and exit code 128.
func (r *Runtime) failStart(c *container, se *runtime.StartError) {
	r.mu.Lock()
	c.startErr = se
	proc := c.proc
	if proc == nil {
		r.finish(c, exitStatus{Code: 128, At: r.now()}, "")
	}
	r.mu.Unlock()
	if proc != nil {
		// The watcher records the exit with the start error once the
		// shim has seen the process die.
		_ = proc.signal(syscall.SIGKILL)
		<-c.exited
	}
	if err := r.recordContainer(c); err != nil {
		r.log.Warn("container record", "container", c.cfg.Name, "id", c.id, "err", err)
	}
}

// watch waits for the container's shim to exit and records the final
// status it left. It runs on a goroutine owned by the Runtime and ends
// early, recording nothing, when Close releases the shim's pidfd.
func (r *Runtime) watch(c *container) {
	defer r.wg.Done()
	if err := c.shim.wait(); err != nil {
		r.mu.Lock()
		closed := r.closed
		r.mu.Unlock()
		if !closed {
			r.log.Warn("lost container shim", "container", c.cfg.Name, "id", c.id, "err", err)
		}
		return
	}
	r.collectExit(c)
}

// collectExit records the end of a container whose shim has exited: the
// status in exit.json with OOM kill and termination message, or, when the
// shim died without writing it, the kubelet's ContainerStatusUnknown (the
// container process, if it still lives, is killed: nothing would record
// its exit or copy its output).
func (r *Runtime) collectExit(c *container) {
	ex, err := shim.ReadExit(c.bundle)
	if err != nil {
		r.mu.Lock()
		proc := c.proc
		r.mu.Unlock()
		if proc != nil {
			_ = proc.signal(syscall.SIGKILL)
		}
		r.log.Warn("container shim ended without its status", "container", c.cfg.Name, "id", c.id, "err", err)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.finish(c, exitStatus{Code: unknownExitCode, At: r.now()}, ReasonContainerStatusUnknown)
		if c.startErr == nil {
			c.status.Message = shimLostMessage
		}
		return
	}
	st := exitStatus{Code: ex.Code, Signal: syscall.Signal(ex.Signal), At: ex.FinishedAt}
	oom := oomKills(r.cgroups, c.cgroup) > 0
	msg := r.terminationMessage(c, st.Code)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finish(c, st, terminationReason(st.Code, oom))
	if c.startErr == nil {
		c.status.Message = msg
	}
	r.log.Debug("container exited", "container", c.cfg.Name, "id", c.id, "code", st.Code, "reason", c.status.Reason)
}

// ReasonContainerStatusUnknown is the terminated reason of a container
// whose shim died without recording its exit: its fate is unknown, as for
// a container the kubelet cannot locate; the exit code is 137.
const ReasonContainerStatusUnknown = "ContainerStatusUnknown"

// unknownExitCode is the exit code reported with
// ReasonContainerStatusUnknown, the kubelet's.
const unknownExitCode = 137

// shimLostMessage is the termination message of a container whose shim
// died without recording its exit.
const shimLostMessage = "The container's monitor (podrun-shim) ended without recording the container's exit"

// finish records the container's end. Callers hold r.mu.
func (r *Runtime) finish(c *container, st exitStatus, reason string) {
	if c.status.State == runtime.StateExited {
		return
	}
	c.status.State = runtime.StateExited
	c.status.FinishedAt = st.At
	c.status.ExitCode = int32(st.Code)
	c.status.Signal = st.Signal
	c.status.Reason = reason
	if c.status.StartedAt.IsZero() && c.startErr == nil {
		c.status.StartedAt = c.startAt
	}
	if c.startErr != nil {
		c.status.ExitCode, c.status.Signal = 128, 0
		c.status.Reason, c.status.Message = "StartError", c.startErr.Message
	}
	close(c.exited)
}

// terminationMessage reads the container's termination-message file or,
// with FallbackToLogsOnError and a failed exit, the tail of its log.
func (r *Runtime) terminationMessage(c *container, code int) string {
	var msg string
	if f, err := os.Open(c.termFile); err == nil {
		buf := make([]byte, maxTerminationMessage)
		n, _ := readFull(f, buf)
		f.Close()
		msg = string(buf[:n])
	}
	if msg == "" && code != 0 && fallbackToLogs(c.cfg.Container) {
		tail, err := logTail(c.cfg.LogPath)
		if err == nil {
			msg = tail
		}
	}
	return msg
}

// readFull reads until buf is full or EOF.
func readFull(f *os.File, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := f.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
