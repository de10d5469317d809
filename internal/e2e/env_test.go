package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/internal/backend/local"
	"github.com/podrun/podrun/internal/lifecycle"
)

// Pacing of the parallel tests on a small machine: at most maxRunning
// tests hold containers at once, and they start at least startSpacing
// apart so that runc create/start bursts do not pile up on 2 cores.
const (
	maxRunning   = 14
	startSpacing = 300 * time.Millisecond
)

// admission paces the tests that run containers (admit).
var admission = &pacer{slots: make(chan struct{}, maxRunning)}

type pacer struct {
	slots chan struct{}
	mu    sync.Mutex
	last  time.Time
}

// admit waits for a slot to run containers and for the start spacing,
// and releases the slot when t ends.
func admit(t *testing.T) {
	t.Helper()
	admission.slots <- struct{}{}
	t.Cleanup(func() { <-admission.slots })
	admission.mu.Lock()
	if wait := time.Until(admission.last.Add(startSpacing)); wait > 0 {
		time.Sleep(wait)
	}
	admission.last = time.Now()
	admission.mu.Unlock()
}

// env is one test's machine: a private state directory holding the
// busybox image and a local back-end on it. Its cleanup closes the
// back-end and asserts that nothing was left behind.
type env struct {
	t     *testing.T
	root  string
	local *local.Local
	// sandboxes collects the sandbox IDs seen in the runtime's state,
	// for the cgroup and process checks.
	sandboxes *sandboxWatch
}

// newEnv makes an env for t with the node settings s.
func newEnv(t *testing.T, s lifecycle.Settings) *env {
	t.Helper()
	e := newRoot(t)
	l, err := local.Open(local.Options{Root: e.root, Settings: s, NodeName: "e2e-node",
		Logger: slog.New(slog.NewTextHandler(&testLog{t: t}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatalf("local.Open(%s): %v", e.root, err)
	}
	e.local = l
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("close the back-end: %v", err)
		}
	})
	return e
}

// newRoot makes a state directory with the busybox image loaded and
// registers the leftover checks (which run after every later cleanup).
func newRoot(t *testing.T) *env {
	t.Helper()
	requireE2E(t)
	root := os.Getenv(envRoot) // a child uses the directory its parent named
	if root == "" {
		var err error
		if root, err = os.MkdirTemp("", "podrun-e2e-root-"); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{t: t, root: root}
	e.sandboxes = watchSandboxes(filepath.Join(root, "runtime", "sandboxes"))
	t.Cleanup(func() {
		e.sandboxes.stop()
		if e.assertNothingLeft() {
			if err := os.RemoveAll(root); err != nil {
				t.Errorf("remove state directory: %v", err)
			}
		} else {
			t.Logf("state directory %s kept for inspection", root)
		}
	})
	loadBusybox(t, root)
	return e
}

// loadBusybox loads the suite's busybox layout into the image store of
// the state directory root, under docker.io/library/busybox:latest.
func loadBusybox(t *testing.T, root string) {
	t.Helper()
	st, err := openImages(root)
	if err != nil {
		t.Fatalf("open image store in %s: %v", root, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := st.Load(ctx, suite.busyboxLayout); err != nil {
		t.Fatalf("load busybox into %s: %v", root, err)
	}
}

// sandboxWatch lists a runtime's sandbox directory every few
// milliseconds and remembers every sandbox ID it saw: a sandbox lives at
// least as long as its containers, far longer than the period.
type sandboxWatch struct {
	dir    string
	mu     sync.Mutex
	seen   map[string]bool
	cancel context.CancelFunc
	done   chan struct{}
}

func watchSandboxes(dir string) *sandboxWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &sandboxWatch{dir: dir, seen: map[string]bool{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			w.scan()
			select {
			case <-ctx.Done():
				w.scan()
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

func (w *sandboxWatch) scan() {
	entries, _ := os.ReadDir(w.dir)
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range entries {
		w.seen[e.Name()] = true
	}
}

// add records a sandbox ID known otherwise (from a pod's UID).
func (w *sandboxWatch) add(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen[id] = true
}

// stop ends the watch and waits for it.
func (w *sandboxWatch) stop() {
	w.cancel()
	<-w.done
}

// ids returns every sandbox ID seen.
func (w *sandboxWatch) ids() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for id := range w.seen {
		out = append(out, id)
	}
	return out
}

// sandboxIDOf is the ID internal/runtime/oci gives the first sandbox of
// the pod with uid (sandboxID in sandbox.go); the podworker creates one
// sandbox per pod, attempt 0. Only the leftover checks rely on it, next
// to the IDs seen on disk.
func sandboxIDOf(uid string) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s#%d", uid, 0)))
	return hex.EncodeToString(sum[:])[:24]
}

// testLog writes log records to t.Log until the test ends.
type testLog struct {
	t  *testing.T
	mu sync.Mutex
}

func (w *testLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer func() { _ = recover() }() // a record after the test ended is dropped
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
