// Package storetest is the contract every store.Store backend passes: the
// on-disk state directory and the in-memory store run the same suite
// (STYLE.md habit 8).
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
		{"removal requests", testRemovals},
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
