package oci

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// exitedChild starts true (in a new PID namespace when nested), calls
// started with its PID, and waits, without reaping, until it has exited
// (or was reaped already).
func exitedChild(t *testing.T, nested bool, started func(pid int)) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("true")
	if nested {
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started(cmd.Process.Pid)
	fd, err := unix.PidfdOpen(cmd.Process.Pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return cmd // reaped already
	}
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	waitPidfd(f)
	return cmd
}

// TestReaperReapsOnlyNestedOrphans checks the Reaper's contract: a zombie
// child in a nested PID namespace that nobody watches is reaped; a child
// in our namespace (an exec.Cmd of this process) and a watched one are
// left to their owner's Wait.
func TestReaperReapsOnlyNestedOrphans(t *testing.T) {
	requireE2E(t)
	rp := testReaper(t)
	// The Reaper also runs on every SIGCHLD, concurrently: a start window
	// (beginStart) keeps it from reaping the watched child before it is
	// registered, as for a container.
	rp.beginStart()
	own := exitedChild(t, false, func(int) {})
	orphan := exitedChild(t, true, func(int) {})
	watched := exitedChild(t, true, rp.watch)
	defer rp.unwatch(watched.Process.Pid)
	rp.endStart()

	rp.settle()

	if err := own.Wait(); err != nil {
		t.Errorf("Wait of a child in our PID namespace = %v, want its exit (the reaper must leave it)", err)
	}
	if err := watched.Wait(); err != nil {
		t.Errorf("Wait of a watched child = %v, want its exit", err)
	}
	if err := orphan.Wait(); !errors.Is(err, syscall.ECHILD) {
		t.Errorf("Wait of an unwatched nested zombie = %v, want ECHILD (already reaped)", err)
	}
}
