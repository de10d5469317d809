package oci

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// exitedChild starts true (in a new PID namespace when nested), calls
// started with its PID, and waits, without reaping, until it has exited
// (or was reaped already).
func exitedChild(t *testing.T, nested bool, started func(pid int)) *exec.Cmd {
	t.Helper()
	return exitedCommand(t, "true", nested, started)
}

// exitedCommand is exitedChild running the program at path.
func exitedCommand(t *testing.T, path string, nested bool, started func(pid int)) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(path)
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
// child in a nested PID namespace that nobody watches, or an exited shim,
// is reaped; a child
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
	// An exited shim (here true under the shim's name) is reaped: its
	// exit status is in its exit.json.
	shimPath := filepath.Join(t.TempDir(), shimComm)
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(truePath, shimPath); err != nil {
		t.Fatal(err)
	}
	shim := exitedCommand(t, shimPath, false, func(int) {})
	rp.endStart()

	rp.settle()

	if err := own.Wait(); err != nil {
		t.Errorf("Wait of a child in our PID namespace = %v, want its exit (the reaper must leave it)", err)
	}
	if err := watched.Wait(); err != nil {
		t.Errorf("Wait of a watched child = %v, want its exit", err)
	}
	if err := shim.Wait(); !errors.Is(err, syscall.ECHILD) {
		t.Errorf("Wait of an exited shim = %v, want ECHILD (already reaped)", err)
	}
	if err := orphan.Wait(); !errors.Is(err, syscall.ECHILD) {
		t.Errorf("Wait of an unwatched nested zombie = %v, want ECHILD (already reaped)", err)
	}
}
