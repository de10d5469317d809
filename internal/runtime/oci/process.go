package oci

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// process watches one container process through a pidfd.
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

// openProcess opens a pidfd for pid. The process must be a child of this
// process (the subreaper) for wait to learn its exit status.
func openProcess(pid int) (*process, error) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("pidfd of process %d: %w", pid, err)
	}
	return &process{pid: pid, f: os.NewFile(uintptr(fd), fmt.Sprintf("pidfd:%d", pid))}, nil
}

// wait blocks, without a thread and without polling, until the process
// exits (the pidfd becomes readable), reaps it with wait4 on its PID only
// and returns its status. It fails if the pidfd is closed meanwhile.
func (p *process) wait(now func() time.Time) (exitStatus, error) {
	rc, err := p.f.SyscallConn()
	if err != nil {
		return exitStatus{}, err
	}
	var ws unix.WaitStatus
	var werr error
	reaped := false
	err = rc.Read(func(uintptr) bool {
		for {
			pid, err := unix.Wait4(p.pid, &ws, unix.WNOHANG, nil)
			switch {
			case errors.Is(err, unix.EINTR):
				continue
			case err != nil:
				werr = err
				return true
			case pid == p.pid:
				reaped = true
				return true
			default:
				return false // still running: wait for the pidfd
			}
		}
	})
	if err != nil {
		return exitStatus{}, fmt.Errorf("wait for process %d: %w", p.pid, err)
	}
	at := now()
	if !reaped {
		return exitStatus{}, fmt.Errorf("wait for process %d: %w", p.pid, werr)
	}
	st := exitStatus{At: at}
	switch {
	case ws.Exited():
		st.Code = ws.ExitStatus()
	case ws.Signaled():
		st.Signal = ws.Signal()
		st.Code = 128 + int(st.Signal)
	}
	return st, nil
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
