package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/podworker"
	"github.com/podrun/podrun/internal/store/storetest"
)

// labRecord is the run record of the native-sidecar lab's third variant:
// an init container, a postgres sidecar and a main container that exits 0,
// after which the sidecar gets SIGTERM.
func labRecord() *podworker.Record {
	t0 := time.Date(2026, 12, 3, 17, 20, 0, 0, time.UTC)
	at := func(ms int) *time.Time { t := t0.Add(time.Duration(ms) * time.Millisecond); return &t }
	code := func(c int32) *int32 { return &c }
	return &podworker.Record{
		Namespace: "default", Name: "lab", UID: "uid-lab", Node: "localhost", StartTime: at(0), FinishedAt: at(3200),
		Containers: []podworker.ContainerRecord{
			{Name: "setup", Kind: lifecycle.KindInit, Attempts: []podworker.AttemptRecord{
				{Attempt: 0, ContainerID: "runc://a", CreatedAt: at(40), StartedAt: at(52), StartedTrueAt: at(52), FinishedAt: at(110), ExitCode: code(0), Reason: "Completed"},
			}},
			{Name: "postgres", Kind: lifecycle.KindSidecar, Attempts: []podworker.AttemptRecord{
				{Attempt: 0, ContainerID: "runc://b", CreatedAt: at(120), StartedAt: at(131), StartedTrueAt: at(131), FinishedAt: at(3150),
					ReadyTransitions: []podworker.ReadyTransition{{At: *at(1131), Ready: true}},
					ExitCode:         code(0), Reason: "Completed", KilledFor: "PodSucceeded"},
			}},
			{Name: "main", Kind: lifecycle.KindRegular, Attempts: []podworker.AttemptRecord{
				{Attempt: 0, ContainerID: "runc://c", CreatedAt: at(140), StartedAt: at(151), StartedTrueAt: at(151), FinishedAt: at(3001), ExitCode: code(0), Reason: "Completed"},
			}},
			{Name: "never", Kind: lifecycle.KindRegular, Attempts: []podworker.AttemptRecord{}},
		},
		StatusHistory: []podworker.StatusChange{
			{At: *at(0), Phase: "Pending", Columns: podworker.Columns{Status: "Init:0/2", Ready: "0/2", Restarts: "0"}},
			{At: *at(3200), Phase: "Succeeded", Columns: podworker.Columns{Status: "Completed", Ready: "0/2", Restarts: "0"}},
		},
		Events: []podworker.EventRecord{{Type: "Normal", Reason: "Started", Message: "Container started", Object: "spec.containers{main}", Count: 1, FirstTime: *at(151), LastTime: *at(151)}},
	}
}

// TestTimeline prints a stored run record as a table and as JSON that
// decodes back into the same record.
func TestTimeline(t *testing.T) {
	s, g := newTestStore(t)
	ctx := context.Background()
	rec := labRecord()
	data, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutRecord(ctx, "default", "lab", data); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutPod(ctx, storetest.Pod("default", "fresh")); err != nil {
		t.Fatal(err)
	}
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 3, 17, 30, 0, 0, time.UTC))
	var b strings.Builder
	for _, args := range [][]string{
		{"lab"},
		{"pod/lab", "-o", "json"},
		{"fresh"},
		{"missing"},
		{"lab", "-o", "yaml"},
	} {
		b.WriteString(transcript("timeline", args, execute(t, t.Context(), timelineCommand, g, clk, args...)))
	}
	checkGolden(t, "timeline/transcript.txt", b.String())

	r := execute(t, t.Context(), timelineCommand, g, clk, "lab", "-o", "json")
	var back podworker.Record
	if err := json.Unmarshal([]byte(r.stdout), &back); err != nil {
		t.Fatalf("timeline -o json is not a run record: %v", err)
	}
	if diff := cmp.Diff(rec, &back); diff != "" {
		t.Errorf("run record after timeline -o json (-stored +printed):\n%s", diff)
	}
}
