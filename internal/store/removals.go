package store

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// A pod's deletion mark (deletionTimestamp) can mean two things: a
// deletion through the API (podrun delete), after which the pod leaves
// the store once it terminated, or its own run stopping it (Ctrl-C of
// podrun run), after which it stays. The pod looks the same either way,
// so the first also leaves a removal request beside the pod.

// MarkPodForRemoval applies fn (a deletion mark) to the pod ns/name, as
// UpdatePod does, and records under the same lock that the pod is to be
// removed once it terminated (RemovalRequested). The request is written
// before the pod, so that a reader that sees the mark sees the request.
// DeletePod removes it. ErrNotFound if there is no such pod.
func (s *Store) MarkPodForRemoval(ctx context.Context, ns, name string, fn func(*corev1.Pod) error) (*corev1.Pod, error) {
	request := func() error {
		if err := s.b.write(Removals, ns, name, []byte("{}")); err != nil {
			return fmt.Errorf("mark pod %s/%s for removal: %w", ns, name, err)
		}
		return nil
	}
	return updateWith(s, ctx, Pods, ns, name, fn, request)
}

// RemovalRequested reports whether MarkPodForRemoval asked for the
// removal of the pod ns/name.
func (s *Store) RemovalRequested(ctx context.Context, ns, name string) (bool, error) {
	if err := checkObject(Removals, ns, name); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	_, err := s.b.read(Removals, ns, name)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("removal request of pod %s/%s: %w", ns, name, err)
}

// watched reports whether changes of kind k reach watchers (checkpoints
// and removal requests do not).
func watched(k Kind) bool { return k != Checkpoints && k != Removals }
