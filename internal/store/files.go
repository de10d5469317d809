package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
	"k8s.io/utils/clock"
)

// files is the state directory on disk.
type files struct {
	root  string
	clock clock.WithTicker // the poll fallback of watch
	// noInotify forces the poll fallback (tests).
	noInotify bool
}

const (
	tmpPrefix = ".tmp-"
	jsonExt   = ".json"
)

func openFiles(root string) (*files, error) {
	if root == "" {
		return nil, fmt.Errorf("open state directory: empty path: %w", ErrInvalid)
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("open state directory %s: %w", root, err)
	}
	for _, d := range []string{root, filepath.Join(root, "namespaces"), filepath.Join(root, "logs")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open state directory %s: %w", root, err)
		}
	}
	f := &files{root: root, clock: clock.RealClock{}}
	if err := f.sweep(); err != nil {
		return nil, err
	}
	return f, nil
}

// sweep removes the temporary files of writers that died mid-write. Every
// write happens under the lock, so with the lock held any temporary file
// is a leftover.
func (f *files) sweep() error {
	unlock, err := f.lock(context.Background())
	if err != nil {
		return err
	}
	defer unlock()
	return filepath.WalkDir(filepath.Join(f.root, "namespaces"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return fmt.Errorf("sweep %s: %w", path, err)
		}
		if !d.IsDir() && strings.HasPrefix(d.Name(), tmpPrefix) {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("sweep %s: %w", path, err)
			}
		}
		return nil
	})
}

func (f *files) dir(k Kind, ns string) string {
	return filepath.Join(f.root, "namespaces", ns, string(k))
}

func (f *files) path(k Kind, ns, name string) string {
	return filepath.Join(f.dir(k, ns), name+jsonExt)
}

// lock takes an exclusive flock on root/lock. Each call opens the file
// anew, so goroutines of one process exclude each other as processes do.
// The wait is bounded by the holder's one short operation.
func (f *files) lock(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lf, err := os.OpenFile(filepath.Join(f.root, "lock"), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock state directory: %w", err)
	}
	for {
		err = unix.Flock(int(lf.Fd()), unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		lf.Close()
		return nil, fmt.Errorf("lock state directory: %w", err)
	}
	return func() { lf.Close() }, nil // closing the file releases the lock
}

func (f *files) read(k Kind, ns, name string) ([]byte, error) {
	data, err := os.ReadFile(f.path(k, ns, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	return data, err
}

func (f *files) write(k Kind, ns, name string, data []byte) error {
	return writeAtomic(f.dir(k, ns), name+jsonExt, data)
}

func (f *files) remove(k Kind, ns, name string) error {
	err := os.Remove(f.path(k, ns, name))
	if err == nil {
		return syncDir(f.dir(k, ns))
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func (f *files) list(k Kind, ns string) ([]string, error) {
	entries, err := os.ReadDir(f.dir(k, ns))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, jsonExt) {
			continue
		}
		names = append(names, strings.TrimSuffix(n, jsonExt))
	}
	return names, nil // ReadDir sorts by file name
}

func (f *files) namespaces() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(f.root, "namespaces"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out, nil
}

func (f *files) readMeta(name string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(f.root, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	return data, err
}

func (f *files) writeMeta(name string, data []byte) error {
	return writeAtomic(f.root, name, data)
}

func (f *files) removeLogDir(dir string) error {
	return os.RemoveAll(dir)
}

// writeAtomic replaces dir/name with data: a temporary file in dir is
// written and fsynced, renamed over name, and dir is fsynced so that the
// rename survives a crash.
func writeAtomic(dir, name string, data []byte) (err error) {
	if err := ensureDir(dir); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, tmpPrefix+name+"-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

// ensureDir creates dir and its missing parents, fsyncing each parent
// that gained an entry so that a crash cannot lose the new directory.
func ensureDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := ensureDir(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		return err
	}
	return syncDir(parent)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
