package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/store"
)

// DeleteOptions configure a deletion, as kubectl delete's flags do.
type DeleteOptions struct {
	// GracePeriod is the deletion grace period in seconds; nil means the
	// pod's terminationGracePeriodSeconds. 0 kills at once.
	GracePeriod *int64
	// Now is the deletion time written as deletionTimestamp.
	Now time.Time
	// Launch, if set, starts a supervisor for a pod of a deleted Job
	// whose supervisor died, so that its containers are ended.
	Launch Starter
}

// Deleted says what a deletion did to a pod.
type Deleted int

// What MarkPodDeleted did.
const (
	// DeletionMarked: the pod's supervisor (or podrun run) will terminate
	// it and remove it from the store.
	DeletionMarked Deleted = iota + 1
	// DeletionRemoved: nothing ran the pod any more; it was removed from
	// the store at once.
	DeletionRemoved
)

// MarkPodDeleted deletes the pod ns/name as the API server does: it sets
// deletionTimestamp and deletionGracePeriodSeconds (a later deletion may
// only shorten the grace), and the pod's owner — its supervisor, or the
// podrun run that runs it — terminates it and removes it from the store.
// A pod nothing runs any more (terminal, no live owner) is removed at
// once. It returns store.ErrNotFound for an unknown pod.
func MarkPodDeleted(ctx context.Context, st *store.Store, ns, name string, opts DeleteOptions) (Deleted, error) {
	_, err := st.MarkPodForRemoval(ctx, ns, name, func(p *corev1.Pod) error {
		markDeleted(&p.ObjectMeta, graceOf(p, opts.GracePeriod), opts.Now)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("delete pod %s/%s: %w", ns, name, err)
	}
	// The owner releases its lock after it wrote the final status and
	// then re-reads the pod (finishSupervision): if the lock is free here,
	// that re-read comes after the mark, so one of the two removes it.
	removed, err := removeIfUnowned(ctx, st, ns, name)
	if err != nil || !removed {
		return DeletionMarked, err
	}
	return DeletionRemoved, nil
}

// graceOf is the grace period a deletion asks for: the given one, else
// the pod's terminationGracePeriodSeconds, else 30 s. A pod that can no
// longer run anything is deleted with grace 0, as the API server does.
func graceOf(p *corev1.Pod, grace *int64) int64 {
	if isTerminal(p) {
		return 0
	}
	if grace != nil {
		return max(*grace, 0)
	}
	if g := p.Spec.TerminationGracePeriodSeconds; g != nil {
		return max(*g, 0)
	}
	return int64(lifecycle.DefaultTerminationGracePeriod / time.Second)
}

// markDeleted sets deletionTimestamp (when the grace ends) and
// deletionGracePeriodSeconds as the API server's graceful deletion does:
// an existing mark is only ever shortened, counting from the first
// deletion.
func markDeleted(m *metav1.ObjectMeta, grace int64, now time.Time) {
	if m.DeletionTimestamp != nil && m.DeletionGracePeriodSeconds != nil {
		old := *m.DeletionGracePeriodSeconds
		if grace >= old {
			return
		}
		at := metav1.NewTime(m.DeletionTimestamp.Add(time.Duration(grace-old) * time.Second))
		m.DeletionTimestamp, m.DeletionGracePeriodSeconds = &at, &grace
		return
	}
	at := metav1.NewTime(now.Add(time.Duration(grace) * time.Second))
	m.DeletionTimestamp, m.DeletionGracePeriodSeconds = &at, &grace
}

// removeIfUnowned removes the pod ns/name from the store when a deletion
// asked for its removal (store.MarkPodForRemoval; a pod its own run
// stopped stays), nothing runs it any more — it is terminal, or no
// container of it was ever started — and no live process owns it. It
// takes the pod's supervisor lock to remove it, so that no supervisor
// starts the pod meanwhile.
func removeIfUnowned(ctx context.Context, st *store.Store, ns, name string) (bool, error) {
	removable := func() (gone, ok bool, err error) {
		p, err := st.GetPod(ctx, ns, name)
		if errors.Is(err, store.ErrNotFound) {
			return true, false, nil
		}
		if err != nil {
			return false, false, err
		}
		if p.DeletionTimestamp == nil || (!isTerminal(p) && orphaned(ctx, st, p)) {
			return false, false, nil
		}
		requested, err := st.RemovalRequested(ctx, ns, name)
		return false, requested, err
	}
	gone, ok, err := removable()
	if gone || !ok || err != nil {
		return gone, err
	}
	lock, err := st.LockSupervisor(ns, name)
	if errors.Is(err, store.ErrLocked) {
		return false, nil // its owner will remove it
	}
	if err != nil {
		return false, err
	}
	defer lock.Release()
	if gone, ok, err = removable(); gone || !ok || err != nil { // as it is now we own it
		return gone, err
	}
	if err := st.DeletePod(ctx, ns, name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	removeSuperviseFiles(st.Root(), KindPod, ns, name)
	return true, nil
}

// isTerminal reports whether the pod reached a terminal phase.
func isTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// WaitPodGone blocks until the pod ns/name is no longer in the store, or
// ctx ends. While it waits it removes the pod itself if its owner ended
// without doing so, and starts a supervisor (launch, if not nil) for a
// pod whose supervisor died.
func WaitPodGone(ctx context.Context, st *store.Store, ns, name string, launch Starter) error {
	changes, err := st.Watch(ctx, ns)
	if err != nil {
		return fmt.Errorf("wait for deletion of pod %s/%s: %w", ns, name, err)
	}
	// A supervisor's death is not a store change: look again every
	// second (the owner's lock is a flock, which has no notification).
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		gone, err := removeIfUnowned(ctx, st, ns, name)
		if err != nil {
			return fmt.Errorf("wait for deletion of pod %s/%s: %w", ns, name, err)
		}
		if gone {
			return nil
		}
		if launch != nil {
			if _, err := EnsureSupervised(ctx, st, launch, ns, name); err != nil {
				return fmt.Errorf("wait for deletion of pod %s/%s: %w", ns, name, err)
			}
		}
		if err := waitChange(ctx, changes, tick.C, store.Pods, ns, name); err != nil {
			return fmt.Errorf("wait for deletion of pod %s/%s: %w", ns, name, err)
		}
	}
}

// waitChange waits for a change of the object k ns/name (or a resync, or
// a tick) on changes.
func waitChange(ctx context.Context, changes <-chan store.Change, tick <-chan time.Time, k store.Kind, ns, name string) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick:
			return nil
		case c, ok := <-changes:
			if !ok {
				return ctx.Err()
			}
			if c.Resync || (c.Kind == k && c.Namespace == ns && c.Name == name) {
				return nil
			}
		}
	}
}

