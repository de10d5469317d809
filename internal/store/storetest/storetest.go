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
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/podrun/podrun/internal/store"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// watchTimeout bounds how long a test waits for a change that must come.
const watchTimeout = 10 * time.Second

// RunSuite runs the contract against stores made by newStore, one fresh
// store per subtest.
func RunSuite(t *testing.T, newStore func(t *testing.T) *store.Store) {
	for _, tc := range []struct {
		name string
		test func(t *testing.T, s *store.Store)
	}{
		{"pods: create, get, put, update, list, delete", testPods},
		{"pods: update is atomic under concurrency", testConcurrentUpdates},
		{"pods: readers never see a torn object", testReadersDuringWrites},
		{"jobs", testJobs},
		{"records", testRecords},
		{"events: aggregated like the kubelet's recorder", testEvents},
		{"delete pod removes everything of it", testDeleteCascade},
		{"invalid names are rejected", testInvalidNames},
		{"watch one namespace", testWatchNamespace},
		{"watch all namespaces", testWatchAll},
		{"supervisor lock", testSupervisorLock},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.test(t, newStore(t))
		})
	}
}

// Pod returns a small pod in ns, for tests.
func Pod(ns, name string) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "busybox"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodPending},
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

func rv(t *testing.T, o metav1.Object) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(o.GetResourceVersion(), 10, 64)
	if err != nil {
		t.Fatalf("resourceVersion of %s: %v", o.GetName(), err)
	}
	return n
}

