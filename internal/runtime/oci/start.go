package oci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/podrun/podrun/internal/runtime"
	"github.com/podrun/podrun/internal/runtime/oci/runc"
)

// logDrainTimeout bounds the wait for a container's output after its main
// process exited (a process outside its PID namespace may hold the pipes).
const logDrainTimeout = 2 * time.Second

// maxTerminationMessage is the kubelet's limit on a termination message
// read from terminationMessagePath.
const maxTerminationMessage = 4096

// StartContainer creates the container in the OCI runtime with its stdout
// and stderr piped into the CRI log file, starts it, and begins watching
// its process. A failure is a *StartError with reason RunContainerError
// and leaves the container Exited with reason StartError and exit code 128.
func (r *Runtime) StartContainer(ctx context.Context, containerID string) error {
	c, err := r.lookup("start", containerID)
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

// start runs create and start; on failure the container process, if any,
// is killed and the runtime state deleted.
func (r *Runtime) start(ctx context.Context, c *container) error {
	logs, err := openLog(c.cfg.LogPath, r.opts.LogMaxSize, r.opts.LogMaxFiles, r.now)
	if err != nil {
		return err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		logs.Close()
		return err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		logs.Close()
		outR.Close()
		outW.Close()
		return err
	}
	logDone := make(chan struct{})
	r.copyLogs(c, logs, logDone, map[string]*os.File{"stdout": outR, "stderr": errR})

	pidFile := filepath.Join(c.bundle, "pid")
	c.created = true
	r.reaper.beginStart()
	defer r.reaper.endStart()
	err = r.runc.Create(ctx, c.id, c.bundle, runc.CreateOpts{PidFile: pidFile, Stdout: outW, Stderr: errW})
	outW.Close()
	errW.Close()
	if err != nil {
		<-logDone // the pipes are closed: no container process holds them
		_ = r.deleteFromRuntime(context.WithoutCancel(ctx), c)
		return err
	}
	pid, err := runc.ReadPidFile(pidFile)
	if err != nil {
		_ = r.deleteFromRuntime(context.WithoutCancel(ctx), c)
		<-logDone
		return err
	}
	proc, err := openProcess(pid)
	if err != nil {
		_ = r.deleteFromRuntime(context.WithoutCancel(ctx), c)
		<-logDone
		return err
	}
	r.reaper.watch(pid)
	r.mu.Lock()
	c.proc = proc
	c.status.PID = pid
	r.mu.Unlock()
	r.wg.Add(1)
	go r.watch(c, proc, logDone)

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
	r.mu.Unlock()
	r.log.Debug("container started", "container", c.cfg.Name, "attempt", c.cfg.Attempt, "id", c.id, "pid", pid)
	return nil
}

// copyLogs starts one copier per stream; logDone is closed and the log file
// closed when both reached EOF.
func (r *Runtime) copyLogs(c *container, logs *logWriter, logDone chan struct{}, streams map[string]*os.File) {
	r.mu.Lock()
	for _, f := range streams {
		c.pipes = append(c.pipes, f)
	}
	r.mu.Unlock()
	var remaining atomic.Int32
	remaining.Store(int32(len(streams)))
	for name, f := range streams {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			if err := logs.copyStream(f, name); err != nil && !errors.Is(err, os.ErrClosed) {
				r.log.Warn("container log", "container", c.cfg.Name, "id", c.id, "stream", name, "err", err)
			}
			f.Close()
			if remaining.Add(-1) == 0 {
				logs.Close()
				close(logDone)
			}
		}()
	}
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
		// The watcher records the exit with the start error.
		_ = proc.signal(syscall.SIGKILL)
		<-c.exited
	}
}

// watch waits for the container's process to exit and records its final
// status: exit code, OOM kill, termination message. It runs on a goroutine
// owned by the Runtime.
func (r *Runtime) watch(c *container, proc *process, logDone <-chan struct{}) {
	defer r.wg.Done()
	st, err := proc.wait(r.now)
	r.reaper.unwatch(proc.pid)
	if err != nil {
		r.mu.Lock()
		closed := r.closed
		r.mu.Unlock()
		if !closed {
			r.log.Warn("lost container process", "container", c.cfg.Name, "id", c.id, "err", err)
		}
		return
	}
	if c.sb.pause != nil {
		// In a shared PID namespace the main process's children survive
		// it; the container has ended, so they go too.
		_ = r.runc.Kill(context.Background(), c.id, syscall.SIGKILL, runc.KillOpts{All: true})
	}
	timer := time.NewTimer(logDrainTimeout)
	select {
	case <-logDone:
	case <-timer.C:
		r.log.Warn("container output still open after exit", "container", c.cfg.Name, "id", c.id)
	}
	timer.Stop()
	oom := oomKills(r.cgroups, c.cgroup) > 0
	msg := r.terminationMessage(c, st.Code)
	r.mu.Lock()
	defer r.mu.Unlock()
	reason := terminationReason(st.Code, oom)
	r.finish(c, st, reason)
	if c.startErr == nil {
		c.status.Message = msg
	}
	r.log.Debug("container exited", "container", c.cfg.Name, "id", c.id, "code", st.Code, "reason", c.status.Reason)
}

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