// watchDeletion hands the deletion requests written to the store for the
// pod ns/name to deliver (Worker.Delete) until ctx ends: the grace of
// each mark that shortens the last one delivered, and 0 if the pod
// vanished from the store.
func watchDeletion(ctx context.Context, st *store.Store, ns, name string, deliver func(*int64), log *slog.Logger) {
	changes, err := st.Watch(ctx, ns)
	if err != nil {
		log.Error("watch for deletion", "pod", name, "err", err)
		return
	}
	var last *int64
	for {
		grace, ok := deletionRequest(ctx, st, ns, name)
		if ok && (last == nil || *grace < *last) {
			last = grace
			deliver(grace)
		}
		if err := waitChange(ctx, changes, nil, store.Pods, ns, name); err != nil {
			return
		}
	}
}

// deletionRequest reads the pod's deletion mark: its grace, and whether
// there is one. A pod removed from the store is a request with grace 0.
func deletionRequest(ctx context.Context, st *store.Store, ns, name string) (*int64, bool) {
	p, err := st.GetPod(ctx, ns, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		zero := int64(0)
		return &zero, true
	case err != nil || p.DeletionTimestamp == nil:
		return nil, false
	case p.DeletionGracePeriodSeconds == nil:
		return nil, false
	}
	g := *p.DeletionGracePeriodSeconds
	return &g, true
}

// MarkJobDeleted deletes the Job ns/name with background propagation:
// its supervisor terminates the Job's pods and removes them and the Job.
// A Job nothing runs any more is removed at once, with its pods (which
// are marked deleted like MarkPodDeleted). store.ErrNotFound for an
// unknown Job.
func MarkJobDeleted(ctx context.Context, st *store.Store, ns, name string, opts DeleteOptions) (Deleted, error) {
	j, err := st.UpdateJob(ctx, ns, name, func(j *batchv1.Job) error {
		if j.DeletionTimestamp == nil {
			zero := int64(0)
			markDeleted(&j.ObjectMeta, zero, opts.Now)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("delete job %s/%s: %w", ns, name, err)
	}
	if alive, err := jobSupervised(st.Root(), ns, name); err != nil || alive {
		return DeletionMarked, err
	}
	pods, err := JobPods(ctx, st, j)
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, p := range pods {
		done, err := MarkPodDeleted(ctx, st, p.Namespace, p.Name, opts)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, err)
		}
		if done == DeletionMarked && opts.Launch != nil {
			// Its containers may run with nobody supervising them.
			if _, err := EnsureSupervised(ctx, st, opts.Launch, p.Namespace, p.Name); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := st.DeleteJob(ctx, ns, name); err != nil && !errors.Is(err, store.ErrNotFound) {
		errs = append(errs, err)
	}
	removeSuperviseFiles(st.Root(), KindJob, ns, name)
	return DeletionRemoved, errors.Join(errs...)
}

// JobPods returns the pods the Job j owns.
func JobPods(ctx context.Context, st *store.Store, j *batchv1.Job) ([]*corev1.Pod, error) {
	all, err := st.ListPods(ctx, j.Namespace)
	if err != nil {
		return nil, fmt.Errorf("pods of job %s/%s: %w", j.Namespace, j.Name, err)
	}
	var out []*corev1.Pod
	for _, p := range all {
		for _, ref := range p.OwnerReferences {
			if ref.Kind == "Job" && ref.UID == j.UID {
				out = append(out, p)
				break
			}
		}
	}
	return out, nil
}

// WaitJobGone blocks until the Job ns/name is no longer in the store, or
// ctx ends. If the Job's supervisor ends without removing it, it finishes
// the deletion itself with opts.
func WaitJobGone(ctx context.Context, st *store.Store, ns, name string, opts DeleteOptions) error {
	changes, err := st.Watch(ctx, ns)
	if err != nil {
		return fmt.Errorf("wait for deletion of job %s/%s: %w", ns, name, err)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		_, err := st.GetJob(ctx, ns, name)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("wait for deletion of job %s/%s: %w", ns, name, err)
		}
		if alive, err := jobSupervised(st.Root(), ns, name); err == nil && !alive {
			// The supervisor ended (or never was): finish the deletion.
			if _, err := MarkJobDeleted(ctx, st, ns, name, opts); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			continue
		}
		if err := waitChange(ctx, changes, tick.C, store.Jobs, ns, name); err != nil {
			return fmt.Errorf("wait for deletion of job %s/%s: %w", ns, name, err)
		}
	}
}
