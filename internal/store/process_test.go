package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/internal/store"
	"github.com/podrun/podrun/internal/store/storetest"
	corev1 "k8s.io/api/core/v1"
)

// The helper process: the test binary re-executed with these variables
// plays one podrun process against a shared state directory.
const (
	envRole = "PODRUN_STORE_TEST_ROLE"
	envRoot = "PODRUN_STORE_TEST_ROOT"
	envID   = "PODRUN_STORE_TEST_ID"
)

func TestHelperProcess(t *testing.T) {
	role := os.Getenv(envRole)
	if role == "" {
		t.Skip("only run as a helper process")
	}
	s, err := store.Open(os.Getenv(envRoot))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	switch role {
	case "worker":
		err = worker(s, os.Getenv(envID))
	case "churn":
		err = churn(s)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// worker behaves like a burst of apply + get + delete commands, and
// increments the shared counter pod.
func worker(s *store.Store, id string) error {
	ctx := context.Background()
	for i := range 10 {
		name := fmt.Sprintf("w%s-%d", id, i)
		if _, err := s.CreatePod(ctx, storetest.Pod("default", name)); err != nil {
			return err
		}
		if _, err := s.UpdatePod(ctx, "default", "counter", storetest.Increment); err != nil {
			return err
		}
		if _, err := s.ListPods(ctx, ""); err != nil {
			return err
		}
		if _, err := s.RecordEvent(ctx, storetest.Event(storetest.Pod("default", name), "", "Scheduled", "assigned", time.Now())); err != nil {
			return err
		}
		if err := s.DeletePod(ctx, "default", name); err != nil {
			return err
		}
	}
	return nil
}

// churn rewrites a large pod, its record and its events until killed.
func churn(s *store.Store) error {
	ctx := context.Background()
	big := storetest.Pod("default", "big")
	for i := range 100 {
		big.Annotations[fmt.Sprintf("k%03d", i)] = strings.Repeat("x", 1000)
	}
	for i := 0; ; i++ {
		big.Annotations["version"] = strconv.Itoa(i)
		if _, err := s.PutPod(ctx, big); err != nil {
			return err
		}
		if err := s.PutRecord(ctx, "default", "big", json.RawMessage(fmt.Sprintf(`{"version":%d,"pad":%q}`, i, strings.Repeat("y", 5000)))); err != nil {
			return err
		}
		if _, err := s.RecordEvent(ctx, storetest.Event(big, "", "Pulled", fmt.Sprintf("message %d", i%7), time.Now())); err != nil {
			return err
		}
	}
}

func helper(t *testing.T, ctx context.Context, root, role, id string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), envRole+"="+role, envRoot+"="+root, envID+"="+id)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// TestManyProcesses runs several processes creating, updating, listing and
// deleting at once while this process reads: no lost update, no torn read.
func TestManyProcesses(t *testing.T) {
	root := t.TempDir()
	s, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := s.CreatePod(ctx, storetest.Pod("default", "counter")); err != nil {
		t.Fatal(err)
	}
	const procs = 6
	var cmds []*exec.Cmd
	for i := range procs {
		cmds = append(cmds, helper(t, ctx, root, "worker", strconv.Itoa(i)))
	}
	readCtx, stopReading := context.WithCancel(ctx)
	var wg sync.WaitGroup
	reads := 0
	wg.Go(func() {
		for readCtx.Err() == nil {
			if _, err := s.GetPod(ctx, "default", "counter"); err != nil {
				t.Errorf("read while %d processes write: %v", procs, err)
				return
			}
			if _, err := s.ListPods(ctx, ""); err != nil {
				t.Errorf("list while %d processes write: %v", procs, err)
				return
			}
			reads++
		}
	})
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("worker %d: %v", i, err)
		}
	}
	stopReading()
	wg.Wait()
	p, err := s.GetPod(ctx, "default", "counter")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := storetest.Count(p), procs*10; got != want {
		t.Errorf("counter = %d after %d increments from %d processes", got, want, procs)
	}
	pods, err := s.ListPods(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 1 {
		t.Errorf("%d pods left, want only the counter", len(pods))
	}
	if evs, _ := s.ListEvents(ctx, ""); len(evs) != 0 {
		t.Errorf("%d events left after every pod was deleted", len(evs))
	}
	t.Logf("%d concurrent reads", reads)
}

// TestKillWriterMidWrite kills a writing process with SIGKILL at random
// moments; afterwards every stored file must parse and the store must be
// usable.
func TestKillWriterMidWrite(t *testing.T) {
	root := t.TempDir()
	s, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	const rounds = 8
	for round := range rounds {
		watch, cancel := context.WithCancel(ctx)
		changes, err := s.Watch(watch, "default")
		if err != nil {
			t.Fatal(err)
		}
		cmd := helper(t, ctx, root, "churn", "")
		// Let it write a random number of objects, then kill it wherever
		// it happens to be.
		for range 1 + rand.IntN(40) {
			select {
			case <-changes:
			case <-time.After(30 * time.Second):
				t.Fatalf("round %d: the writer made no progress", round)
			}
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		cancel()
		for range changes {
		}
		checkAllParse(t, root)
		if s, err = store.Open(root); err != nil { // sweeps temporary files
			t.Fatal(err)
		}
		p, err := s.GetPod(ctx, "default", "big")
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if _, err := s.UpdatePod(ctx, "default", "big", func(*corev1.Pod) error { return nil }); err != nil {
			t.Fatalf("round %d: store not writable after the kill: %v", round, err)
		}
		t.Logf("round %d: killed at version %s", round, p.Annotations["version"])
	}
	leftovers, _ := filepath.Glob(filepath.Join(root, "namespaces", "*", "*", ".tmp-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left after Open: %v", leftovers)
	}
}

// checkAllParse parses every stored JSON file.
func checkAllParse(t *testing.T, root string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(root, "namespaces"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !json.Valid(data) {
			return fmt.Errorf("torn file %s: %q", path, data[:min(len(data), 80)])
		}
		n++
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no stored file to check")
	}
}
