package image

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// fileLock is a held flock(2) lock; Unlock releases it. Locks taken through
// separate opens conflict even within one process, so two Store values on
// one root exclude each other like two processes do.
type fileLock struct{ f *os.File }

// lockFile blocks until it holds path's lock, shared or exclusive,
// creating the file if needed.
func lockFile(path string, exclusive bool) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %q: %w", path, err)
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %q: %w", path, err)
	}
	return &fileLock{f: f}, nil
}

// Unlock releases the lock.
func (l *fileLock) Unlock() error { return l.f.Close() }
