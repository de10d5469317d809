package podworker_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/podworker"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestRecordJSONGolden pins the run record's JSON schema (documented in
// doc.go) on a pod with an init container, a sidecar and a main container
// that crashes once.
func TestRecordJSONGolden(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	side := busybox("sidecar", "trap 'exit 0' TERM; sleep 600 & wait")
	side.RestartPolicy = &always
	pod := podOf("rec", corev1.RestartPolicyOnFailure,
		[]corev1.Container{busybox("init", "sleep 1; exit 0"), side},
		busybox("main", "sleep 2; if [ -f /tmp/x ]; then exit 0; fi; exit 3"))
	s := newStepWorld(t, pod, nil)
	grace := int64(2)
	for _, step := range []struct {
		at time.Duration
		ev podworker.EventKind
	}{
		{0, podworker.EventStart},
		{time.Second, podworker.EventExit},        // init done: sidecar, main start
		{3 * time.Second, podworker.EventExit},    // main exits 3: restarted at once
		{5 * time.Second, podworker.EventExit},    // exits 3 again: back-off 10 s
		{15 * time.Second, podworker.EventTimer},  // third instance
		{16 * time.Second, podworker.EventDelete}, // grace 2: SIGTERM to main
		{18 * time.Second, podworker.EventTimer},  // SIGKILL main, SIGTERM sidecar
		{18 * time.Second, podworker.EventExit},   // sidecar exited: done
	} {
		s.step(t, step.at, podworker.Event{Kind: step.ev, Grace: &grace})
	}
	got, err := json.MarshalIndent(s.w.Record(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "record.golden.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/podworker -run TestRecordJSONGolden -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)+"\n"); diff != "" {
		t.Errorf("record JSON differs from %s (-want +got); rerun with -update after review:\n%s", golden, diff)
	}
	var back podworker.Record
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("record does not round-trip: %v", err)
	}
	if diff := cmp.Diff(s.w.Record(), back); diff != "" {
		t.Errorf("record JSON round trip (-want +got):\n%s", diff)
	}
}
