package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
)

// object is a stored API object: a pod or a Job.
type object[T any] interface {
	*T
	metav1.Object
}

// CreatePod stores a new pod, giving it a UID if it has none and a new
// resourceVersion; ErrAlreadyExists if the name is taken. It returns the
// stored copy.
func (s *Store) CreatePod(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	return create(s, ctx, Pods, pod)
}

// PutPod stores pod, replacing any pod of that name, with a new
// resourceVersion. It returns the stored copy.
func (s *Store) PutPod(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	return put(s, ctx, Pods, pod)
}

// UpdatePod applies fn to the current pod ns/name and stores the result,
// all under the writers' lock, so concurrent updates from other processes
// are never lost. An error from fn aborts the update and is returned.
func (s *Store) UpdatePod(ctx context.Context, ns, name string, fn func(*corev1.Pod) error) (*corev1.Pod, error) {
	return update(s, ctx, Pods, ns, name, fn)
}

// GetPod returns the pod ns/name, or ErrNotFound.
func (s *Store) GetPod(ctx context.Context, ns, name string) (*corev1.Pod, error) {
	return getJSON[corev1.Pod](s, ctx, Pods, ns, name)
}

// ListPods returns the pods of ns ("" for all namespaces), by namespace
// then name.
func (s *Store) ListPods(ctx context.Context, ns string) ([]*corev1.Pod, error) {
	return listJSON[corev1.Pod](s, ctx, Pods, ns)
}

