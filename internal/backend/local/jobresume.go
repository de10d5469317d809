package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/store"
)

// EnsureJobSupervised starts a supervisor (through launch) for the Job
// ns/name if it needs one and has none: it is not finished or a pod of
// it still runs, and no live process (its supervisor, or the podrun run
// that drives it) holds its lock — its supervisor died. A Job no podrun
// process ever drove is left alone. A deleted Job whose supervisor died
// is deleted here instead (MarkJobDeleted, its running pods under
// supervisors of their own). It reports whether it started a Job
// supervisor. A Job that does not exist is not an error.
func EnsureJobSupervised(ctx context.Context, st *store.Store, launch Starter, ns, name string) (bool, error) {
	j, err := st.GetJob(ctx, ns, name)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if alive, err := jobSupervised(st.Root(), ns, name); err != nil || alive {
		return false, err
	}
	if j.DeletionTimestamp != nil {
		// Deleted, and its supervisor died before it carried the deletion
		// out (nobody need wait for it: delete --wait=false): carry it
		// out here, as podrun delete does for a Job nothing supervises —
		// its pods get supervisors that end and remove them.
		if launch == nil {
			return false, nil
		}
		_, err := MarkJobDeleted(ctx, st, ns, name, DeleteOptions{Now: time.Now(), Launch: launch})
		if errors.Is(err, store.ErrNotFound) {
			err = nil
		}
		return false, err
	}
	if _, err := os.Stat(supervisePath(st.Root(), KindJob, ns, name, ".lock")); err != nil {
		// No podrun process ever drove it (its lock file is made by the
		// first): nothing of it runs here to continue.
		return false, nil
	}
	if jobFinished(j) {
		pods, err := JobPods(ctx, st, j)
		if err != nil {
			return false, err
		}
		if !slices.ContainsFunc(pods, func(p *corev1.Pod) bool { return !isTerminal(p) }) {
			return false, nil
		}
	}
	if launch == nil {
		return false, nil
	}
	if err := launch.Start(ctx, KindJob, ns, name); err != nil {
		return false, err
	}
	return true, nil
}

// liveOwnerJob returns the name of the Job that owns pod if that Job is
// still in the store and not being deleted: such a pod is the Job
// supervisor's to continue, not a supervisor of its own.
func liveOwnerJob(ctx context.Context, st *store.Store, pod *corev1.Pod) (string, bool) {
	for _, ref := range pod.OwnerReferences {
		if ref.Kind != "Job" {
			continue
		}
		j, err := st.GetJob(ctx, pod.Namespace, ref.Name)
		if err == nil && j.UID == ref.UID && j.DeletionTimestamp == nil {
			return ref.Name, true
		}
	}
	return "", false
}

