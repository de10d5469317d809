package store

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A producer that aggregates repeats itself (the podworker) sends the
// whole event again under its name with the running total: the stored
// count must be that total, not a sum of totals (1, 2, 3 — not 1, 3, 6).
func TestPutEventReplacesByName(t *testing.T) {
	for name, s := range map[string]*Store{"memory": NewMemory(), "files": mustOpen(t)} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			t0 := metav1.NewTime(time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC))
			ev := &corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Name: "p.backoff", Namespace: "default"},
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p", Namespace: "default", UID: "u"},
				Reason:         "BackOff", Type: corev1.EventTypeWarning, FirstTimestamp: t0,
			}
			for count := int32(1); count <= 3; count++ {
				ev.Count = count
				ev.LastTimestamp = metav1.NewTime(t0.Add(time.Duration(count) * time.Second))
				if _, err := s.PutEvent(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.EventsFor(ctx, "default", "u")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Count != 3 || !got[0].LastTimestamp.Equal(&metav1.Time{Time: t0.Add(3 * time.Second)}) {
				t.Errorf("stored events = %+v, want one with count 3 and the last timestamp", got)
			}
		})
	}
}

func mustOpen(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}
