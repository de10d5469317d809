package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/types"
)

// Errors returned by the store, for errors.Is.
var (
	// ErrNotFound: the object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: Create found an object of that name.
	ErrAlreadyExists = errors.New("already exists")
	// ErrLocked: another live process holds the supervisor lock.
	ErrLocked = errors.New("locked by another process")
	// ErrInvalid: a namespace or name that cannot be stored.
	ErrInvalid = errors.New("invalid name")
)

// Kind names one kind of stored object; it is also its directory name.
type Kind string

// The kinds of objects kept per namespace.
const (
	Pods    Kind = "pods"
	Jobs    Kind = "jobs"
	Records Kind = "records"
	Events  Kind = "events"
	// Checkpoints hold a pod executor's state, for the executor that
	// continues the pod if its supervisor dies. They are not watched.
	Checkpoints Kind = "checkpoints"
	// Removals hold the removal requests of pods (MarkPodForRemoval).
	// They are not watched.
	Removals Kind = "removals"
)

// kinds lists every per-namespace kind.
var kinds = []Kind{Pods, Jobs, Records, Events}

// Change reports that an object was written or removed. Watchers re-read
// the object (or re-list) to learn its new state.
type Change struct {
	Kind      Kind
	Namespace string
	Name      string
	// Resync is set, without a name, when changes may have been lost
	// (the kernel's event queue overflowed): re-list everything.
	Resync bool
}

// Store is the state directory. All methods are safe for concurrent use by
// many goroutines and many processes.
type Store struct {
	root string
	b    backend
}

// backend is what differs between the disk and the memory store.
type backend interface {
	// lock takes the writers' lock; unlock releases it.
	lock(ctx context.Context) (unlock func(), err error)
	// read returns the content of an object, or ErrNotFound.
	read(k Kind, ns, name string) ([]byte, error)
	// write replaces an object atomically. Called with the lock held.
	write(k Kind, ns, name string, data []byte) error
	// remove deletes an object; absent objects are not an error. Called
	// with the lock held.
	remove(k Kind, ns, name string) error
	// list returns the names of the objects of a kind, sorted.
	list(k Kind, ns string) ([]string, error)
	// namespaces returns the namespaces that hold objects, sorted.
	namespaces() ([]string, error)
	// readMeta and writeMeta keep root-level values (the rv counter).
	readMeta(name string) ([]byte, error)
	writeMeta(name string, data []byte) error
	// watch streams changes in ns ("" for all) until ctx is done.
	watch(ctx context.Context, ns string) (<-chan Change, error)
	// supervisor locks, see supervisor.go.
	lockSupervisor(ns, name string) (*SupervisorLock, error)
	supervisor(ns, name string) (pid int, alive bool, err error)
	removeSupervisor(ns, name string) error
	// removeLogDir deletes a pod's log directory.
	removeLogDir(dir string) error
}

// DefaultRoot returns the state directory for this user: /var/lib/podrun
// for root, else $XDG_DATA_HOME/podrun, else ~/.local/share/podrun.
func DefaultRoot() (string, error) {
	return defaultRoot(os.Geteuid(), os.Getenv, os.UserHomeDir)
}

func defaultRoot(euid int, getenv func(string) string, home func() (string, error)) (string, error) {
	if euid == 0 {
		return "/var/lib/podrun", nil
	}
	if xdg := getenv("XDG_DATA_HOME"); filepath.IsAbs(xdg) {
		return filepath.Join(xdg, "podrun"), nil
	}
	h, err := home()
	if err != nil {
		return "", fmt.Errorf("state directory: %w", err)
	}
	return filepath.Join(h, ".local", "share", "podrun"), nil
}

// Open opens (creating if needed) the state directory at root.
func Open(root string) (*Store, error) {
	b, err := openFiles(root)
	if err != nil {
		return nil, err
	}
	return &Store{root: root, b: b}, nil
}

// NewMemory returns a Store held in memory, for tests of its users. Its
// watchers and supervisor locks work within the process only; LogDir
// names paths under a root that does not exist.
func NewMemory() *Store {
	return &Store{root: "/nonexistent/podrun-memory", b: newMemory()}
}

