package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/backend/local"
	"github.com/podrun/podrun/internal/conformance"
	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/manifest"
	"github.com/podrun/podrun/internal/podworker"
)

// labDir holds the busybox stand-ins of the native-sidecar lab.
var labDir = filepath.Join("..", "..", "examples", "native-sidecar-lab", "busybox")

// loadLabJob reads one lab variant as `podrun run` does.
func loadLabJob(t *testing.T, file string) *batchv1.Job {
	t.Helper()
	set, err := manifest.Load([]string{filepath.Join(labDir, file)}, nil, manifest.Options{})
	if err != nil {
		t.Fatalf("load %s: %v", file, err)
	}
	if err := set.Validate(manifest.Options{}); err != nil {
		t.Fatalf("validate %s: %v", file, err)
	}
	jobs := set.Jobs()
	if len(jobs) != 1 || len(set.Pods()) != 0 {
		t.Fatalf("%s: want exactly one Job, got %d jobs and %d pods", file, len(jobs), len(set.Pods()))
	}
	return jobs[0]
}

// labRun is a lab Job running in the background.
type labRun struct {
	e       *env
	w       *watcher
	deletes chan *int64
	done    chan struct{}
	job     *batchv1.Job
	pods    []*corev1.Pod
	err     error
}

func (e *env) startJob(j *batchv1.Job) *labRun {
	r := &labRun{e: e, w: newWatcher(), deletes: make(chan *int64, 2), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.job, r.pods, r.err = e.local.RunJob(context.Background(), j, local.RunOptions{Watch: r.w, Delete: r.deletes})
	}()
	return r
}

// until polls the record of the Job's first pod until cond holds; it
// fails the test after limit.
func (r *labRun) until(limit time.Duration, what string, cond func(o *conformance.Observation) bool) *conformance.Observation {
	t := r.e.t
	t.Helper()
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(pollPeriod)
	defer tick.Stop()
	for {
		if names := r.w.podNames(); len(names) > 0 {
			if rec := r.e.record("default", names[0]); rec != nil {
				o := &conformance.Observation{Record: rec}
				if cond(o) {
					return o
				}
			}
		}
		if time.Now().After(deadline) {
			r.kill()
			t.Fatalf("%s: not within %s", what, limit)
		}
		select {
		case <-r.done:
			t.Fatalf("%s: the Job finished first (%v)", what, r.err)
		case <-r.w.changed:
		case <-tick.C:
		}
	}
}

// wait waits for RunJob to return.
func (r *labRun) wait(limit time.Duration) {
	t := r.e.t
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(limit):
		r.kill()
		t.Fatalf("RunJob did not return within %s", limit)
	}
	if r.err != nil {
		t.Errorf("RunJob: %v", r.err)
	}
	if len(r.pods) != 1 {
		t.Fatalf("the Job ran %d pods, want 1", len(r.pods))
	}
}

// kill deletes with grace 0 and waits, for a test that gives up.
func (r *labRun) kill() {
	zero := int64(0)
	r.deletes <- &zero
	<-r.done
}

func jobCondition(j *batchv1.Job, typ batchv1.JobConditionType) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == typ && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// attempts returns the attempts of container name in rec.
func attempts(rec *podworker.Record, name string) []podworker.AttemptRecord {
	for _, c := range rec.Containers {
		if c.Name == name {
			return c.Attempts
		}
	}
	return nil
}

// TestLab runs the three variants of the native-sidecar lab with busybox
// stand-ins for PostgreSQL and its client, each in a child process, and
// checks the outcome a real cluster gives for each.
func TestLab(t *testing.T) {
	requireE2E(t)
	for _, name := range sortedKeys(labVariants) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			report(t, name, runChild(t, "lab", name, 5*time.Minute))
		})
	}
}

// labVariants run one lab variant and return its failed expectations.
var labVariants = map[string]func(t *testing.T) childResult{
	"1-init-container":    labInitContainer,
	"2-regular-container": labRegularContainer,
	"3-native-sidecar":    labNativeSidecar,
}

// childLab runs the lab variant name in a child process.
func childLab(t *testing.T, name string) childResult {
	run, ok := labVariants[name]
	if !ok {
		t.Fatalf("no lab variant %q", name)
	}
	return run(t)
}

