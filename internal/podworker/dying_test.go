package podworker_test

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/podworker"
	"github.com/podrun/podrun/internal/podworker/podworkertest"
	"github.com/podrun/podrun/internal/runtime"
)

// errDead is what a dead worker's runtime and store answer.
var errDead = errors.New("the supervisor is dead")

// dyingStore is a podworker.Store that counts checkpoints and, when
// dieAfter is reached, calls onDeath (kill the worker's runtime, cancel
// its Run) and refuses everything from then on: a supervisor killed
// right after a save, whose later writes never happen.
type dyingStore struct {
	*podworkertest.MemoryStore
	dieAfter int
	onDeath  func()

	mu     sync.Mutex
	saves  int
	isDead bool
}

var _ podworker.Store = (*dyingStore)(nil)

func (s *dyingStore) refuse() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isDead {
		return errDead
	}
	return nil
}

func (s *dyingStore) dead() bool { return s.refuse() != nil }

func (s *dyingStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saves
}

func (s *dyingStore) SaveStatus(ctx context.Context, pod *corev1.Pod, status corev1.PodStatus) error {
	if err := s.refuse(); err != nil {
		return err
	}
	return s.MemoryStore.SaveStatus(ctx, pod, status)
}

func (s *dyingStore) AppendEvent(ctx context.Context, ev corev1.Event) error {
	if err := s.refuse(); err != nil {
		return err
	}
	return s.MemoryStore.AppendEvent(ctx, ev)
}

func (s *dyingStore) SaveRecord(ctx context.Context, rec *podworker.Record) error {
	if err := s.refuse(); err != nil {
		return err
	}
	return s.MemoryStore.SaveRecord(ctx, rec)
}

// SaveCheckpoint stores cp and dies if this was the dieAfter-th save.
func (s *dyingStore) SaveCheckpoint(ctx context.Context, cp *podworker.Checkpoint) error {
	if err := s.refuse(); err != nil {
		return err
	}
	if err := s.MemoryStore.SaveCheckpoint(ctx, cp); err != nil {
		return err
	}
	s.mu.Lock()
	s.saves++
	die := s.saves == s.dieAfter && s.onDeath != nil
	if die {
		s.isDead = true
	}
	s.mu.Unlock()
	if die {
		s.onDeath()
	}
	return nil
}

// dyingRuntime forwards to a runtime until kill; then every call fails
// without reaching it, as calls of a process that no longer exists.
type dyingRuntime struct {
	runtime.Runtime
	mu     sync.Mutex
	isDead bool
}

func (r *dyingRuntime) kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.isDead = true
}

func (r *dyingRuntime) refuse() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.isDead {
		return errDead
	}
	return nil
}

func (r *dyingRuntime) RunPodSandbox(ctx context.Context, cfg runtime.SandboxConfig) (string, error) {
	if err := r.refuse(); err != nil {
		return "", err
	}
	return r.Runtime.RunPodSandbox(ctx, cfg)
}

func (r *dyingRuntime) RemovePodSandbox(ctx context.Context, id string) error {
	if err := r.refuse(); err != nil {
		return err
	}
	return r.Runtime.RemovePodSandbox(ctx, id)
}

func (r *dyingRuntime) PodSandboxStatus(ctx context.Context, id string) (runtime.SandboxStatus, error) {
	if err := r.refuse(); err != nil {
		return runtime.SandboxStatus{}, err
	}
	return r.Runtime.PodSandboxStatus(ctx, id)
}

func (r *dyingRuntime) ListPodSandbox(ctx context.Context, uid string) ([]runtime.SandboxStatus, error) {
	if err := r.refuse(); err != nil {
		return nil, err
	}
	return r.Runtime.ListPodSandbox(ctx, uid)
}

func (r *dyingRuntime) CreateContainer(ctx context.Context, sandboxID string, cfg runtime.ContainerConfig) (string, error) {
	if err := r.refuse(); err != nil {
		return "", err
	}
	return r.Runtime.CreateContainer(ctx, sandboxID, cfg)
}

func (r *dyingRuntime) StartContainer(ctx context.Context, id string) error {
	if err := r.refuse(); err != nil {
		return err
	}
	return r.Runtime.StartContainer(ctx, id)
}

func (r *dyingRuntime) SignalContainer(ctx context.Context, id string, sig syscall.Signal) error {
	if err := r.refuse(); err != nil {
		return err
	}
	return r.Runtime.SignalContainer(ctx, id, sig)
}

func (r *dyingRuntime) RemoveContainer(ctx context.Context, id string) error {
	if err := r.refuse(); err != nil {
		return err
	}
	return r.Runtime.RemoveContainer(ctx, id)
}

func (r *dyingRuntime) ContainerStatus(ctx context.Context, id string) (runtime.ContainerStatus, error) {
	if err := r.refuse(); err != nil {
		return runtime.ContainerStatus{}, err
	}
	return r.Runtime.ContainerStatus(ctx, id)
}

func (r *dyingRuntime) ListContainers(ctx context.Context, sandboxID string) ([]runtime.ContainerStatus, error) {
	if err := r.refuse(); err != nil {
		return nil, err
	}
	return r.Runtime.ListContainers(ctx, sandboxID)
}

func (r *dyingRuntime) WaitContainer(ctx context.Context, id string) (runtime.ContainerStatus, error) {
	if err := r.refuse(); err != nil {
		return runtime.ContainerStatus{}, err
	}
	return r.Runtime.WaitContainer(ctx, id)
}

func (r *dyingRuntime) ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) (runtime.ExecResult, error) {
	if err := r.refuse(); err != nil {
		return runtime.ExecResult{}, err
	}
	return r.Runtime.ExecSync(ctx, id, cmd, timeout)
}
