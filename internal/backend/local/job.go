package local

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/utils/clock"

	"github.com/podrun/podrun/internal/job"
	"github.com/podrun/podrun/internal/manifest"
	"github.com/podrun/podrun/internal/store"
)

// JobWatcher is a Watcher that also hears of the Job's changes.
type JobWatcher interface {
	Watcher
	// JobChanged is called with the Job after every change of its status.
	JobChanged(job *batchv1.Job)
}

// RunJob runs the Job controller's loop (internal/job) in this process:
// it creates the Job's pods, runs each until it terminates, and returns
// once the Job is Complete or Failed — or, after a deletion request or a
// cancelled ctx, once every pod of it has terminated; the Job then ends
// Failed with opts.StopReason (job.Stop). It returns the Job and its
// pods in creation order.
//
// While it runs it holds the Job's supervisor lock, as a supervisor
// does. A supervisor (the Job already stored) first adopts the pods a
// dead supervisor or run of the Job left (adoptJobPods).
func (l *Local) RunJob(ctx context.Context, j *batchv1.Job, opts RunOptions) (*batchv1.Job, []*corev1.Pod, error) {
	bg := context.WithoutCancel(ctx)
	if j.UID == "" {
		if err := manifest.Stamp(j, uuid.NewUUID(), metav1.NewTime(l.clock.Now())); err != nil {
			return nil, nil, err
		}
	}
	stored, err := j, error(nil)
	if !opts.stored {
		// Locked before it exists, as a supervisor would hold it, so that
		// no other podrun process takes the Job for one whose supervisor
		// died while this run drives it.
		unlock, err := lockJob(l.store.Root(), j.Namespace, j.Name)
		if errors.Is(err, store.ErrLocked) {
			err = store.ErrAlreadyExists
		}
		if err != nil {
			return nil, nil, fmt.Errorf("create job %s/%s: %w", j.Namespace, j.Name, err)
		}
		defer unlock()
		// A supervisor continuing the Job after this process died runs it
		// with the same runtime, settings and apply set.
		if err := writeSpec(l.store.Root(), KindJob, j.Namespace, j.Name, l.superviseSpec(opts)); err != nil {
			return nil, nil, err
		}
		if stored, err = l.store.CreateJob(bg, j); err != nil {
			return nil, nil, fmt.Errorf("create job %s/%s: %w", j.Namespace, j.Name, err)
		}
	}
	j = stored
	jw, _ := opts.Watch.(JobWatcher)
	podOpts := opts
	podOpts.stored = false // the Job's pods are created here

	changed := make(chan struct{}, 1)
	extCtx := bg
	if opts.detach {
		extCtx = ctx
	}
	ext := newExternalRuns(extCtx)
	defer ext.stop()
	var runs []*podRun
	if opts.stored {
		// A supervisor: the Job may have pods a dead one left.
		actx, stopAdopted := context.WithCancel(ctx)
		defer stopAdopted()
		if runs, err = l.adoptJobPods(actx, j, podOpts, changed, ext); err != nil {
			if opts.detach {
				// Stop supervising the pods adopted so far: the next
				// supervisor continues them all.
				stopAdopted()
				waitAll(runs)
			}
			return j, nil, err
		}
	}
	deletes, cancelled := opts.Delete, ctx.Done()
	// A run owns the Job like a supervisor (it holds its lock), so it
	// carries out a podrun delete of the Job too; a supervisor is handed
	// the deletion in opts.Delete.
	var jobDeleted chan *int64
	if !opts.stored {
		jobDeleted = make(chan *int64, 1)
		wctx, stopWatch := context.WithCancel(bg)
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			watchJobDeletion(wctx, l.store, j.Namespace, j.Name, jobDeleted)
		}()
		defer func() { stopWatch(); <-watched }()
	}
	var stopping, deleted bool
	var stopGrace *int64
	var timer <-chan time.Time
	var t clock.Timer
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for {
		pods, err := l.jobPods(bg, runs)
		if err != nil {
			return j, nil, err
		}
		now := l.clock.Now()
		if stopping {
			// A run's Job gets a verdict: the controller stops with the
			// run, and the Job says so — Failed with the stop's reason
			// (job.Stop), never "running" with no pod and nobody to run
			// it. A deleted Job's pods are gone, and it gets none.
			verdict := !opts.detach && !deleted
			if verdict {
				// Stored before the pods stop, so that a supervisor that
				// continues the Job if this run dies meanwhile finishes the
				// stop instead of replacing the pods being stopped.
				reason, message := job.ReasonInterrupted, job.MessageInterrupted
				if opts.StopReason != nil {
					reason, message = opts.StopReason()
				}
				if job.Stop(j, reason, message, l.clock.Now()) {
					if saved, perr := l.saveJobStatus(bg, j); perr == nil {
						j = saved
						if jw != nil {
							jw.JobChanged(j.DeepCopy())
						}
					}
				}
			}
			if opts.detach {
				cancelled = nil // the pods' workers stop on ctx themselves
			}
			stopRuns(runs, stopGrace, deletes, cancelled)
			pods, err = l.jobPods(bg, runs)
			if !verdict || err != nil {
				j.Status.Active = 0
			} else {
				d := job.Plan(j, pods, l.clock.Now())
				j.Status = d.Status
				for _, ev := range d.Events {
					l.jobEvent(bg, j, ev.Type, ev.Reason, ev.Message)
				}
			}
			if saved, perr := l.saveJobStatus(bg, j); perr == nil {
				j = saved
				if jw != nil {
					jw.JobChanged(j.DeepCopy())
				}
			}
			return j, pods, errors.Join(err, firstErr(runs))
		}
		d := job.Plan(j, pods, now)
		if !equalJobStatus(j.Status, d.Status) {
			j.Status = d.Status
			saved, err := l.saveJobStatus(bg, j)
			if err != nil {
				return nil, pods, fmt.Errorf("save job %s/%s: %w", j.Namespace, j.Name, err)
			}
			j = saved
			if jw != nil {
				jw.JobChanged(j.DeepCopy())
			}
		}
		for _, ev := range d.Events {
			l.jobEvent(bg, j, ev.Type, ev.Reason, ev.Message)
		}
		for _, name := range d.DeletePods {
			for _, r := range runs {
				if r.pod.Name == name {
					r.delete(nil)
					l.jobEvent(bg, j, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: "+name)
				}
			}
		}
		for i := 0; i < d.CreatePods; i++ {
			pod := manifest.PodFromJobTemplate(j, len(runs))
			r, err := l.startPod(ctx, pod, podOpts, changed)
			if err != nil {
				return j, pods, err
			}
			runs = append(runs, r)
			l.jobEvent(bg, j, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: "+r.pod.Name)
		}
		if d.Finished {
			waitAll(runs)
			pods, err = l.jobPods(bg, runs)
			return j, pods, errors.Join(err, firstErr(runs))
		}
		if t != nil {
			t.Stop()
			timer = nil
		}
		if !d.WakeAt.IsZero() {
			t = l.clock.NewTimer(max(d.WakeAt.Sub(l.clock.Now()), 0))
			timer = t.C()
		}
		select {
		case <-changed:
		case <-timer:
		case g, ok := <-deletes:
			if !ok {
				deletes = nil
				continue
			}
			stopping, stopGrace = true, g
		case g := <-jobDeleted:
			stopping, stopGrace, deleted = true, g, true
		case <-cancelled:
			if opts.detach { // stop supervising: leave the pods running
				waitAll(runs)
				return j, nil, ctx.Err()
			}
			zero := int64(0)
			stopping, stopGrace = true, &zero
		}
	}
}

// stopRuns asks every run to terminate with grace and waits until all
// have, passing on the later requests meanwhile — a second Ctrl-C (grace
// 0 on deletes) or a cancelled run (cancelled: grace 0) — so that the
// grace can still be cut short.
func stopRuns(runs []*podRun, grace *int64, deletes <-chan *int64, cancelled <-chan struct{}) {
	deleteAll := func(g *int64) {
		for _, r := range runs {
			r.delete(g)
		}
	}
	deleteAll(grace)
	all := make(chan struct{})
	go func() { waitAll(runs); close(all) }()
	for {
		select {
		case <-all:
			return
		case g, ok := <-deletes:
			if !ok {
				deletes = nil
				continue
			}
			deleteAll(g)
		case <-cancelled:
			cancelled = nil
			zero := int64(0)
			deleteAll(&zero)
		}
	}
}

// saveJobStatus stores j's status — only its status: a deletion mark
// another process wrote meanwhile stays — and returns the Job stored.
func (l *Local) saveJobStatus(ctx context.Context, j *batchv1.Job) (*batchv1.Job, error) {
	return l.store.UpdateJob(ctx, j.Namespace, j.Name, func(cur *batchv1.Job) error {
		cur.Status = j.Status
		return nil
	})
}

// jobPods reads the current state of the Job's pods from the store.
func (l *Local) jobPods(ctx context.Context, runs []*podRun) ([]*corev1.Pod, error) {
	var pods []*corev1.Pod
	for _, r := range runs {
		p, err := l.store.GetPod(ctx, r.pod.Namespace, r.pod.Name)
		if errors.Is(err, store.ErrNotFound) {
			// Removed (podrun delete): only once its run ended, and that
			// run is about to say so, with its last state.
			<-r.done
			if r.final != nil {
				p, err = r.final, nil
			}
		}
		if err != nil {
			return nil, fmt.Errorf("read pod %s: %w", r.pod.Name, err)
		}
		pods = append(pods, p)
	}
	sort.SliceStable(pods, func(a, b int) bool { return pods[a].CreationTimestamp.Before(&pods[b].CreationTimestamp) })
	return pods, nil
}

// jobEvent records an event of the Job controller.
func (l *Local) jobEvent(ctx context.Context, j *batchv1.Job, typ, reason, message string) {
	now := metav1.NewTime(l.clock.Now())
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Namespace: j.Namespace},
		InvolvedObject: corev1.ObjectReference{Kind: "Job", Namespace: j.Namespace, Name: j.Name,
			UID: j.UID, APIVersion: "batch/v1", ResourceVersion: j.ResourceVersion},
		Reason: reason, Message: message, Type: typ,
		Source:         corev1.EventSource{Component: "job-controller"},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
		ReportingController: "job-controller",
	}
	if _, err := l.store.RecordEvent(ctx, ev); err != nil {
		l.log.Warn("record job event", "reason", reason, "err", err)
	}
}

func firstErr(runs []*podRun) error {
	for _, r := range runs {
		if r.err != nil {
			return r.err
		}
	}
	return nil
}

// equalJobStatus compares the fields Plan may change.
func equalJobStatus(a, b batchv1.JobStatus) bool {
	if a.Active != b.Active || a.Succeeded != b.Succeeded || a.Failed != b.Failed ||
		len(a.Conditions) != len(b.Conditions) || (a.StartTime == nil) != (b.StartTime == nil) ||
		(a.CompletionTime == nil) != (b.CompletionTime == nil) || deref(a.Ready) != deref(b.Ready) ||
		deref(a.Terminating) != deref(b.Terminating) {
		return false
	}
	return true
}

func deref(p *int32) int32 {
	if p == nil {
		return -1
	}
	return *p
}
