package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

// TestEventsTranscript covers podrun events over the captured events of
// several pods and Jobs: kubectl events' columns, order and filters.
func TestEventsTranscript(t *testing.T) {
	_, g, clk := viewFixture(t)
	_, empty := newTestStore(t)
	var b strings.Builder
	for _, tc := range []struct {
		g    *globalOptions
		args []string
	}{
		{g, []string{"--for", "pod/c009-crashloop"}},
		{g, []string{"--for", "job/c055-job-pfp-failjob"}},
		{g, []string{"-A", "--types", "Warning"}},
		{g, []string{"--for", "pod/c027-sidecar-readiness", "--no-headers"}},
		{g, []string{"--for", "pod/c009-crashloop", "--types", "Warning", "-o", "name"}},
		{g, []string{"--for", "job/c055-job-pfp-failjob", "-o", "json"}},
		{g, []string{"--for", "job/c055-job-pfp-failjob", "-o", "jsonpath={range .items[*]}{.reason}{\"\\n\"}{end}"}},
		{g, []string{"-o", "bogus"}},
		{empty, []string{}},
		{empty, []string{"-A"}},
		{g, []string{"--types", "Info"}},
		{g, []string{"--for", "c009"}},
		{g, []string{"--for", "deploy/x"}},
	} {
		b.WriteString(transcript("events", tc.args, execute(t, t.Context(), eventsCommand, tc.g, clk, tc.args...)))
	}
	checkGolden(t, "events/transcript.txt", b.String())
}

// TestGetEventsAggregated records one event three times through the store
// as the kubelet's recorder would: get events shows one row with its count
// and first and last times.
func TestGetEventsAggregated(t *testing.T) {
	s, g := newTestStore(t)
	t0 := time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC)
	for i := range 3 {
		at := metav1.NewTime(t0.Add(time.Duration(i) * 10 * time.Second))
		ev := &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Namespace: "default"},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web", UID: "u1", FieldPath: "spec.containers{main}"},
			Type:           corev1.EventTypeWarning, Reason: "BackOff", Message: "Back-off restarting failed container main in pod web_default(u1)",
			Source: corev1.EventSource{Component: "kubelet", Host: "localhost"}, FirstTimestamp: at, LastTimestamp: at,
		}
		if _, err := s.RecordEvent(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	clk := clocktesting.NewFakeClock(t0.Add(time.Minute))
	var b strings.Builder
	for _, args := range [][]string{{"events"}, {"events", "-o", "wide"}} {
		b.WriteString(transcript("get", args, execute(t, t.Context(), getCommand, g, clk, args...)))
	}
	b.WriteString(transcript("events", nil, execute(t, t.Context(), eventsCommand, g, clk)))
	checkGolden(t, "events/aggregated.txt", b.String())
}

// TestEventsWatch records events while podrun events -w runs: each new
// event and each repeat prints one row.
func TestEventsWatch(t *testing.T) {
	s, g, clk := viewFixture(t)
	ctx, cancel := context.WithCancel(t.Context())
	lines, out := newLineReader(t)
	done := make(chan error, 1)
	go func() {
		done <- executeTo(ctx, eventsCommand, g, clk, Streams{Out: out, ErrOut: out}, "-w", "--for", "pod/c027-sidecar-readiness")
	}()
	var got []string
	for range 9 { // the header and the pod's eight events
		got = append(got, lines.next())
	}
	record := func(reason string, count int32) {
		t.Helper()
		at := metav1.NewTime(clk.Now().Add(-time.Second))
		ev := &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Namespace: "default"},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "c027-sidecar-readiness", UID: "u"},
			Type:           corev1.EventTypeNormal, Reason: reason, Message: "watched", Count: count,
			Source: corev1.EventSource{Component: "kubelet"}, FirstTimestamp: at, LastTimestamp: at,
		}
		if _, err := s.RecordEvent(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	record("Other", 1)
	got = append(got, lines.next())
	record("Other", 1) // aggregated: the same event, count 2
	got = append(got, lines.next())
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("events -w returned %v", err)
	}
	if extra := lines.rest(); len(extra) > 0 {
		t.Errorf("unexpected lines: %q", extra)
	}
	checkGolden(t, "events/watch.txt", strings.Join(got, "\n")+"\n")
}
