package local

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/podworker"
	"github.com/podrun/podrun/internal/store"
)

// podStore is the podworker.Store of one pod run: it persists into the
// state directory and tells the run about every status change.
type podStore struct {
	store   *store.Store
	changed func(pod *corev1.Pod)
}

var _ podworker.Store = (*podStore)(nil)

// SaveStatus stores the pod's status and reports the updated pod.
func (s *podStore) SaveStatus(ctx context.Context, pod *corev1.Pod, status corev1.PodStatus) error {
	updated, err := s.store.UpdatePod(ctx, pod.Namespace, pod.Name, func(p *corev1.Pod) error {
		p.Status = status
		// The deletion mark is the deleter's (the API server's): once set,
		// only the grace may shrink, and the kubelet never rewrites it.
		if pod.DeletionTimestamp != nil && p.DeletionTimestamp == nil {
			p.DeletionTimestamp = pod.DeletionTimestamp
			p.DeletionGracePeriodSeconds = pod.DeletionGracePeriodSeconds
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	if s.changed != nil {
		s.changed(updated)
	}
	return nil
}

// AppendEvent records a pod event.
func (s *podStore) AppendEvent(ctx context.Context, ev corev1.Event) error {
	if _, err := s.store.PutEvent(ctx, &ev); err != nil {
		return fmt.Errorf("record event %s: %w", ev.Reason, err)
	}
	return nil
}

// SaveCheckpoint stores the pod worker's state for a later supervisor.
func (s *podStore) SaveCheckpoint(ctx context.Context, cp *podworker.Checkpoint) error {
	data, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("encode checkpoint of %s: %w", cp.Record.Name, err)
	}
	if err := s.store.PutCheckpoint(ctx, cp.Record.Namespace, cp.Record.Name, data); err != nil {
		return fmt.Errorf("save checkpoint of %s: %w", cp.Record.Name, err)
	}
	return nil
}

// SaveRecord stores the pod's run record.
func (s *podStore) SaveRecord(ctx context.Context, rec *podworker.Record) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode run record of %s: %w", rec.Name, err)
	}
	if err := s.store.PutRecord(ctx, rec.Namespace, rec.Name, data); err != nil {
		return fmt.Errorf("save run record of %s: %w", rec.Name, err)
	}
	return nil
}

// attemptKey names one container instance.
type attemptKey struct {
	container string
	attempt   int32
}

// followers tails the log file of every container instance of one pod as
// it appears in the pod's status, and stops each one (after draining it)
// once that instance has exited.
type followers struct {
	ctx    context.Context
	logDir string
	line   func(container string, line []byte)
	follow func(ctx context.Context, path string, fn func(container string, line []byte), container string) error

	mu      sync.Mutex
	running map[attemptKey]context.CancelFunc
	seen    map[attemptKey]bool
	wg      sync.WaitGroup
}

// update starts and stops followers for the container statuses of pod.
func (f *followers) update(pod *corev1.Pod) {
	if f.line == nil || f.logDir == "" {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for _, s := range list {
			cur := attemptKey{s.Name, s.RestartCount}
			active := s.State.Running != nil
			ran := active || s.State.Terminated != nil || s.LastTerminationState.Terminated != nil
			for k, cancel := range f.running {
				if k.container == s.Name && (k.attempt < cur.attempt || (k == cur && !active)) {
					cancel()
					delete(f.running, k)
				}
			}
			if ran && !f.seen[cur] {
				f.start(cur, !active)
			}
		}
	}
}

// start follows one attempt's log; an attempt that already ended is read
// to its end and not followed further.
func (f *followers) start(k attemptKey, ended bool) {
	f.seen[k] = true
	ctx, cancel := context.WithCancel(f.ctx)
	if ended {
		cancel()
	} else {
		f.running[k] = cancel
	}
	path := fmt.Sprintf("%s/%s/%d.log", f.logDir, k.container, k.attempt)
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		_ = f.follow(ctx, path, f.line, k.container)
	}()
}

// stop drains and stops every follower and waits for them.
func (f *followers) stop() {
	f.mu.Lock()
	for k, cancel := range f.running {
		cancel()
		delete(f.running, k)
	}
	f.mu.Unlock()
	f.wg.Wait()
}
