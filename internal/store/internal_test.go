package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestDefaultRoot(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	home := func() (string, error) { return "/home/u", nil }
	noHome := func() (string, error) { return "", errors.New("no home") }
	for _, tc := range []struct {
		name    string
		euid    int
		env     map[string]string
		home    func() (string, error)
		want    string
		wantErr bool
	}{
		{"root", 0, map[string]string{"XDG_DATA_HOME": "/x"}, home, "/var/lib/podrun", false},
		{"xdg", 1000, map[string]string{"XDG_DATA_HOME": "/data"}, home, "/data/podrun", false},
		{"relative xdg is ignored", 1000, map[string]string{"XDG_DATA_HOME": "data"}, home, "/home/u/.local/share/podrun", false},
		{"home", 1000, nil, home, "/home/u/.local/share/podrun", false},
		{"no home", 1000, nil, noHome, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := defaultRoot(tc.euid, env(tc.env), tc.home)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("defaultRoot = %q, %v; want %q, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// TestPollFallback runs the watch without inotify on a fake clock.
func TestPollFallback(t *testing.T) {
	dir := t.TempDir()
	f, err := openFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	fc := clocktesting.NewFakeClock(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	f.clock, f.noInotify = fc, true
	s := &Store{root: dir, b: f}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := s.Watch(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "a"}}
	if _, err := s.PutPod(ctx, pod); err != nil {
		t.Fatal(err)
	}
	for !fc.HasWaiters() { // the poller has created its ticker
		runtime.Gosched()
	}
	fc.Step(pollInterval)
	select {
	case c := <-ch:
		if diff := cmp.Diff(Change{Kind: Pods, Namespace: "default", Name: "a"}, c); diff != "" {
			t.Errorf("polled change (-want +got):\n%s", diff)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no change after one poll interval")
	}
	cancel()
	for range ch {
	}
}

// TestOpenSweepsTemporaryFiles checks that a writer's leftover temporary
// file (it died mid-write) is removed by the next Open and never listed.
func TestOpenSweepsTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.PutPod(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "a"}}); err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(dir, "namespaces", "default", "pods", tmpPrefix+"a.json-123")
	if err := os.WriteFile(leftover, []byte(`{"metadata":{"na`), 0o600); err != nil {
		t.Fatal(err)
	}
	pods, err := s.ListPods(ctx, "default")
	if err != nil || len(pods) != 1 {
		t.Fatalf("ListPods with a leftover temporary file = %d pods, %v", len(pods), err)
	}
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("leftover temporary file still there after Open: %v", err)
	}
}

// TestDeletePodRemovesLogDir checks the on-disk part of the cascade.
func TestDeletePodRemovesLogDir(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pod, err := s.CreatePod(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "a"}})
	if err != nil {
		t.Fatal(err)
	}
	logs := s.LogDir("default", "a", pod.UID)
	if err := os.MkdirAll(filepath.Join(logs, "main"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(logs, "main", "0.log"), []byte("line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePod(ctx, "default", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(logs); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("log directory %s survived DeletePod: %v", logs, err)
	}
}
