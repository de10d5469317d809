package oci

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/internal/runtime/oci/shim"
)

// process watches one process through a pidfd: a container's main process
// (to signal it) or its shim (to learn of its end). Neither needs to be a
// child of this process.
type process struct {
	pid int
	f   *os.File // the pidfd, non-blocking and registered with the netpoller
}

// exitStatus is how a process ended.
type exitStatus struct {
	// Code is the exit code, 128+signal when signalled.
	Code int
	// Signal is the signal that killed it, 0 if it exited.
	Signal syscall.Signal
	At     time.Time
}

// openProcess opens a pidfd for pid.
func openProcess(pid int) (*process, error) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("pidfd of process %d: %w", pid, err)
	}
	return &process{pid: pid, f: os.NewFile(uintptr(fd), fmt.Sprintf("pidfd:%d", pid))}, nil
}

// newProcess wraps a pidfd of pid that the caller hands over.
func newProcess(pid, pidfd int) (*process, error) {
	if err := unix.SetNonblock(pidfd, true); err != nil {
		_ = unix.Close(pidfd)
		return nil, fmt.Errorf("pidfd of process %d: %w", pid, err)
	}
	return &process{pid: pid, f: os.NewFile(uintptr(pidfd), fmt.Sprintf("pidfd:%d", pid))}, nil
}

// openRecorded opens a pidfd for the process a record names by PID and
// start time; nil when that process is gone (its PID may be another's).
func openRecorded(pid int, start string) *process {
	if pid <= 0 || start == "" {
		return nil
	}
	p, err := openProcess(pid)
	if err != nil {
		return nil
	}
	// Checked after opening: the pidfd now pins the process it names.
	if shim.ProcessStart(pid) != start {
		p.close()
		return nil
	}
	return p
}

// wait blocks, without a thread and without polling, until the process
// exits (the pidfd becomes readable). If the process is a child of this
// one (a shim this process started) it is reaped; otherwise its parent
// reaps it. It fails only if the pidfd is closed meanwhile (close).
func (p *process) wait() error {
	rc, err := p.f.SyscallConn()
	if err != nil {
		return err
	}
	// A pidfd is readable once its process has exited; the callback
	// returning false parks on the netpoller until then.
	err = rc.Read(func(fd uintptr) bool { return exited(int(fd)) })
	if err != nil {
		return fmt.Errorf("wait for process %d: %w", p.pid, err)
	}
	p.reap()
	return nil
}

// reap reaps the process if it is an exited child of this process (a
// shim this process started or inherited); otherwise (ECHILD) its parent
// does. It goes through the pidfd, so it cannot take a recycled PID's
// status.
func (p *process) reap() {
	rc, err := p.f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		var info unix.Siginfo
		for {
			err := unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED|unix.WNOHANG, nil)
			if !errors.Is(err, unix.EINTR) {
				return
			}
		}
	})
}

// hasExited reports whether the process has exited.
func (p *process) hasExited() bool {
	rc, err := p.f.SyscallConn()
	if err != nil {
		return true
	}
	var done bool
	if err := rc.Control(func(fd uintptr) { done = exited(int(fd)) }); err != nil {
		return true
	}
	return done
}

// exited reports whether a pidfd's process has exited (it is readable).
func exited(fd int) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return err == nil && n > 0
	}
}

// signal sends sig through the pidfd; a process that already exited is
// not an error.
func (p *process) signal(sig syscall.Signal) error {
	rc, err := p.f.SyscallConn()
	if err != nil {
		if errors.Is(err, os.ErrClosed) {
			return nil
		}
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.PidfdSendSignal(int(fd), sig, nil, 0)
	}); err != nil {
		return err
	}
	if errors.Is(serr, unix.ESRCH) {
		return nil
	}
	return serr
}

// close releases the pidfd, ending a pending wait.
func (p *process) close() { _ = p.f.Close() }
