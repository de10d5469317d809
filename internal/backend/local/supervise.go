package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/store"
)

// Background pods
//
// podrun apply stores each pod (or Job) and starts one detached
// supervisor for it (Launcher: `podrun supervise`, its own session,
// output in <root>/supervise/<ns>/<kind>-<name>.log). The supervisor
// holds the object's lock for its whole life — the store's
// SupervisorLock for a pod, a flock of <kind>-<name>.lock for a Job — and
// runs the pod's podworker (RunPod) or the Job controller's loop (RunJob)
// in detached mode, so that SIGTERM stops supervising instead of killing.
// Other processes talk to it only through the store:
//
//	apply ──CreatePod──► store ◄──status, record, events── supervisor
//	delete ─mark deletionTimestamp──► store ──watch──► worker.Delete(grace)
//	delete ◄──pod gone (watch)── store ◄──DeletePod── supervisor (done)
//	get/describe/logs ──EnsureSupervised──► new supervisor if the lock
//	                                        is free and the pod not done
//	get/describe/wait job ──EnsureJobSupervised──► new Job supervisor
//
// A pod whose lock is free is unowned: terminal, never started, or its
// supervisor died. Whoever removes an unowned pod takes its lock first.
// `podrun run` holds the same locks (a pod's, a Job's) while it drives
// them, so the two process models never compete for one object. A new
// supervisor continues what a dead one (or a dead run) left: see
// "Continuing a pod after its supervisor died" in resume.go.

// Kind is the kind of object a supervisor owns.
type Kind string

// The kinds of supervised objects.
const (
	KindPod Kind = "pod"
	KindJob Kind = "job"
)

// superviseSpec is what a supervisor needs besides the object in the
// store: the settings and apply set of the podrun apply that created it.
// It lives in <root>/supervise/<ns>/<kind>-<name>.json, beside the
// supervisor's log file; both go when the object leaves the store.
type superviseSpec struct {
	Runtime    string                       `json:"runtime,omitempty"`
	Settings   lifecycle.Settings           `json:"settings"`
	ConfigMaps map[string]*corev1.ConfigMap `json:"configMaps,omitempty"`
	Secrets    map[string]*corev1.Secret    `json:"secrets,omitempty"`
}

// supervisePath names a supervisor's file with the given extension.
func supervisePath(root string, k Kind, ns, name, ext string) string {
	return filepath.Join(root, "supervise", ns, string(k)+"-"+name+ext)
}

// SupervisorLogPath is the file receiving the output of the supervisor
// of the object k ns/name.
func SupervisorLogPath(root string, k Kind, ns, name string) string {
	return supervisePath(root, k, ns, name, ".log")
}

// writeSpec stores a supervisor's spec atomically (0600: it may hold
// Secrets).
func writeSpec(root string, k Kind, ns, name string, spec *superviseSpec) error {
	data, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("encode supervisor spec of %s %s/%s: %w", k, ns, name, err)
	}
	path := supervisePath(root, k, ns, name, ".json")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("supervisor spec of %s %s/%s: %w", k, ns, name, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".spec-*")
	if err != nil {
		return fmt.Errorf("supervisor spec of %s %s/%s: %w", k, ns, name, err)
	}
	_, werr := tmp.Write(data)
	err = errors.Join(werr, tmp.Sync(), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("supervisor spec of %s %s/%s: %w", k, ns, name, err)
	}
	return nil
}