// Root returns the state directory.
func (s *Store) Root() string { return s.root }

// LogDir returns the directory of the container logs of the pod ns/name
// with uid, as the kubelet's /var/log/pods/<ns>_<name>_<uid>. The store
// does not create it; DeletePod removes it.
func (s *Store) LogDir(ns, name string, uid types.UID) string {
	return filepath.Join(s.root, "logs", ns+"_"+name+"_"+string(uid))
}

// Watch streams the changes of objects in namespace ns ("" for every
// namespace) until ctx is done; the channel is then closed. Start the
// watch before listing, so that no change between the two is missed. A
// slow reader never blocks writers.
func (s *Store) Watch(ctx context.Context, ns string) (<-chan Change, error) {
	if ns != "" {
		if err := checkName("namespace", ns); err != nil {
			return nil, err
		}
	}
	return s.b.watch(ctx, ns)
}

// Namespaces returns the namespaces that hold objects, sorted.
func (s *Store) Namespaces(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.b.namespaces()
}

// checkName rejects names that are not a single path element.
func checkName(what, name string) error {
	if name == "" || name == "." || name == ".." || strings.HasPrefix(name, ".") ||
		strings.ContainsAny(name, "/\x00") || len(name) > 253 {
		return fmt.Errorf("%s %q: %w", what, name, ErrInvalid)
	}
	return nil
}

func checkObject(k Kind, ns, name string) error {
	if err := checkName("namespace", ns); err != nil {
		return err
	}
	return checkName(string(k)+" name", name)
}

// withLock runs fn holding the writers' lock.
func (s *Store) withLock(ctx context.Context, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	unlock, err := s.b.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	return fn()
}

// nextRV hands out the next resourceVersion. Called with the lock held.
func (s *Store) nextRV() (string, error) {
	var n uint64
	data, err := s.b.readMeta("rv")
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return "", err
	default:
		if n, err = strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64); err != nil {
			return "", fmt.Errorf("resourceVersion counter: %w", err)
		}
	}
	n++
	v := strconv.FormatUint(n, 10)
	if err := s.b.writeMeta("rv", []byte(v+"\n")); err != nil {
		return "", err
	}
	return v, nil
}

// getJSON reads and decodes one object.
func getJSON[T any](s *Store, ctx context.Context, k Kind, ns, name string) (*T, error) {
	if err := checkObject(k, ns, name); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := s.b.read(k, ns, name)
	if err != nil {
		return nil, fmt.Errorf("get %s %s/%s: %w", k, ns, name, err)
	}
	v := new(T)
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("get %s %s/%s: decode: %w", k, ns, name, err)
	}
	return v, nil
}

// listJSON decodes every object of a kind in ns ("" for all namespaces),
// by namespace then name. Objects removed while listing are skipped.
func listJSON[T any](s *Store, ctx context.Context, k Kind, ns string) ([]*T, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	nss := []string{ns}
	if ns == "" {
		var err error
		if nss, err = s.b.namespaces(); err != nil {
			return nil, fmt.Errorf("list %s: %w", k, err)
		}
	} else if err := checkName("namespace", ns); err != nil {
		return nil, err
	}
	var out []*T
	for _, n := range nss {
		names, err := s.b.list(k, n)
		if err != nil {
			return nil, fmt.Errorf("list %s in %s: %w", k, n, err)
		}
		for _, name := range names {
			data, err := s.b.read(k, n, name)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("list %s in %s: %w", k, n, err)
			}
			v := new(T)
			if err := json.Unmarshal(data, v); err != nil {
				return nil, fmt.Errorf("list %s in %s: decode %s: %w", k, n, name, err)
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// putJSON encodes and writes one object. Called with the lock held.
func (s *Store) putJSON(k Kind, ns, name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("put %s %s/%s: encode: %w", k, ns, name, err)
	}
	if err := s.b.write(k, ns, name, data); err != nil {
		return fmt.Errorf("put %s %s/%s: %w", k, ns, name, err)
	}
	return nil
}
