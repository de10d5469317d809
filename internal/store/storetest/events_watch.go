// Package storetest is the contract every store.Store backend passes: the
// on-disk state directory and the in-memory store run the same suite
// (STYLE.md habit 8).
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/podrun/podrun/internal/store"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Event returns a kubelet event about pod at t, for tests.
func Event(pod *corev1.Pod, fieldPath, reason, message string, at time.Time) *corev1.Event {
	return &corev1.Event{
		InvolvedObject: corev1.ObjectReference{
			Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, APIVersion: "v1", FieldPath: fieldPath,
		},
		Reason: reason, Message: message, Type: corev1.EventTypeNormal,
		Source:         corev1.EventSource{Component: "kubelet", Host: "localhost"},
		FirstTimestamp: metav1.NewTime(at),
	}
}

func testEvents(t *testing.T, s *store.Store) {
	ctx := ctxFor(t)
	pod, err := s.CreatePod(ctx, Pod("default", "p"))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	record := func(reason, msg string, at time.Time) *corev1.Event {
		t.Helper()
		e, err := s.RecordEvent(ctx, Event(pod, "spec.containers{main}", reason, msg, at))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	pulled := record("Pulled", "Container image already present", t0)
	record("Started", "Container started", t0.Add(time.Second))
	again := record("Pulled", "Container image already present", t0.Add(30*time.Second))
	record("BackOff", "Back-off restarting failed container", t0.Add(40*time.Second))

	if again.Name != pulled.Name || again.Count != 2 {
		t.Errorf("repeated event: name %s count %d, want %s count 2", again.Name, again.Count, pulled.Name)
	}
	if !again.FirstTimestamp.Time.Equal(t0) || !again.LastTimestamp.Time.Equal(t0.Add(30*time.Second)) {
		t.Errorf("repeated event times: first %v last %v", again.FirstTimestamp, again.LastTimestamp)
	}
	if want := fmt.Sprintf("p.%x", t0.UnixNano()); pulled.Name != want {
		t.Errorf("event name %s, want %s", pulled.Name, want)
	}

	other, err := s.CreatePod(ctx, Pod("default", "q"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordEvent(ctx, Event(other, "", "Scheduled", "Successfully assigned default/q to localhost", t0)); err != nil {
		t.Fatal(err)
	}

	evs, err := s.EventsFor(ctx, "default", pod.UID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, fmt.Sprintf("%s x%d", e.Reason, e.Count))
	}
	if diff := cmp.Diff([]string{"Pulled x2", "Started x1", "BackOff x1"}, got); diff != "" {
		t.Errorf("EventsFor in name order (-want +got):\n%s", diff)
	}
	all, err := s.ListEvents(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 {
		t.Errorf("ListEvents(all) holds %d events, want 4", len(all))
	}
}

func testDeleteCascade(t *testing.T, s *store.Store) {
	ctx := ctxFor(t)
	pod, err := s.CreatePod(ctx, Pod("default", "p"))
	if err != nil {
		t.Fatal(err)
	}
	job, err := s.CreateJob(ctx, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "p"}})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	if _, err := s.RecordEvent(ctx, Event(pod, "", "Scheduled", "assigned", at)); err != nil {
		t.Fatal(err)
	}
	jobEvent := &corev1.Event{
		InvolvedObject: corev1.ObjectReference{Kind: "Job", Namespace: "default", Name: "p", UID: job.UID},
		Reason:         "SuccessfulCreate", Message: "Created pod: p", FirstTimestamp: metav1.NewTime(at),
	}
	if _, err := s.RecordEvent(ctx, jobEvent); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRecord(ctx, "default", "p", json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	lock, err := s.LockSupervisor("default", "p")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()

	if err := s.DeletePod(ctx, "default", "p"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetRecord(ctx, "default", "p"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("record after DeletePod: err = %v, want ErrNotFound", err)
	}
	if evs, _ := s.EventsFor(ctx, "default", pod.UID); len(evs) != 0 {
		t.Errorf("pod events after DeletePod: %v", evs)
	}
	if evs, _ := s.EventsFor(ctx, "default", job.UID); len(evs) != 1 {
		t.Errorf("DeletePod removed the events of the Job of the same name: %v", evs)
	}
	if _, err := s.GetJob(ctx, "default", "p"); err != nil {
		t.Errorf("DeletePod removed the Job of the same name: %v", err)
	}
}

func testInvalidNames(t *testing.T, s *store.Store) {
	ctx := ctxFor(t)
	for _, bad := range [][2]string{{"", "a"}, {"default", ""}, {"default", "../x"}, {"default", ".hidden"}, {"a/b", "c"}, {"..", "c"}} {
		if _, err := s.CreatePod(ctx, Pod(bad[0], bad[1])); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("CreatePod(%q, %q): err = %v, want ErrInvalid", bad[0], bad[1], err)
		}
		if _, err := s.GetPod(ctx, bad[0], bad[1]); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("GetPod(%q, %q): err = %v, want ErrInvalid", bad[0], bad[1], err)
		}
	}
}

// next waits for a change matching want, skipping others.
func next(t *testing.T, ch <-chan store.Change, match func(store.Change) bool) store.Change {
	t.Helper()
	timeout := time.NewTimer(watchTimeout)
	defer timeout.Stop()
	for {
		select {
		case c, ok := <-ch:
			if !ok {
				t.Fatal("watch channel closed early")
			}
			if match(c) {
				return c
			}
		case <-timeout.C:
			t.Fatal("no matching change before the timeout")
		}
	}
}

func testWatchNamespace(t *testing.T, s *store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := s.Watch(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutPod(ctx, Pod("other", "x")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutPod(ctx, Pod("default", "a")); err != nil {
		t.Fatal(err)
	}
	c := next(t, ch, func(c store.Change) bool { return c.Kind == store.Pods || c.Resync })
	if diff := cmp.Diff(store.Change{Kind: store.Pods, Namespace: "default", Name: "a"}, c); diff != "" {
		t.Errorf("first pod change in default (-want +got):\n%s", diff)
	}
	if err := s.DeletePod(ctx, "default", "a"); err != nil {
		t.Fatal(err)
	}
	next(t, ch, func(c store.Change) bool { return c.Kind == store.Pods && c.Name == "a" })

	cancel()
	timeout := time.NewTimer(watchTimeout)
	defer timeout.Stop()
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout.C:
			t.Fatal("watch channel not closed after cancel")
		}
	}
}

func testWatchAll(t *testing.T, s *store.Store) {
	ctx := ctxFor(t)
	if _, err := s.PutPod(ctx, Pod("existing", "a")); err != nil {
		t.Fatal(err)
	}
	ch, err := s.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutPod(ctx, Pod("existing", "b")); err != nil {
		t.Fatal(err)
	}
	next(t, ch, func(c store.Change) bool { return c.Namespace == "existing" && c.Name == "b" })
	// A namespace that appears after the watch started: either the change
	// itself or a resync of that namespace must arrive.
	if _, err := s.PutPod(ctx, Pod("fresh", "c")); err != nil {
		t.Fatal(err)
	}
	next(t, ch, func(c store.Change) bool { return c.Namespace == "fresh" && (c.Name == "c" || c.Resync) })
	if _, err := s.RecordEvent(ctx, Event(Pod("fresh", "c"), "", "Scheduled", "assigned", time.Unix(1, 0))); err != nil {
		t.Fatal(err)
	}
	next(t, ch, func(c store.Change) bool { return c.Kind == store.Events && c.Namespace == "fresh" })
}

func testSupervisorLock(t *testing.T, s *store.Store) {
	if pid, alive, err := s.Supervisor("default", "p"); err != nil || alive || pid != 0 {
		t.Errorf("Supervisor before any lock = %d, %v, %v; want 0, false, nil", pid, alive, err)
	}
	l, err := s.LockSupervisor("default", "p")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.LockSupervisor("default", "p"); !errors.Is(err, store.ErrLocked) {
		t.Errorf("second LockSupervisor: err = %v, want ErrLocked", err)
	}
	pid, alive, err := s.Supervisor("default", "p")
	if err != nil || !alive || pid != os.Getpid() {
		t.Errorf("Supervisor while locked = %d, %v, %v; want %d, true, nil", pid, alive, err, os.Getpid())
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Errorf("second Release: %v", err)
	}
	if _, alive, _ := s.Supervisor("default", "p"); alive {
		t.Error("Supervisor alive after Release")
	}
	l2, err := s.LockSupervisor("default", "p")
	if err != nil {
		t.Fatalf("LockSupervisor after Release: %v", err)
	}
	l2.Release()
}
