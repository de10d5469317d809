package local

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"

	"github.com/podrun/podrun/internal/logs"
	"github.com/podrun/podrun/internal/manifest"
	"github.com/podrun/podrun/internal/podworker"
	"github.com/podrun/podrun/internal/store"
)

// Watcher receives a run's progress. Its methods are called from several
// goroutines and must be safe for concurrent use.
type Watcher interface {
	// PodChanged is called with the pod after every change of its status.
	PodChanged(pod *corev1.Pod)
	// Line is called for every line a container prints.
	Line(pod *corev1.Pod, container string, line []byte)
}

// RunOptions configure one run.
type RunOptions struct {
	// Watch receives progress; nil ignores it.
	Watch Watcher
	// ConfigMaps and Secrets are the objects of the apply set, by name.
	ConfigMaps map[string]*corev1.ConfigMap
	Secrets    map[string]*corev1.Secret
	// Delete receives deletion requests: a grace period in seconds, or
	// nil for the pod's own. The first terminates gracefully; a later one
	// with a shorter grace shortens it, as `kubectl delete` does.
	Delete <-chan *int64
	// StopReason gives the reason and message of the Failed condition a
	// Job ends with when a deletion request stopped its run before it
	// finished (a --timeout: job.ReasonDeadlineExceeded); nil means
	// job.ReasonInterrupted.
	StopReason func() (reason, message string)

	// stored: the pod (or Job) is already in the store (podrun apply
	// stored it) and the caller, its supervisor, holds the pod's
	// supervisor lock.
	stored bool
	// detach: cancelling ctx stops supervising and leaves the containers
	// running (podrun supervise) instead of killing the pods.
	detach bool
	// resume: the pod (stored, its lock held by the caller) was started
	// by a process that died; its worker continues it from this
	// checkpoint (see "Continuing a pod after its supervisor died").
	resume *podworker.Checkpoint
	// lock: with stored, the pod's supervisor lock, taken by the caller
	// and released by the run once its worker ended.
	lock *store.SupervisorLock
}

// podRun is one pod being driven by a podworker in this process.
type podRun struct {
	pod     *corev1.Pod
	worker  *podworker.Worker
	follow  *followers
	done    chan struct{}
	err     error
	changed chan struct{}
	// final is the pod as stored when its worker ended, read before the
	// run gave up the pod's lock (a podrun delete may remove it then).
	final    *corev1.Pod
	finalErr error
	// remote, for a pod another live process runs (worker is nil),
	// passes a deletion request on through the store.
	remote func(grace *int64)
}

// delete asks the run's pod to terminate with grace (nil: the pod's
// own): through its worker, or through the store for a pod another
// process runs. A run that ended ignores it.
func (r *podRun) delete(grace *int64) {
	switch {
	case r.worker != nil:
		r.worker.Delete(grace)
	case r.remote != nil:
		r.remote(grace)
	}
}

