package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/backend/local"
	"github.com/podrun/podrun/internal/conformance"
	"github.com/podrun/podrun/internal/podworker"
)

// stopSettle is how long a run goes on after its stopWhen held before it
// is observed: the kubelet learns of container changes by its PLEG relist
// (1 s), so a cluster never shows an attempt that lived a few
// milliseconds (an init container's 4th run of `exit 1` at the moment its
// restart count reaches 3) while podrun, event-driven, records it.
const stopSettle = time.Second

// pollPeriod is how often a run re-reads the run record between status
// changes, so that actions and stop conditions due at a time are seen.
const pollPeriod = 100 * time.Millisecond

// watcher is the local.JobWatcher of one run: it signals every change and
// keeps the containers' output.
type watcher struct {
	changed chan struct{}
	mu      sync.Mutex
	lines   []string
	job     *batchv1.Job
	// pods are the names of the pods seen, in order of appearance.
	pods []string
}

func newWatcher() *watcher { return &watcher{changed: make(chan struct{}, 1)} }

var _ local.JobWatcher = (*watcher)(nil)

func (w *watcher) signal() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// PodChanged notes the pod and signals the run loop.
func (w *watcher) PodChanged(p *corev1.Pod) {
	w.mu.Lock()
	if !slices.Contains(w.pods, p.Name) {
		w.pods = append(w.pods, p.Name)
	}
	w.mu.Unlock()
	w.signal()
}

// podNames returns the names of the pods seen so far.
func (w *watcher) podNames() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.pods...)
}

// lastJob returns the Job as last reported (nil before).
func (w *watcher) lastJob() *batchv1.Job {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.job
}

// JobChanged keeps the Job and signals the run loop.
func (w *watcher) JobChanged(j *batchv1.Job) {
	w.mu.Lock()
	w.job = j
	w.mu.Unlock()
	w.signal()
}

// Line keeps one line of output as "[container] line".
func (w *watcher) Line(pod *corev1.Pod, container string, line []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines = append(w.lines, fmt.Sprintf("[%s] %s", container, line))
}

// output returns every line so far.
func (w *watcher) output() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.lines...)
}

// record reads the run record of the pod ns/name from the store; nil
// while there is none.
func (e *env) record(ns, name string) *podworker.Record {
	raw, err := e.local.Store().GetRecord(context.Background(), ns, name)
	if err != nil {
		return nil
	}
	rec := &podworker.Record{}
	if err := json.Unmarshal(raw, rec); err != nil {
		e.t.Errorf("decode run record of %s/%s: %v", ns, name, err)
		return nil
	}
	return rec
}

// runStop is how a scenario run ended.
type runStop string

const (
	stopFinished runStop = "the pod terminated"
	stopWhen     runStop = "stopWhen held"
	stopTimeout  runStop = "timeoutSeconds passed"
)

// podResult is what a scenario pod run produced.
type podResult struct {
	obs   *conformance.Observation
	final *corev1.Pod
	how   runStop
	out   []string
}

// runScenarioPod runs pod (defaulted and validated) through local.RunPod
// with the scenario's expectations e: it performs e's actions on time and
// stops at e's stopWhen or timeout. The observation is taken when the run
// stopped: at the stop condition or timeout (then the pod is killed with
// grace 0 and waited for), or after the pod terminated. After stopWhen
// held, the run goes on for stopSettle before it is observed. marks is the
// host directory mounted at /shared, "" if none.
func (e *env) runScenarioPod(pod *corev1.Pod, ex conformance.Expect, marks string) podResult {
	t := e.t
	t.Helper()
	w := newWatcher()
	deletes := make(chan *int64, 4)
	type ran struct {
		pod *corev1.Pod
		err error
	}
	done := make(chan ran, 1)
	go func() {
		p, err := e.local.RunPod(context.Background(), pod, local.RunOptions{Watch: w, Delete: deletes})
		done <- ran{p, err}
	}()
	observe := func() *conformance.Observation {
		rec := e.record(pod.Namespace, pod.Name)
		if rec == nil {
			return nil
		}
		return &conformance.Observation{Record: rec, Marks: readMarks(t, marks)}
	}
	start := time.Now()
	deadline := start.Add(ex.Timeout())
	acted := make([]bool, len(ex.Actions))
	var settleUntil time.Time // set once stopWhen held
	tick := time.NewTicker(pollPeriod)
	defer tick.Stop()
	var res podResult
	for res.how == "" {
		select {
		case r := <-done:
			if r.err != nil {
				t.Errorf("RunPod: %v", r.err)
			}
			res = podResult{obs: observe(), final: r.pod, how: stopFinished}
			for i, a := range ex.Actions {
				if !acted[i] {
					t.Logf("action %+v not performed: the pod terminated first", a)
				}
			}
			continue
		case <-w.changed:
		case <-tick.C:
		}
		o := observe()
		if o == nil {
			continue
		}
		now := time.Now()
		for i, a := range ex.Actions {
			if acted[i] {
				continue
			}
			due, ok, err := a.DueAt(o)
			if err != nil {
				t.Fatalf("action %+v: %v", a, err)
			}
			if ok && !now.Before(due) {
				acted[i] = true
				if a.Do != "delete" {
					t.Fatalf("action %+v: only delete is supported", a)
				}
				deletes <- a.GracePeriodSeconds
			}
		}
		if settleUntil.IsZero() {
			stop, err := ex.Stopped(o, now)
			if err != nil {
				t.Fatalf("stopWhen: %v", err)
			}
			if stop {
				settleUntil = now.Add(stopSettle)
			}
		}
		switch {
		case !settleUntil.IsZero() && !now.Before(settleUntil):
			res = podResult{obs: o, how: stopWhen}
		case !now.Before(deadline):
			res = podResult{obs: o, how: stopTimeout}
		}
	}
	if res.how != stopFinished {
		zero := int64(0)
		deletes <- &zero
		select {
		case r := <-done:
			if r.err != nil {
				t.Errorf("RunPod after the kill: %v", r.err)
			}
			res.final = r.pod
		case <-time.After(2 * time.Minute):
			t.Fatalf("RunPod did not return within 2m of a kill with grace 0")
		}
	}
	res.out = w.output()
	t.Logf("run ended after %s: %s", time.Since(start).Round(time.Millisecond), res.how)
	return res
}

// readMarks reads the marker file of the host directory dir.
func readMarks(t *testing.T, dir string) []conformance.Mark {
	if dir == "" {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(dir, "marks"))
	if err != nil {
		if !os.IsNotExist(err) {
			t.Errorf("read marks: %v", err)
		}
		return nil
	}
	return conformance.ParseMarks(strings.Split(strings.TrimSpace(string(data)), "\n"))
}