// readSpec reads a supervisor's spec; a missing one gives the defaults.
func readSpec(root string, k Kind, ns, name string) (*superviseSpec, error) {
	data, err := os.ReadFile(supervisePath(root, k, ns, name, ".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return &superviseSpec{Settings: lifecycle.DefaultSettings()}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("supervisor spec of %s %s/%s: %w", k, ns, name, err)
	}
	spec := &superviseSpec{}
	if err := json.Unmarshal(data, spec); err != nil {
		return nil, fmt.Errorf("supervisor spec of %s %s/%s: %w", k, ns, name, err)
	}
	return spec, nil
}

// RemoveSuperviseFiles removes the files a supervisor of the object k
// ns/name keeps beside the store (spec, log, lock), for a caller that
// removes the object from the store itself.
func RemoveSuperviseFiles(root string, k Kind, ns, name string) {
	removeSuperviseFiles(root, k, ns, name)
}

// removeSuperviseFiles removes a supervisor's spec, log and lock files.
func removeSuperviseFiles(root string, k Kind, ns, name string) {
	for _, ext := range []string{".json", ".log", ".lock"} {
		_ = os.Remove(supervisePath(root, k, ns, name, ext))
	}
}

// Starter starts the supervisor of one object; *Launcher is the real one.
type Starter interface {
	// Start starts a supervisor for the object k ns/name and returns once
	// it holds its lock (or another one does).
	Start(ctx context.Context, k Kind, ns, name string) error
}

var _ Starter = (*Launcher)(nil)

// Launcher starts detached supervisors: `podrun supervise` processes in
// their own session, their output in SupervisorLogPath.
type Launcher struct {
	// Command runs podrun with its global flags (at least --root); Start
	// appends "supervise --namespace NS [--job] NAME".
	Command []string
	// Root is the state directory the supervisors use.
	Root string
}

// readyFD is the descriptor on which a supervisor reports that it holds
// its lock: it closes it.
const readyFD = 3

// readyTimeout bounds how long Start waits for a supervisor to lock.
const readyTimeout = 30 * time.Second

// Start starts a supervisor for the object k ns/name and returns once the
// supervisor holds its lock (or ended: another one holds it). It does not
// wait for the supervisor, which outlives this process.
func (la *Launcher) Start(ctx context.Context, k Kind, ns, name string) error {
	if len(la.Command) == 0 {
		return fmt.Errorf("start supervisor of %s %s/%s: no command", k, ns, name)
	}
	logPath := SupervisorLogPath(la.Root, k, ns, name)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		return fmt.Errorf("start supervisor of %s %s/%s: %w", k, ns, name, err)
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("start supervisor of %s %s/%s: %w", k, ns, name, err)
	}
	defer logf.Close()
	ready, readyW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("start supervisor of %s %s/%s: %w", k, ns, name, err)
	}
	defer ready.Close()
	args := append(append([]string(nil), la.Command[1:]...), "supervise", "--namespace", ns, "--ready-fd", fmt.Sprint(readyFD))
	if k == KindJob {
		args = append(args, "--job")
	}
	args = append(args, name)
	// Not CommandContext: the supervisor must outlive this process.
	cmd := exec.Command(la.Command[0], args...)
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{readyW} // fd 3
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		return fmt.Errorf("start supervisor of %s %s/%s: %w", k, ns, name, err)
	}
	// The supervisor closes fd 3 once it holds its lock; its death closes
	// it too. Either way the read ends with EOF.
	deadline := time.Now().Add(readyTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = ready.SetReadDeadline(deadline)
	var buf [1]byte
	_, rerr := ready.Read(buf[:])
	if rerr != nil && errors.Is(rerr, os.ErrDeadlineExceeded) {
		_ = cmd.Process.Release()
		return fmt.Errorf("start supervisor of %s %s/%s: not ready after %s (see %s)", k, ns, name, readyTimeout, logPath)
	}
	if la.supervised(k, ns, name) {
		return cmd.Process.Release() // it runs on, beyond this process
	}
	// It gave up: it found nothing to do (exit 0) or failed.
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("start supervisor of %s %s/%s: %w: %s", k, ns, name, err, lastLine(logPath))
	}
	return nil
}

// supervised reports whether a live supervisor holds the lock of k ns/name.
func (la *Launcher) supervised(k Kind, ns, name string) bool {
	if k == KindJob {
		alive, _ := jobSupervised(la.Root, ns, name)
		return alive
	}
	st, err := store.Open(la.Root)
	if err != nil {
		return false
	}
	_, alive, _ := st.Supervisor(ns, name)
	return alive
}

