package store

import (
	"context"
	"os"
	"slices"
	"sync"
)

// memory is the state directory held in memory. Its lock is a channel so
// that waiting honours ctx.
type memory struct {
	sem chan struct{} // the writers' lock

	mu          sync.Mutex
	objs        map[Kind]map[string]map[string][]byte // kind -> ns -> name -> data
	meta        map[string][]byte
	supervisors map[string]int // ns/name -> pid of the holder
	watchers    map[*memWatcher]bool
}

func newMemory() *memory {
	return &memory{
		sem:         make(chan struct{}, 1),
		objs:        map[Kind]map[string]map[string][]byte{},
		meta:        map[string][]byte{},
		supervisors: map[string]int{},
		watchers:    map[*memWatcher]bool{},
	}
}

func (m *memory) lock(ctx context.Context) (func(), error) {
	select {
	case m.sem <- struct{}{}:
		return func() { <-m.sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (m *memory) read(k Kind, ns, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	data, ok := m.objs[k][ns][name]
	if !ok {
		return nil, ErrNotFound
	}
	return slices.Clone(data), nil
}

func (m *memory) write(k Kind, ns, name string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.objs[k] == nil {
		m.objs[k] = map[string]map[string][]byte{}
	}
	if m.objs[k][ns] == nil {
		m.objs[k][ns] = map[string][]byte{}
	}
	m.objs[k][ns][name] = slices.Clone(data)
	if watched(k) { // as on disk
		m.notify(Change{Kind: k, Namespace: ns, Name: name})
	}
	return nil
}

func (m *memory) remove(k Kind, ns, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objs[k][ns][name]; ok {
		delete(m.objs[k][ns], name)
		if watched(k) {
			m.notify(Change{Kind: k, Namespace: ns, Name: name})
		}
	}
	return nil
}

func (m *memory) list(k Kind, ns string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var names []string
	for n := range m.objs[k][ns] {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, nil
}

func (m *memory) namespaces() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	set := map[string]bool{}
	for _, byNS := range m.objs {
		for ns, objs := range byNS {
			if len(objs) > 0 {
				set[ns] = true
			}
		}
	}
	var out []string
	for ns := range set {
		out = append(out, ns)
	}
	slices.Sort(out)
	return out, nil
}

func (m *memory) readMeta(name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	data, ok := m.meta[name]
	if !ok {
		return nil, ErrNotFound
	}
	return slices.Clone(data), nil
}

func (m *memory) writeMeta(name string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.meta[name] = slices.Clone(data)
	return nil
}

func (m *memory) removeLogDir(string) error { return nil }

func (m *memory) lockSupervisor(ns, name string) (*SupervisorLock, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := ns + "/" + name
	if _, held := m.supervisors[key]; held {
		return nil, ErrLocked
	}
	m.supervisors[key] = os.Getpid()
	return &SupervisorLock{release: func() error {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.supervisors, key)
		return nil
	}}, nil
}

func (m *memory) supervisor(ns, name string) (int, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	pid, held := m.supervisors[ns+"/"+name]
	return pid, held, nil
}

func (m *memory) removeSupervisor(ns, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.supervisors, ns+"/"+name)
	return nil
}

// memWatcher queues the changes for one Watch without bound, so that
// writers never wait for a slow reader.
type memWatcher struct {
	ns      string
	pending []Change
	wake    chan struct{} // capacity 1
}

// notify queues c for every interested watcher. Called with mu held.
func (m *memory) notify(c Change) {
	for w := range m.watchers {
		if w.ns == "" || w.ns == c.Namespace {
			w.pending = append(w.pending, c)
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
}

func (m *memory) watch(ctx context.Context, ns string) (<-chan Change, error) {
	w := &memWatcher{ns: ns, wake: make(chan struct{}, 1)}
	m.mu.Lock()
	m.watchers[w] = true
	m.mu.Unlock()
	ch := make(chan Change)
	go func() {
		defer close(ch)
		defer func() {
			m.mu.Lock()
			delete(m.watchers, w)
			m.mu.Unlock()
		}()
		for {
			m.mu.Lock()
			batch := w.pending
			w.pending = nil
			m.mu.Unlock()
			for _, c := range batch {
				select {
				case ch <- c:
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-w.wake:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}