// adoptJobPods takes over the pods of the Job j that a dead supervisor
// (or podrun run) of it left, oldest first, as runs of this controller
// loop: a terminal pod as a finished run; a running one continued by a
// worker of this process from its checkpoint (or ended lost, see
// continuable); one whose lock another live process holds (a supervisor
// of its own, started while the Job was gone from view) followed through
// the store until it ends. ext owns the goroutines of the followed ones.
func (l *Local) adoptJobPods(ctx context.Context, j *batchv1.Job, opts RunOptions, changed chan struct{}, ext *externalRuns) ([]*podRun, error) {
	bg := context.WithoutCancel(ctx)
	pods, err := JobPods(bg, l.store, j)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(pods, func(a, b int) bool { return pods[a].CreationTimestamp.Before(&pods[b].CreationTimestamp) })
	var runs []*podRun
	for _, p := range pods {
		if isTerminal(p) {
			runs = append(runs, finishedRun(p))
			continue
		}
		lock, err := l.store.LockSupervisor(p.Namespace, p.Name)
		if errors.Is(err, store.ErrLocked) {
			runs = append(runs, ext.follow(l.store, p, changed, l.clock.Now))
			continue
		}
		if err != nil {
			return runs, fmt.Errorf("adopt pod %s/%s of job %s: %w", p.Namespace, p.Name, j.Name, err)
		}
		// Re-read under the lock: its last owner may have finished it.
		if p, err = l.store.GetPod(bg, p.Namespace, p.Name); err != nil || isTerminal(p) {
			_ = lock.Release()
			if err != nil {
				return runs, fmt.Errorf("adopt pod of job %s: %w", j.Name, err)
			}
			runs = append(runs, finishedRun(p))
			continue
		}
		o := opts
		o.stored, o.lock = true, lock
		if orphaned(bg, l.store, p) || leftoverSandbox(filepath.Join(l.opts.Root, "runtime"), p) {
			cp, lost, why := l.resumePoint(bg, l.store, p)
			if lost {
				l.log.Warn("cannot continue a pod of the job; ending its containers as lost", "pod", p.Name, "reason", why)
				err := adoptOrphans(bg, l.store, l.rt, filepath.Join(l.opts.Root, "runtime"), p, l.clock.Now())
				_ = lock.Release()
				if err != nil {
					return runs, err
				}
				if p, err = l.store.GetPod(bg, p.Namespace, p.Name); err != nil {
					return runs, fmt.Errorf("adopt pod of job %s: %w", j.Name, err)
				}
				runs = append(runs, finishedRun(p))
				continue
			}
			o.resume = cp
		}
		r, err := l.startPod(ctx, p, o, changed)
		if err != nil {
			_ = lock.Release()
			return runs, err
		}
		runs = append(runs, r)
	}
	return runs, nil
}

// finishedRun is the run of a pod that already ended.
func finishedRun(p *corev1.Pod) *podRun {
	r := &podRun{pod: p, done: make(chan struct{}), final: p}
	close(r.done)
	return r
}

// externalRuns follows the pods of a Job that another live process runs,
// through the store. Its owner stops and waits for them with stop.
type externalRuns struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// newExternalRuns returns followers that end with ctx or stop.
func newExternalRuns(ctx context.Context) *externalRuns {
	ctx, cancel := context.WithCancel(ctx)
	return &externalRuns{ctx: ctx, cancel: cancel}
}

// follow returns a run for pod that ends once the pod is terminal or
// gone from the store, and signals changed on each change of it.
// Deleting it marks it deleted in the store, for its owner to carry out.
func (e *externalRuns) follow(st *store.Store, pod *corev1.Pod, changed chan struct{}, now func() time.Time) *podRun {
	r := &podRun{pod: pod, done: make(chan struct{}), changed: changed}
	r.remote = func(grace *int64) {
		_, _ = MarkPodDeleted(context.WithoutCancel(e.ctx), st, pod.Namespace, pod.Name, DeleteOptions{GracePeriod: grace, Now: now()})
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer close(r.done)
		changes, err := st.Watch(e.ctx, pod.Namespace)
		if err != nil {
			r.err = err
			return
		}
		for {
			p, err := st.GetPod(e.ctx, pod.Namespace, pod.Name)
			switch {
			case errors.Is(err, store.ErrNotFound):
				return
			case err != nil:
				r.err = err
				return
			}
			r.final = p
			if changed != nil {
				select {
				case changed <- struct{}{}:
				default:
				}
			}
			if isTerminal(p) {
				return
			}
			if err := waitChange(e.ctx, changes, nil, store.Pods, pod.Namespace, pod.Name); err != nil {
				return
			}
		}
	}()
	return r
}

// stop ends every follower and waits for them.
func (e *externalRuns) stop() {
	e.cancel()
	e.wg.Wait()
}

// superviseSpec is what a supervisor continuing this run's pods or Job
// after this process died needs: the same runtime, settings and apply
// set.
func (l *Local) superviseSpec(opts RunOptions) *superviseSpec {
	return &superviseSpec{Runtime: l.opts.Runtime, Settings: l.opts.Settings, ConfigMaps: opts.ConfigMaps, Secrets: opts.Secrets}
}