// lastLine returns the last line of a file (a supervisor's last word).
func lastLine(path string) string {
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	return lines[len(lines)-1]
}

// Supervise owns the object k ns/name until it is done (`podrun
// supervise`): it takes the object's supervisor lock (returning nil at
// once if another live supervisor holds it), calls ready, and runs the
// pod's podworker — or the Job's controller loop and its pods' workers —
// persisting everything in the store and handing deletion requests
// written by podrun delete to the workers. Once the pod is terminal (and,
// if it was deleted, removed from the store) it returns nil.
//
// Cancelling ctx (SIGTERM to the supervisor) stops supervising: the
// containers keep running and Supervise returns nil without touching the
// store; the next podrun command that reads the pod starts a new
// supervisor (EnsureSupervised, EnsureJobSupervised), which continues it.
// A supervisor started for a pod a previous one left continues it from
// its checkpoint (or, if it cannot be continued, ends it lost:
// adoptOrphans); one for a Job adopts the Job's pods (adoptJobPods).
func Supervise(ctx context.Context, opts Options, k Kind, ns, name string, ready func()) error {
	if ready == nil {
		ready = func() {}
	}
	ready = sync.OnceFunc(ready)
	if opts.Root == "" {
		root, err := store.DefaultRoot()
		if err != nil {
			ready()
			return err
		}
		opts.Root = root
	}
	st, err := store.Open(opts.Root)
	if err != nil {
		ready()
		return fmt.Errorf("supervise %s %s/%s: %w", k, ns, name, err)
	}
	switch k {
	case KindPod:
		return supervisePod(ctx, st, opts, ns, name, ready)
	case KindJob:
		return superviseJob(ctx, st, opts, ns, name, ready)
	default:
		ready()
		return fmt.Errorf("supervise %s %s/%s: unknown kind", k, ns, name)
	}
}

// supervisePod is Supervise for a pod.
func supervisePod(ctx context.Context, st *store.Store, opts Options, ns, name string, ready func()) error {
	defer ready() // at the latest when giving up
	lock, err := st.LockSupervisor(ns, name)
	if errors.Is(err, store.ErrLocked) {
		return nil // another supervisor owns the pod
	}
	if err != nil {
		return fmt.Errorf("supervise pod %s/%s: %w", ns, name, err)
	}
	defer lock.Release()
	bg := context.WithoutCancel(ctx)
	pod, err := st.GetPod(ctx, ns, name)
	if errors.Is(err, store.ErrNotFound) {
		removeSuperviseFiles(st.Root(), KindPod, ns, name)
		return nil
	}
	if err != nil {
		return fmt.Errorf("supervise pod %s/%s: %w", ns, name, err)
	}
	if !isTerminal(pod) {
		spec, err := podSpec(st.Root(), pod)
		if err != nil {
			return err
		}
		o := opts
		o.Runtime, o.Settings = spec.Runtime, spec.Settings
		l, err := Open(o)
		if err != nil {
			return fmt.Errorf("supervise pod %s/%s: %w", ns, name, err)
		}
		ready() // supervising
		ro := RunOptions{ConfigMaps: spec.ConfigMaps, Secrets: spec.Secrets, stored: true, detach: true}
		runtimeRoot := filepath.Join(l.opts.Root, "runtime")
		lost := false
		if orphaned(bg, st, pod) || leftoverSandbox(runtimeRoot, pod) {
			// A previous supervisor died while the pod ran: continue it
			// where it stopped, unless it cannot be continued.
			var why string
			ro.resume, lost, why = l.resumePoint(bg, st, pod)
			if lost {
				l.log.Warn("cannot continue the pod; ending its containers as lost", "reason", why)
				err = adoptOrphans(bg, st, l.rt, runtimeRoot, pod, l.clock.Now())
			}
		}
		if !lost {
			_, err = l.RunPod(ctx, pod, ro)
		}
		l.Close()
		if ctx.Err() != nil {
			return nil // stop supervising: leave the containers running
		}
		if err != nil {
			return fmt.Errorf("supervise pod %s/%s: %w", ns, name, err)
		}
	}
	return finishSupervision(bg, st, lock, ns, name)
}