// startPod stamps and stores pod and starts its worker. changed (may be
// nil) is signalled, without blocking, after every status change.
//
// The run holds the pod's supervisor lock while its worker runs (so no
// other process adopts the pod) and hands deletion requests written to
// the store by other processes (podrun delete) to the worker.
func (l *Local) startPod(ctx context.Context, pod *corev1.Pod, opts RunOptions, changed chan struct{}) (*podRun, error) {
	stored := pod
	release := func() error { return nil }
	if opts.lock != nil {
		release = opts.lock.Release
	}
	if !opts.stored {
		if pod.UID == "" {
			if err := manifest.Stamp(pod, uuid.NewUUID(), metav1.NewTime(l.clock.Now())); err != nil {
				return nil, err
			}
		}
		pod.Spec.NodeName = l.opts.NodeName
		// Locked before it exists, so that no other podrun process takes
		// the new pod for one whose supervisor died.
		lock, err := l.store.LockSupervisor(pod.Namespace, pod.Name)
		if errors.Is(err, store.ErrLocked) { // a live owner: the pod exists
			err = store.ErrAlreadyExists
		}
		if err != nil {
			return nil, fmt.Errorf("create pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		release = lock.Release
		if !jobOwned(pod) {
			// A supervisor continuing the pod after this process died runs
			// it with the same runtime, settings and apply set (a Job's
			// pods use the Job's).
			if err := writeSpec(l.store.Root(), KindPod, pod.Namespace, pod.Name, l.superviseSpec(opts)); err != nil {
				_ = release()
				return nil, err
			}
		}
		if stored, err = l.store.CreatePod(ctx, pod); err != nil {
			_ = release()
			return nil, fmt.Errorf("create pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
	}
	r := &podRun{pod: stored, done: make(chan struct{}), changed: changed}
	r.follow = &followers{
		ctx:     context.WithoutCancel(ctx),
		logDir:  l.store.LogDir(stored.Namespace, stored.Name, stored.UID),
		running: map[attemptKey]context.CancelFunc{},
		seen:    map[attemptKey]bool{},
		follow:  followLog,
	}
	if opts.Watch != nil {
		r.follow.line = func(container string, line []byte) { opts.Watch.Line(stored, container, line) }
	}
	ps := &podStore{store: l.store, changed: func(p *corev1.Pod) {
		r.follow.update(p)
		if opts.Watch != nil {
			opts.Watch.PodChanged(p)
		}
		if changed != nil {
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	}}
	r.worker = podworker.New(podworker.Config{
		Pod:        stored.DeepCopy(),
		Runtime:    l.rt,
		Images:     podImages{l.images},
		Store:      ps,
		Clock:      l.clock,
		Settings:   l.opts.Settings,
		Logger:     l.log.With("pod", stored.Name),
		NodeName:   l.opts.NodeName,
		LogDir:     filepath.Join(l.store.Root(), "logs"),
		ConfigMaps: opts.ConfigMaps,
		Secrets:    opts.Secrets,
		Resume:     opts.resume,
	})
	wctx := context.WithoutCancel(ctx) // a run always terminates its pod
	if opts.detach {
		wctx = ctx // a supervisor stops supervising when ctx ends
	}
	dctx, stopDeletions := context.WithCancel(context.WithoutCancel(ctx))
	deletions := make(chan struct{})
	go func() {
		defer close(deletions)
		watchDeletion(dctx, l.store, stored.Namespace, stored.Name, r.worker.Delete, l.log)
	}()
	go func() {
		defer close(r.done)
		r.err = r.worker.Run(wctx)
		stopDeletions()
		<-deletions
		r.follow.stop()
		bg := context.WithoutCancel(ctx)
		r.final, r.finalErr = l.store.GetPod(bg, stored.Namespace, stored.Name)
		if err := release(); err != nil {
			l.log.Warn("release supervisor lock", "pod", stored.Name, "err", err)
			return
		}
		if ctx.Err() != nil && opts.detach {
			return // stopped supervising: the pod goes on
		}
		// A pod podrun delete deleted is removed once it ended, also when
		// nobody waits for it (delete --wait=false) and it belongs to a
		// run or a Job; a pod its run stopped stays (removeIfUnowned).
		if _, err := removeIfUnowned(bg, l.store, stored.Namespace, stored.Name); err != nil {
			l.log.Warn("remove deleted pod", "pod", stored.Name, "err", err)
		}
	}()
	return r, nil
}

// followLog adapts logs.Follow to the followers' callback.
func followLog(ctx context.Context, path string, fn func(string, []byte), container string) error {
	return logs.Follow(ctx, path, func(e logs.Entry) { fn(container, e.Content) })
}

// RunPod runs pod in this process until it has terminated and returns its
// final state. A deletion request terminates it gracefully; cancelling
// ctx terminates it with grace 0. The pod stays in the state directory.
func (l *Local) RunPod(ctx context.Context, pod *corev1.Pod, opts RunOptions) (*corev1.Pod, error) {
	r, err := l.startPod(ctx, pod, opts, nil)
	if err != nil {
		return nil, err
	}
	deletes, cancelled := opts.Delete, ctx.Done()
	if opts.detach {
		cancelled = nil // the worker itself stops on ctx
	}
	for {
		select {
		case <-r.done:
			return r.final, errors.Join(r.err, r.finalErr)
		case g, ok := <-deletes:
			if !ok {
				deletes = nil
				continue
			}
			r.worker.Delete(g)
		case <-cancelled:
			cancelled = nil
			zero := int64(0)
			r.worker.Delete(&zero)
		}
	}
}

// waitAll waits for every run in runs.
func waitAll(runs []*podRun) {
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		go func() { defer wg.Done(); <-r.done }()
	}
	wg.Wait()
}