// labInitContainer: postgres as a plain init container stays Init:0/1,
// main never starts, until a deletion (the short timeout of the lab).
func labInitContainer(t *testing.T) childResult {
	e := newEnv(t, lifecycle.DefaultSettings())
	r := e.startJob(loadLabJob(t, "1-init-container.yaml"))
	// postgres listens but never exits: give the pod a few seconds,
	// then stop it as `podrun run --timeout` would.
	r.until(30*time.Second, "postgres running for 3s", func(o *conformance.Observation) bool {
		a := attempts(o.Record, "postgres")
		return len(a) > 0 && a[0].StartedAt != nil && time.Since(*a[0].StartedAt) > 3*time.Second
	})
	r.deletes <- nil
	r.wait(time.Minute)
	rec := e.record("default", r.pods[0].Name)
	if rec == nil {
		t.Fatal("no run record")
	}
	fails := conformance.Check(conformance.Expect{
		NeverStarts: []string{"main"},
		Order:       [][]string{{"delete", "postgres.exit"}},
		Snapshots: []conformance.Snapshot{{At: "postgres.start + 3s", PodFacts: conformance.PodFacts{
			Phase: "Pending", StatusColumn: "Init:0/1", ReadyColumn: "0/1",
			WaitingReasons: map[string]string{"main": "PodInitializing"},
		}}},
		Containers: map[string]conformance.ContainerFacts{"postgres": {Attempts: ptr(1), ExitCode: ptr[int32](0)}},
	}, &conformance.Observation{Record: rec})
	// Until the deletion, the pod never left Init:0/1.
	for _, sc := range rec.StatusHistory {
		if rec.DeletedAt != nil && sc.At.Before(*rec.DeletedAt) && sc.Columns.Status != "Init:0/1" && sc.Columns.Status != "Pending" {
			fails = append(fails, "before the deletion STATUS was "+sc.Columns.Status+", want Init:0/1 throughout")
		}
	}
	if jobCondition(r.job, batchv1.JobComplete) {
		fails = append(fails, "the Job is Complete, want never")
	}
	return childResult{Fails: fails, Detail: conformance.Describe(rec) + strings.Join(r.w.output(), "\n")}
}

// labRegularContainer: postgres as a regular container keeps running
// after main completed: the pod is NotReady, the Job never completes.
func labRegularContainer(t *testing.T) childResult {
	e := newEnv(t, lifecycle.DefaultSettings())
	r := e.startJob(loadLabJob(t, "2-regular-container.yaml"))
	o := r.until(time.Minute, "main completed 3s ago", func(o *conformance.Observation) bool {
		a := attempts(o.Record, "main")
		return len(a) > 0 && a[0].FinishedAt != nil && time.Since(*a[0].FinishedAt) > 3*time.Second
	})
	fails := conformance.Check(conformance.Expect{
		Overlap: [][]string{{"main", "postgres"}},
		Containers: map[string]conformance.ContainerFacts{
			"main":     {ExitCode: ptr[int32](0), Reason: "Completed", FinalState: "terminated"},
			"postgres": {FinalState: "running", Restarts: ptr[int32](0)},
		},
		Pod: &conformance.PodFacts{Phase: "Running", StatusColumn: "NotReady", ReadyColumn: "1/2",
			Conditions: map[string]string{"Ready": "False"}},
	}, o)
	if j := r.w.lastJob(); j == nil || jobCondition(j, batchv1.JobComplete) || jobCondition(j, batchv1.JobFailed) {
		fails = append(fails, fmt.Sprintf("Job while main is done and postgres runs: %+v, want neither Complete nor Failed", j))
	}
	r.deletes <- nil
	r.wait(time.Minute)
	if jobCondition(r.job, batchv1.JobComplete) {
		fails = append(fails, "the Job is Complete after the deletion, want never")
	}
	return childResult{Fails: fails, Detail: conformance.Describe(o.Record) + strings.Join(r.w.output(), "\n")}
}

// labNativeSidecar: postgres as a native sidecar starts first, main runs
// beside it, then postgres gets SIGTERM: Succeeded, Job Complete.
func labNativeSidecar(t *testing.T) childResult {
	e := newEnv(t, lifecycle.DefaultSettings())
	r := e.startJob(loadLabJob(t, "3-native-sidecar.yaml"))
	r.wait(2 * time.Minute)
	rec := e.record("default", r.pods[0].Name)
	if rec == nil {
		t.Fatal("no run record")
	}
	fails := conformance.Check(conformance.Expect{
		Order: [][]string{{"postgres.start", "main.start"}, {"main.exit", "postgres.exit"}},
		Gaps:  []conformance.Gap{{From: "main.exit", To: "postgres.exit", MaxSeconds: ptr(5.0)}},
		Containers: map[string]conformance.ContainerFacts{
			"main":     {ExitCode: ptr[int32](0), Reason: "Completed", Attempts: ptr(1)},
			"postgres": {ExitCode: ptr[int32](0), Reason: "Completed", Attempts: ptr(1)},
		},
		Pod: &conformance.PodFacts{Phase: "Succeeded", StatusColumn: "Completed"},
	}, &conformance.Observation{Record: rec})
	if a := attempts(rec, "postgres"); len(a) == 1 && a[0].KilledFor == "" {
		fails = append(fails, "postgres exited without being stopped by podrun, want SIGTERM after main")
	}
	if !jobCondition(r.job, batchv1.JobComplete) {
		fails = append(fails, "the Job is not Complete")
	}
	out := r.w.output()
	for _, want := range []string{"[main] CREATE TABLE", "films", "[postgres] postgres: SIGTERM, shutting down"} {
		if !slices.ContainsFunc(out, func(l string) bool { return strings.Contains(l, want) }) {
			fails = append(fails, "output lacks "+want)
		}
	}
	return childResult{Fails: fails, Detail: conformance.Describe(rec) + strings.Join(out, "\n")}
}

func ptr[T any](v T) *T { return &v }