// finishSupervision releases the pod's lock and then removes the pod if
// it was deleted (MarkPodDeleted relies on this order).
func finishSupervision(ctx context.Context, st *store.Store, lock *store.SupervisorLock, ns, name string) error {
	if err := lock.Release(); err != nil {
		return fmt.Errorf("supervise pod %s/%s: release lock: %w", ns, name, err)
	}
	if _, err := removeIfUnowned(ctx, st, ns, name); err != nil {
		return fmt.Errorf("supervise pod %s/%s: %w", ns, name, err)
	}
	return nil
}

// superviseJob is Supervise for a Job: the Job controller's loop and the
// workers of its pods, in this process.
func superviseJob(ctx context.Context, st *store.Store, opts Options, ns, name string, ready func()) error {
	defer ready() // at the latest when giving up
	unlock, err := lockJob(st.Root(), ns, name)
	if errors.Is(err, store.ErrLocked) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("supervise job %s/%s: %w", ns, name, err)
	}
	defer unlock()
	bg := context.WithoutCancel(ctx)
	j, err := st.GetJob(ctx, ns, name)
	if errors.Is(err, store.ErrNotFound) {
		removeSuperviseFiles(st.Root(), KindJob, ns, name)
		return nil
	}
	if err != nil {
		return fmt.Errorf("supervise job %s/%s: %w", ns, name, err)
	}
	spec, err := readSpec(st.Root(), KindJob, ns, name)
	if err != nil {
		return err
	}
	existing, err := JobPods(bg, st, j)
	if err != nil {
		return err
	}
	// A finished Job may still have a pod running (its previous
	// supervisor died while it waited for it): RunJob continues it.
	running := slices.ContainsFunc(existing, func(p *corev1.Pod) bool { return !isTerminal(p) })
	if j.DeletionTimestamp == nil && (!jobFinished(j) || running) {
		o := opts
		o.Runtime, o.Settings = spec.Runtime, spec.Settings
		l, err := Open(o)
		if err != nil {
			return fmt.Errorf("supervise job %s/%s: %w", ns, name, err)
		}
		ready() // supervising
		deletes := make(chan *int64, 1)
		wctx, stopWatch := context.WithCancel(bg)
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			watchJobDeletion(wctx, st, ns, name, deletes)
		}()
		_, _, err = l.RunJob(ctx, j, RunOptions{ConfigMaps: spec.ConfigMaps, Secrets: spec.Secrets, Delete: deletes, stored: true, detach: true})
		stopWatch()
		<-watched
		l.Close()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("supervise job %s/%s: %w", ns, name, err)
		}
	}
	unlock()
	cur, err := st.GetJob(bg, ns, name)
	if err != nil || cur.DeletionTimestamp == nil {
		return nil
	}
	if _, err := MarkJobDeleted(bg, st, ns, name, DeleteOptions{Now: time.Now()}); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// watchJobDeletion sends on deletes once the Job ns/name is marked
// deleted (or removed), then returns.
func watchJobDeletion(ctx context.Context, st *store.Store, ns, name string, deletes chan<- *int64) {
	changes, err := st.Watch(ctx, ns)
	if err != nil {
		return
	}
	for {
		j, err := st.GetJob(ctx, ns, name)
		if errors.Is(err, store.ErrNotFound) || (err == nil && j.DeletionTimestamp != nil) {
			deletes <- nil // the pods' own grace, as the garbage collector
			return
		}
		if err := waitChange(ctx, changes, nil, store.Jobs, ns, name); err != nil {
			return
		}
	}
}

// jobFinished reports whether the Job is Complete or Failed.
func jobFinished(j *batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
