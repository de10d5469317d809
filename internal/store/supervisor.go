package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// SupervisorLock is held by the one live supervisor of a pod, for as long
// as it lives: the kernel releases it when the process dies, so the next
// podrun command can tell a dead supervisor from a live one.
type SupervisorLock struct {
	once    sync.Once
	release func() error
	err     error
}

// Release gives the lock up. It is idempotent.
func (l *SupervisorLock) Release() error {
	l.once.Do(func() { l.err = l.release() })
	return l.err
}

// LockSupervisor takes the supervisor lock of the pod ns/name for this
// process and records its pid; ErrLocked if another live holder has it.
// It does not wait.
func (s *Store) LockSupervisor(ns, name string) (*SupervisorLock, error) {
	if err := checkObject(Pods, ns, name); err != nil {
		return nil, err
	}
	l, err := s.b.lockSupervisor(ns, name)
	if err != nil {
		return nil, fmt.Errorf("lock supervisor of pod %s/%s: %w", ns, name, err)
	}
	return l, nil
}

// Supervisor reports the pid recorded by the supervisor of the pod ns/name
// and whether that supervisor is alive (holds its lock). pid is 0 when no
// supervisor ever locked the pod, or when one is alive but has not yet
// written its pid.
func (s *Store) Supervisor(ns, name string) (pid int, alive bool, err error) {
	if err := checkObject(Pods, ns, name); err != nil {
		return 0, false, err
	}
	pid, alive, err = s.b.supervisor(ns, name)
	if err != nil {
		return 0, false, fmt.Errorf("supervisor of pod %s/%s: %w", ns, name, err)
	}
	return pid, alive, nil
}

func (f *files) supervisorPath(ns, name string) string {
	return filepath.Join(f.root, "namespaces", ns, "supervisors", name+".lock")
}

func (f *files) lockSupervisor(ns, name string) (*SupervisorLock, error) {
	path := f.supervisorPath(ns, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	for {
		lf, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return nil, err
		}
		if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			lf.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, ErrLocked
			}
			return nil, err
		}
		// The file may have been removed (DeletePod) between open and
		// flock: a lock on an unlinked file protects nothing. Retry.
		if same, err := samePath(lf, path); err != nil || !same {
			lf.Close()
			if err != nil {
				return nil, err
			}
			continue
		}
		if err := writePID(lf); err != nil {
			lf.Close()
			return nil, err
		}
		return &SupervisorLock{release: lf.Close}, nil
	}
}

// samePath reports whether the open file f is still the file at path.
func samePath(f *os.File, path string) (bool, error) {
	a, err := f.Stat()
	if err != nil {
		return false, err
	}
	b, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(a, b), nil
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		return err
	}
	return f.Sync()
}

func (f *files) supervisor(ns, name string) (int, bool, error) {
	lf, err := os.OpenFile(f.supervisorPath(ns, name), os.O_RDONLY|unix.O_CLOEXEC, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	defer lf.Close()
	alive := false
	switch err := unix.Flock(int(lf.Fd()), unix.LOCK_SH|unix.LOCK_NB); {
	case errors.Is(err, unix.EWOULDBLOCK):
		alive = true
	case err != nil:
		return 0, false, err
	}
	data, err := os.ReadFile(lf.Name())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, false, err
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid, alive, nil
}

func (f *files) removeSupervisor(ns, name string) error {
	err := os.Remove(f.supervisorPath(ns, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