// DeletePod removes the pod ns/name and everything of it: its run record,
// its events, its supervisor lock file and its log directory. It returns
// ErrNotFound if there is no such pod.
func (s *Store) DeletePod(ctx context.Context, ns, name string) error {
	if err := checkObject(Pods, ns, name); err != nil {
		return err
	}
	var uid string
	err := s.withLock(ctx, func() error {
		pod, err := getJSON[corev1.Pod](s, ctx, Pods, ns, name)
		if err != nil {
			return fmt.Errorf("delete pod: %w", err)
		}
		uid = string(pod.UID)
		if err := s.removeEventsOf(ns, "Pod", name); err != nil {
			return fmt.Errorf("delete pod %s/%s: %w", ns, name, err)
		}
		if err := s.b.remove(Records, ns, name); err != nil {
			return fmt.Errorf("delete pod %s/%s: record: %w", ns, name, err)
		}
		if err := s.b.remove(Checkpoints, ns, name); err != nil {
			return fmt.Errorf("delete pod %s/%s: checkpoint: %w", ns, name, err)
		}
		if err := s.b.remove(Removals, ns, name); err != nil {
			return fmt.Errorf("delete pod %s/%s: removal request: %w", ns, name, err)
		}
		if err := s.b.removeSupervisor(ns, name); err != nil {
			return fmt.Errorf("delete pod %s/%s: supervisor lock: %w", ns, name, err)
		}
		// The pod goes last: while it exists, a retry can finish the job.
		if err := s.b.remove(Pods, ns, name); err != nil {
			return fmt.Errorf("delete pod %s/%s: %w", ns, name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Logs can be large: remove them without holding up other writers.
	// The directory is named by UID, so a new pod of the same name never
	// shares it.
	if err := s.b.removeLogDir(s.LogDir(ns, name, types.UID(uid))); err != nil {
		return fmt.Errorf("delete pod %s/%s: logs: %w", ns, name, err)
	}
	return nil
}

// CreateJob stores a new Job, giving it a UID if it has none and a new
// resourceVersion; ErrAlreadyExists if the name is taken.
func (s *Store) CreateJob(ctx context.Context, job *batchv1.Job) (*batchv1.Job, error) {
	return create(s, ctx, Jobs, job)
}

// PutJob stores job, replacing any Job of that name, with a new
// resourceVersion.
func (s *Store) PutJob(ctx context.Context, job *batchv1.Job) (*batchv1.Job, error) {
	return put(s, ctx, Jobs, job)
}

// UpdateJob applies fn to the current Job ns/name and stores the result
// under the writers' lock, like UpdatePod.
func (s *Store) UpdateJob(ctx context.Context, ns, name string, fn func(*batchv1.Job) error) (*batchv1.Job, error) {
	return update(s, ctx, Jobs, ns, name, fn)
}

// GetJob returns the Job ns/name, or ErrNotFound.
func (s *Store) GetJob(ctx context.Context, ns, name string) (*batchv1.Job, error) {
	return getJSON[batchv1.Job](s, ctx, Jobs, ns, name)
}

// ListJobs returns the Jobs of ns ("" for all namespaces).
func (s *Store) ListJobs(ctx context.Context, ns string) ([]*batchv1.Job, error) {
	return listJSON[batchv1.Job](s, ctx, Jobs, ns)
}

// DeleteJob removes the Job ns/name and its events (not its pods: the
// caller deletes them, as the garbage collector would). ErrNotFound if
// there is no such Job.
func (s *Store) DeleteJob(ctx context.Context, ns, name string) error {
	if err := checkObject(Jobs, ns, name); err != nil {
		return err
	}
	return s.withLock(ctx, func() error {
		if _, err := s.b.read(Jobs, ns, name); err != nil {
			return fmt.Errorf("delete job %s/%s: %w", ns, name, err)
		}
		if err := s.removeEventsOf(ns, "Job", name); err != nil {
			return fmt.Errorf("delete job %s/%s: %w", ns, name, err)
		}
		if err := s.b.remove(Jobs, ns, name); err != nil {
			return fmt.Errorf("delete job %s/%s: %w", ns, name, err)
		}
		return nil
	})
}

func create[T any, P object[T]](s *Store, ctx context.Context, k Kind, obj P) (P, error) {
	ns, name := obj.GetNamespace(), obj.GetName()
	if err := checkObject(k, ns, name); err != nil {
		return nil, err
	}
	var stored P
	err := s.withLock(ctx, func() error {
		_, err := s.b.read(k, ns, name)
		switch {
		case err == nil:
			return fmt.Errorf("create %s %s/%s: %w", k, ns, name, ErrAlreadyExists)
		case !errors.Is(err, ErrNotFound):
			return fmt.Errorf("create %s %s/%s: %w", k, ns, name, err)
		}
		stored, err = storeObj(s, k, obj, true)
		return err
	})
	return stored, err
}

func put[T any, P object[T]](s *Store, ctx context.Context, k Kind, obj P) (P, error) {
	ns, name := obj.GetNamespace(), obj.GetName()
	if err := checkObject(k, ns, name); err != nil {
		return nil, err
	}
	var stored P
	err := s.withLock(ctx, func() error {
		var err error
		stored, err = storeObj(s, k, obj, false)
		return err
	})
	return stored, err
}

func update[T any, P object[T]](s *Store, ctx context.Context, k Kind, ns, name string, fn func(P) error) (P, error) {
	return updateWith(s, ctx, k, ns, name, fn, nil)
}

// updateWith is update that, if beforeWrite is set, calls it under the
// lock once fn succeeded and before the object is written; its error
// aborts the update.
func updateWith[T any, P object[T]](s *Store, ctx context.Context, k Kind, ns, name string, fn func(P) error, beforeWrite func() error) (P, error) {
	if err := checkObject(k, ns, name); err != nil {
		return nil, err
	}
	var stored P
	err := s.withLock(ctx, func() error {
		cur, err := getJSON[T](s, ctx, k, ns, name)
		if err != nil {
			return fmt.Errorf("update: %w", err)
		}
		if err := fn(P(cur)); err != nil {
			return err
		}
		if P(cur).GetNamespace() != ns || P(cur).GetName() != name {
			return fmt.Errorf("update %s %s/%s: the update renamed it: %w", k, ns, name, ErrInvalid)
		}
		if beforeWrite != nil {
			if err := beforeWrite(); err != nil {
				return err
			}
		}
		stored, err = storeObj(s, k, P(cur), false)
		return err
	})
	return stored, err
}

// storeObj writes a copy of obj with a new resourceVersion (and a UID
// when asked and missing) and returns the copy. Called with the lock held.
func storeObj[T any, P object[T]](s *Store, k Kind, obj P, newUID bool) (P, error) {
	ns, name := obj.GetNamespace(), obj.GetName()
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("put %s %s/%s: encode: %w", k, ns, name, err)
	}
	cp := P(new(T))
	if err := json.Unmarshal(data, cp); err != nil {
		return nil, fmt.Errorf("put %s %s/%s: copy: %w", k, ns, name, err)
	}
	if newUID && cp.GetUID() == "" {
		cp.SetUID(uuid.NewUUID())
	}
	rv, err := s.nextRV()
	if err != nil {
		return nil, fmt.Errorf("put %s %s/%s: %w", k, ns, name, err)
	}
	cp.SetResourceVersion(rv)
	if err := s.putJSON(k, ns, name, cp); err != nil {
		return nil, err
	}
	return cp, nil
}
