package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// pollInterval is the period of the poll fallback, used only when the
// kernel refuses inotify.
const pollInterval = 250 * time.Millisecond

// target is what one inotify watch descriptor observes.
type target struct {
	kind Kind   // "" for the namespaces directory itself
	ns   string // the namespace of kind's directory
}

// inotifyWatch follows the kind directories of one or all namespaces.
type inotifyWatch struct {
	f       *files
	ns      string // "" for all
	fd      int
	file    *os.File
	targets map[int32]target
}

func (f *files) watch(ctx context.Context, ns string) (<-chan Change, error) {
	if !f.noInotify {
		w, err := f.newInotify(ns)
		if err == nil {
			ch := make(chan Change)
			go w.run(ctx, ch)
			return ch, nil
		}
	}
	ch := make(chan Change)
	prev := f.snapshot(ns) // before returning, so no later write is missed
	go f.poll(ctx, ns, prev, ch)
	return ch, nil
}

func (f *files) newInotify(ns string) (*inotifyWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, err
	}
	// A non-blocking descriptor makes the File pollable: Read parks in
	// the runtime's poller and Close wakes it.
	w := &inotifyWatch{f: f, ns: ns, fd: fd, file: os.NewFile(uintptr(fd), "inotify"), targets: map[int32]target{}}
	nss := []string{ns}
	if ns == "" {
		if err := w.add(filepath.Join(f.root, "namespaces"), target{}, unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_ONLYDIR); err != nil {
			w.file.Close()
			return nil, err
		}
		if nss, err = f.namespaces(); err != nil {
			w.file.Close()
			return nil, err
		}
	}
	for _, n := range nss {
		if err := w.addNamespace(n); err != nil {
			w.file.Close()
			return nil, err
		}
	}
	return w, nil
}

func (w *inotifyWatch) add(dir string, t target, mask uint32) error {
	wd, err := unix.InotifyAddWatch(w.fd, dir, mask)
	if err != nil {
		return err
	}
	w.targets[int32(wd)] = t
	return nil
}

// addNamespace watches the kind directories of ns, creating them if
// needed (an empty directory is not an object).
func (w *inotifyWatch) addNamespace(ns string) error {
	for _, k := range kinds {
		dir := w.f.dir(k, ns)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if err := w.add(dir, target{kind: k, ns: ns}, unix.IN_MOVED_TO|unix.IN_DELETE|unix.IN_ONLYDIR); err != nil {
			return err
		}
	}
	return nil
}

// run forwards inotify events as Changes until ctx is done, then closes
// ch. It owns the descriptor.
func (w *inotifyWatch) run(ctx context.Context, ch chan<- Change) {
	defer close(ch)
	stop := make(chan struct{})
	closed := make(chan struct{})
	go func() { // wakes the blocked Read when ctx ends
		defer close(closed)
		select {
		case <-ctx.Done():
		case <-stop:
		}
		w.file.Close()
	}()
	defer func() { close(stop); <-closed }()

	buf := make([]byte, 64*1024)
	for {
		n, err := w.file.Read(buf)
		if err != nil {
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
				continue
			}
			return
		}
		for _, c := range w.parse(buf[:n]) {
			select {
			case ch <- c:
			case <-ctx.Done():
				return
			}
		}
	}
}

// parse decodes a batch of inotify events into Changes.
func (w *inotifyWatch) parse(buf []byte) []Change {
	var out []Change
	for off := 0; off+unix.SizeofInotifyEvent <= len(buf); {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
		nameBytes := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
		name := string(bytes.TrimRight(nameBytes, "\x00"))
		off += unix.SizeofInotifyEvent + int(ev.Len)

		if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
			out = append(out, Change{Namespace: w.ns, Resync: true})
			continue
		}
		t, ok := w.targets[ev.Wd]
		if !ok || ev.Mask&unix.IN_IGNORED != 0 {
			continue
		}
		if t.kind == "" { // a new namespace directory
			if ev.Mask&unix.IN_ISDIR != 0 && !strings.HasPrefix(name, ".") {
				if err := w.addNamespace(name); err != nil {
					out = append(out, Change{Resync: true})
					continue
				}
				// Objects may have landed before the watch: re-list.
				out = append(out, Change{Namespace: name, Resync: true})
			}
			continue
		}
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, jsonExt) {
			continue
		}
		out = append(out, Change{Kind: t.kind, Namespace: t.ns, Name: strings.TrimSuffix(name, jsonExt)})
	}
	return out
}

// stamp identifies one version of one file for the poll fallback.
type stamp struct {
	mod  time.Time
	size int64
	ino  uint64
}

// poll is the fallback watch: it compares directory snapshots every
// pollInterval on the store's clock.
func (f *files) poll(ctx context.Context, ns string, prev map[Change]stamp, ch chan<- Change) {
	defer close(ch)
	t := f.clock.NewTicker(pollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		cur := f.snapshot(ns)
		for _, c := range diffSnapshots(prev, cur) {
			select {
			case ch <- c:
			case <-ctx.Done():
				return
			}
		}
		prev = cur
	}
}

func (f *files) snapshot(ns string) map[Change]stamp {
	nss := []string{ns}
	if ns == "" {
		nss, _ = f.namespaces()
	}
	out := map[Change]stamp{}
	for _, n := range nss {
		for _, k := range kinds {
			entries, _ := os.ReadDir(f.dir(k, n))
			for _, e := range entries {
				name := e.Name()
				if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, jsonExt) {
					continue
				}
				info, err := e.Info()
				if err != nil {
					continue
				}
				var ino uint64
				if st, ok := info.Sys().(*syscall.Stat_t); ok {
					ino = st.Ino
				}
				out[Change{Kind: k, Namespace: n, Name: strings.TrimSuffix(name, jsonExt)}] = stamp{info.ModTime(), info.Size(), ino}
			}
		}
	}
	return out
}

// diffSnapshots lists what was written or removed between two snapshots.
func diffSnapshots(prev, cur map[Change]stamp) []Change {
	var out []Change
	for c, s := range cur {
		if p, ok := prev[c]; !ok || p != s {
			out = append(out, c)
		}
	}
	for c := range prev {
		if _, ok := cur[c]; !ok {
			out = append(out, c)
		}
	}
	return out
}