func testPods(t *testing.T, s *store.Store) {
	ctx := ctxFor(t)
	if _, err := s.GetPod(ctx, "default", "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetPod of a missing pod: err = %v, want ErrNotFound", err)
	}
	created, err := s.CreatePod(ctx, Pod("default", "a"))
	if err != nil {
		t.Fatal(err)
	}
	if created.UID == "" || created.ResourceVersion == "" {
		t.Errorf("CreatePod did not set UID (%q) and resourceVersion (%q)", created.UID, created.ResourceVersion)
	}
	got, err := s.GetPod(ctx, "default", "a")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(created, got); diff != "" {
		t.Errorf("GetPod after CreatePod (-created +got):\n%s", diff)
	}
	if _, err := s.CreatePod(ctx, Pod("default", "a")); !errors.Is(err, store.ErrAlreadyExists) {
		t.Errorf("second CreatePod: err = %v, want ErrAlreadyExists", err)
	}

	next := got.DeepCopy()
	next.Status.Phase = corev1.PodRunning
	put, err := s.PutPod(ctx, next)
	if err != nil {
		t.Fatal(err)
	}
	if rv(t, put) <= rv(t, created) {
		t.Errorf("PutPod resourceVersion %s not after %s", put.ResourceVersion, created.ResourceVersion)
	}
	updated, err := s.UpdatePod(ctx, "default", "a", func(p *corev1.Pod) error {
		if p.Status.Phase != corev1.PodRunning {
			return fmt.Errorf("update saw phase %s, want Running", p.Status.Phase)
		}
		p.Status.Phase = corev1.PodSucceeded
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if updated.Status.Phase != corev1.PodSucceeded || rv(t, updated) <= rv(t, put) {
		t.Errorf("UpdatePod returned phase %s rv %s", updated.Status.Phase, updated.ResourceVersion)
	}
	abort := errors.New("abort")
	if _, err := s.UpdatePod(ctx, "default", "a", func(p *corev1.Pod) error {
		p.Status.Phase = corev1.PodFailed
		return abort
	}); !errors.Is(err, abort) {
		t.Errorf("UpdatePod with a failing fn: err = %v, want the fn's error", err)
	}
	if got, _ := s.GetPod(ctx, "default", "a"); got.Status.Phase != corev1.PodSucceeded {
		t.Errorf("aborted update was stored: phase %s", got.Status.Phase)
	}
	if _, err := s.UpdatePod(ctx, "default", "missing", func(*corev1.Pod) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdatePod of a missing pod: err = %v, want ErrNotFound", err)
	}

	for _, p := range []*corev1.Pod{Pod("default", "c"), Pod("default", "b"), Pod("other", "a")} {
		if _, err := s.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	names := func(ns string) []string {
		pods, err := s.ListPods(ctx, ns)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range pods {
			out = append(out, p.Namespace+"/"+p.Name)
		}
		return out
	}
	if diff := cmp.Diff([]string{"default/a", "default/b", "default/c"}, names("default")); diff != "" {
		t.Errorf("ListPods(default) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"default/a", "default/b", "default/c", "other/a"}, names("")); diff != "" {
		t.Errorf("ListPods(all) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string(nil), names("empty")); diff != "" {
		t.Errorf("ListPods(empty) (-want +got):\n%s", diff)
	}

	if err := s.DeletePod(ctx, "default", "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePod(ctx, "default", "b"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeletePod: err = %v, want ErrNotFound", err)
	}
	if diff := cmp.Diff([]string{"default/a", "default/c"}, names("default")); diff != "" {
		t.Errorf("ListPods after delete (-want +got):\n%s", diff)
	}
}

// testConcurrentUpdates increments a counter from many goroutines; a lost
// update would show as a smaller total.
func testConcurrentUpdates(t *testing.T, s *store.Store) {
	ctx := ctxFor(t)
	if _, err := s.CreatePod(ctx, Pod("default", "counter")); err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range each {
				if _, err := s.UpdatePod(ctx, "default", "counter", Increment); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	p, err := s.GetPod(ctx, "default", "counter")
	if err != nil {
		t.Fatal(err)
	}
	if got := Count(p); got != workers*each {
		t.Errorf("counter = %d after %d concurrent increments", got, workers*each)
	}
}

// Increment adds one to the "count" annotation of p.
func Increment(p *corev1.Pod) error {
	n := Count(p)
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	p.Annotations["count"] = strconv.Itoa(n + 1)
	return nil
}

// Count returns the "count" annotation of p.
func Count(p *corev1.Pod) int {
	n, _ := strconv.Atoi(p.Annotations["count"])
	return n
}

// testReadersDuringWrites reads while another goroutine rewrites a large
// pod: every read must decode and be one of the written versions.
func testReadersDuringWrites(t *testing.T, s *store.Store) {
	ctx := ctxFor(t)
	big := Pod("default", "big")
	for i := range 200 {
		big.Annotations[fmt.Sprintf("k%03d", i)] = fmt.Sprintf("%0500d", i)
	}
	if _, err := s.PutPod(ctx, big); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for i := range 10 {
			p := big.DeepCopy()
			p.Annotations["version"] = strconv.Itoa(i)
			if _, err := s.PutPod(ctx, p); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				p, err := s.GetPod(ctx, "default", "big")
				if err != nil {
					t.Errorf("read during writes: %v", err)
					return
				}
				if len(p.Annotations) < 200 {
					t.Errorf("read a partial pod: %d annotations", len(p.Annotations))
					return
				}
			}
		})
	}
	wg.Wait()
}

func testJobs(t *testing.T, s *store.Store) {
	ctx := ctxFor(t)
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "j"}}
	created, err := s.CreateJob(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateJob(ctx, job); !errors.Is(err, store.ErrAlreadyExists) {
		t.Errorf("second CreateJob: err = %v, want ErrAlreadyExists", err)
	}
	updated, err := s.UpdateJob(ctx, "default", "j", func(j *batchv1.Job) error {
		j.Status.Succeeded = 1
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if updated.Status.Succeeded != 1 || rv(t, updated) <= rv(t, created) {
		t.Errorf("UpdateJob returned succeeded=%d rv=%s", updated.Status.Succeeded, updated.ResourceVersion)
	}
	if _, err := s.PutJob(ctx, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "x", Name: "k"}}); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.ListJobs(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[0].Name != "j" || jobs[1].Name != "k" {
		t.Errorf("ListJobs(all) = %v, want j then k", jobs)
	}
	got, err := s.GetJob(ctx, "default", "j")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(updated, got); diff != "" {
		t.Errorf("GetJob (-updated +got):\n%s", diff)
	}
	if err := s.DeleteJob(ctx, "default", "j"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetJob(ctx, "default", "j"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetJob after delete: err = %v, want ErrNotFound", err)
	}
}

func testRecords(t *testing.T, s *store.Store) {
	ctx := ctxFor(t)
	if _, err := s.GetRecord(ctx, "default", "p"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRecord of a missing record: err = %v, want ErrNotFound", err)
	}
	rec := json.RawMessage(`{"attempts":[{"container":"main","exit":0}]}`)
	if err := s.PutRecord(ctx, "default", "p", rec); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRecord(ctx, "default", "p")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(rec) {
		t.Errorf("GetRecord = %s, want %s", got, rec)
	}
	if err := s.PutRecord(ctx, "default", "p", json.RawMessage(`{"torn`)); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("PutRecord of invalid JSON: err = %v, want ErrInvalid", err)
	}
}

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
