package fake

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"

	"github.com/podrun/podrun/internal/runtime"
)

var _ runtime.Runtime = (*Runtime)(nil)

// Runtime is a runtime.Runtime whose containers are programs interpreted on
// an injected clock. It starts no goroutines: a container's state is
// computed from the clock whenever it is looked at, and WaitContainer
// blocks on a clock timer set to the container's next change. Safe for
// concurrent use.
type Runtime struct {
	clock  clock.WithTicker
	script Script

	mu         sync.Mutex
	sandboxes  map[string]*sandbox
	removed    map[string]*sandbox // kept for ReadVolumeFile
	containers map[string]*container
	order      []string // container IDs, oldest first
	nextID     int
	calls      []Call
	inject     map[string][]error
	execs      map[*process]bool // running ExecSync processes
	// changed is closed and replaced whenever a signal or removal may have
	// moved a container's next change earlier.
	changed chan struct{}
}

// Call is one recorded method call: the method name and its main
// arguments (IDs, container names, signals).
type Call struct {
	Method string
	Args   []string
}

// String renders the call as Method(arg, ...).
func (c Call) String() string { return c.Method + "(" + strings.Join(c.Args, ", ") + ")" }

type sandbox struct {
	id      string
	cfg     runtime.SandboxConfig
	created time.Time
	volumes map[string]map[string][]string // volume name -> path -> lines
}

type container struct {
	status  runtime.ContainerStatus
	cfg     runtime.ContainerConfig
	sandbox *sandbox
	prog    *Program
	proc    *process
	files   map[string][]string
	env     map[string]string
	behave  Behavior
}

// New returns a fake runtime on clk; containers named in script follow it,
// the others interpret their commands.
func New(clk clock.WithTicker, script Script) *Runtime {
	return &Runtime{
		clock:      clk,
		script:     script,
		sandboxes:  map[string]*sandbox{},
		removed:    map[string]*sandbox{},
		containers: map[string]*container{},
		inject:     map[string][]error{},
		execs:      map[*process]bool{},
		changed:    make(chan struct{}),
	}
}

// InjectError makes the next call of method (for example
// "StartContainer") fail with err; several injections queue up.
func (r *Runtime) InjectError(method string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inject[method] = append(r.inject[method], err)
}

// Calls returns the calls made so far, oldest first.
func (r *Runtime) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// CallNames returns the recorded calls rendered with Call.String.
func (r *Runtime) CallNames() []string {
	var out []string
	for _, c := range r.Calls() {
		out = append(out, c.String())
	}
	return out
}

// record logs a call and returns an injected error, if one is queued.
// Callers hold r.mu.
func (r *Runtime) record(method string, args ...string) error {
	r.calls = append(r.calls, Call{Method: method, Args: args})
	if q := r.inject[method]; len(q) > 0 {
		r.inject[method] = q[1:]
		return q[0]
	}
	return nil
}

// notify wakes every WaitContainer and ExecSync. Callers hold r.mu.
func (r *Runtime) notify() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// RunPodSandbox creates a sandbox named after the pod's UID and attempt.
func (r *Runtime) RunPodSandbox(ctx context.Context, cfg runtime.SandboxConfig) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cfg.Pod == nil {
		return "", fmt.Errorf("run pod sandbox: no pod")
	}
	id := fmt.Sprintf("sandbox-%s-%d", podKey(cfg.Pod), cfg.Attempt)
	if err := r.record("RunPodSandbox", id); err != nil {
		return "", err
	}
	if _, ok := r.sandboxes[id]; ok {
		return "", fmt.Errorf("run pod sandbox %q: %w", id, runtime.ErrAlreadyExists)
	}
	r.sandboxes[id] = &sandbox{id: id, cfg: cfg, created: r.clock.Now(), volumes: map[string]map[string][]string{}}
	return id, nil
}

func podKey(p *corev1.Pod) string {
	if p.UID != "" {
		return string(p.UID)
	}
	return p.Namespace + "_" + p.Name
}

// RemovePodSandbox kills and removes every container of the sandbox, then
// the sandbox. Removing an unknown sandbox succeeds.
func (r *Runtime) RemovePodSandbox(ctx context.Context, sandboxID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.record("RemovePodSandbox", sandboxID); err != nil {
		return err
	}
	now := r.clock.Now()
	for id, c := range r.containers {
		if c.sandbox.id == sandboxID {
			r.sync(c, now)
			if c.proc != nil && !c.proc.exited {
				c.proc.signal(syscall.SIGKILL, now)
				r.sync(c, now)
			}
			delete(r.containers, id)
		}
	}
	if s, ok := r.sandboxes[sandboxID]; ok {
		r.removed[sandboxID] = s
	}
	delete(r.sandboxes, sandboxID)
	r.notify()
	return nil
}

// PodSandboxStatus reports a sandbox or ErrNotFound.
func (r *Runtime) PodSandboxStatus(ctx context.Context, sandboxID string) (runtime.SandboxStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.record("PodSandboxStatus", sandboxID); err != nil {
		return runtime.SandboxStatus{}, err
	}
	s, ok := r.sandboxes[sandboxID]
	if !ok {
		return runtime.SandboxStatus{}, fmt.Errorf("pod sandbox %q: %w", sandboxID, runtime.ErrNotFound)
	}
	return sandboxStatus(s), nil
}

func sandboxStatus(s *sandbox) runtime.SandboxStatus {
	return runtime.SandboxStatus{ID: s.id, Attempt: s.cfg.Attempt, Ready: true, IP: "127.0.0.1", CreatedAt: s.created}
}

// ListPodSandbox reports the live sandboxes of the pod with UID podUID,
// oldest first. The fake keeps its state across workers, as a runtime
// outlives a kubelet that restarts.
func (r *Runtime) ListPodSandbox(ctx context.Context, podUID string) ([]runtime.SandboxStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.record("ListPodSandbox", podUID); err != nil {
		return nil, err
	}
	var out []runtime.SandboxStatus
	for _, s := range r.sandboxes {
		if podKey(s.cfg.Pod) == podUID {
			out = append(out, sandboxStatus(s))
		}
	}
	slices.SortFunc(out, func(a, b runtime.SandboxStatus) int { return a.Attempt - b.Attempt })
	return out, nil
}

// CreateContainer creates attempt cfg.Attempt of container cfg.Name. A
// second create of the same name and attempt in a sandbox is
// ErrAlreadyExists.
func (r *Runtime) CreateContainer(ctx context.Context, sandboxID string, cfg runtime.ContainerConfig) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.record("CreateContainer", sandboxID, cfg.Name, fmt.Sprint(cfg.Attempt)); err != nil {
		return "", err
	}
	s, ok := r.sandboxes[sandboxID]
	if !ok {
		return "", fmt.Errorf("create container %q: pod sandbox %q: %w", cfg.Name, sandboxID, runtime.ErrNotFound)
	}
	for _, c := range r.containers {
		if c.sandbox == s && c.cfg.Name == cfg.Name && c.cfg.Attempt == cfg.Attempt {
			return "", fmt.Errorf("create container %q attempt %d: %w", cfg.Name, cfg.Attempt, runtime.ErrAlreadyExists)
		}
	}
	if cfg.Container == nil {
		return "", fmt.Errorf("create container %q: no container spec", cfg.Name)
	}
	b := r.script[cfg.Name]
	if b.FailCreate != nil {
		return "", b.FailCreate
	}
	env, err := resolveEnv(cfg.Pod, cfg.Container, s.cfg)
	if err != nil {
		return "", err
	}
	argv := append(slices.Clone(cfg.Container.Command), cfg.Container.Args...)
	if b.overridesCommand() {
		argv = b.Command()
	}
	if len(argv) == 0 {
		argv = []string{"sh", "-c", "exit 0"} // busybox's CMD is sh, which exits without a terminal
	}
	prog, err := ParseCommand(argv)
	if err != nil {
		return "", &runtime.StartError{Reason: runtime.ReasonCreateContainerError,
			Message: fmt.Sprintf("fake runtime cannot run container %q", cfg.Name), Err: fmt.Errorf("%w: %w", runtime.ErrNotSupported, err)}
	}
	r.nextID++
	id := fmt.Sprintf("%s-%d-%04d", cfg.Name, cfg.Attempt, r.nextID)
	c := &container{
		cfg: cfg, sandbox: s, prog: prog, env: env, behave: b, files: map[string][]string{},
		status: runtime.ContainerStatus{
			ID: id, SandboxID: sandboxID, Name: cfg.Name, Attempt: cfg.Attempt, State: runtime.StateCreated,
			CreatedAt: r.clock.Now(), Image: cfg.Image, ImageID: "sha256:" + fmt.Sprintf("%064x", len(cfg.Image)), LogPath: cfg.LogPath,
		},
	}
	r.containers[id] = c
	r.order = append(r.order, id)
	return id, nil
}

// StartContainer starts a created container. A script's FailStart or a
// command whose program the fake does not have ends it with reason
// StartError and exit code 128 and returns a *runtime.StartError with reason
// RunContainerError.
func (r *Runtime) StartContainer(ctx context.Context, containerID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.record("StartContainer", containerID); err != nil {
		return err
	}
	c, ok := r.containers[containerID]
	if !ok {
		return fmt.Errorf("start container %q: %w", containerID, runtime.ErrNotFound)
	}
	if c.status.State != runtime.StateCreated {
		return fmt.Errorf("start container %q: container is %s, not created", containerID, c.status.State)
	}
	now := r.clock.Now()
	fail := c.behave.FailStart
	if fail == nil && !c.prog.Runnable() {
		fail = &runtime.StartError{Reason: runtime.ReasonRunContainerError,
			Message: fmt.Sprintf("failed to start container %q: exec: %q: executable file not found in $PATH", containerID, c.prog.binary)}
	}
	if fail != nil {
		c.status.State, c.status.FinishedAt, c.status.ExitCode = runtime.StateExited, now, 128
		c.status.Reason, c.status.Message = "StartError", fail.Message
		r.notify()
		return fail
	}
	c.status.State, c.status.StartedAt, c.status.PID = runtime.StateRunning, now, 1000+r.nextID
	c.proc = newProcess(c.prog, &containerEnv{c: c}, now)
	r.sync(c, now)
	r.notify()
	return nil
}

// sync advances c's process to now and copies its exit into the status.
// Callers hold r.mu.
func (r *Runtime) sync(c *container, now time.Time) {
	if c.proc == nil || c.status.State != runtime.StateRunning {
		return
	}
	c.proc.advance(now)
	if !c.proc.exited {
		return
	}
	c.status.State, c.status.FinishedAt = runtime.StateExited, c.proc.exitAt
	c.status.ExitCode, c.status.Signal = int32(c.proc.exitCode), c.proc.exitSig
	c.status.Reason = "Completed"
	if c.status.ExitCode != 0 {
		c.status.Reason = "Error"
	}
}

// SignalContainer delivers sig to the container's process; signalling a
// container that is not running succeeds.
func (r *Runtime) SignalContainer(ctx context.Context, containerID string, sig syscall.Signal) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.record("SignalContainer", containerID, sig.String()); err != nil {
		return err
	}
	c, ok := r.containers[containerID]
	if !ok {
		return fmt.Errorf("signal container %q: %w", containerID, runtime.ErrNotFound)
	}
	now := r.clock.Now()
	r.syncAll(now)
	if c.status.State == runtime.StateRunning {
		c.proc.signal(sig, now)
		r.sync(c, now)
		r.notify()
	}
	return nil
}

// RemoveContainer removes a container, killing it first if it runs.
// Removing an unknown container succeeds.
func (r *Runtime) RemoveContainer(ctx context.Context, containerID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.record("RemoveContainer", containerID); err != nil {
		return err
	}
	c, ok := r.containers[containerID]
	if !ok {
		return nil
	}
	now := r.clock.Now()
	r.syncAll(now)
	if c.status.State == runtime.StateRunning {
		c.proc.signal(syscall.SIGKILL, now)
		r.sync(c, now)
	}
	delete(r.containers, containerID)
	r.notify()
	return nil
}

// ContainerStatus reports a container at the clock's now.
func (r *Runtime) ContainerStatus(ctx context.Context, containerID string) (runtime.ContainerStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.record("ContainerStatus", containerID); err != nil {
		return runtime.ContainerStatus{}, err
	}
	c, ok := r.containers[containerID]
	if !ok {
		return runtime.ContainerStatus{}, fmt.Errorf("container %q: %w", containerID, runtime.ErrNotFound)
	}
	r.syncAll(r.clock.Now())
	return c.status, nil
}

// ListContainers reports the sandbox's containers, oldest first;
// ErrNotFound for an unknown sandbox.
func (r *Runtime) ListContainers(ctx context.Context, sandboxID string) ([]runtime.ContainerStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.record("ListContainers", sandboxID); err != nil {
		return nil, err
	}
	if _, ok := r.sandboxes[sandboxID]; !ok {
		return nil, fmt.Errorf("list containers of pod sandbox %q: %w", sandboxID, runtime.ErrNotFound)
	}
	r.syncAll(r.clock.Now())
	var out []runtime.ContainerStatus
	for _, id := range r.order {
		if c, ok := r.containers[id]; ok && c.sandbox.id == sandboxID {
			out = append(out, c.status)
		}
	}
	return out, nil
}

// WaitContainer blocks until the container has exited, ctx ends or the
// container is removed (ErrNotFound). It waits on a clock timer set to the
// container's next change, so with a fake clock it returns once the clock
// has been stepped past the exit.
func (r *Runtime) WaitContainer(ctx context.Context, containerID string) (runtime.ContainerStatus, error) {
	r.mu.Lock()
	err := r.record("WaitContainer", containerID)
	r.mu.Unlock()
	if err != nil {
		return runtime.ContainerStatus{}, err
	}
	for {
		r.mu.Lock()
		c, ok := r.containers[containerID]
		if !ok {
			r.mu.Unlock()
			return runtime.ContainerStatus{}, fmt.Errorf("wait for container %q: %w", containerID, runtime.ErrNotFound)
		}
		now := r.clock.Now()
		r.syncAll(now)
		if c.status.State == runtime.StateExited {
			st := c.status
			r.mu.Unlock()
			return st, nil
		}
		var next time.Time
		if c.proc != nil {
			next = c.proc.nextWake()
		}
		changed := r.changed
		r.mu.Unlock()
		if err := r.waitUntil(ctx, now, next, changed); err != nil {
			return runtime.ContainerStatus{}, fmt.Errorf("wait for container %q: %w", containerID, err)
		}
	}
}

// waitUntil blocks until the clock reaches next (zero: never), changed is
// closed, or ctx ends.
func (r *Runtime) waitUntil(ctx context.Context, now, next time.Time, changed <-chan struct{}) error {
	var fire <-chan time.Time
	if !next.IsZero() {
		d := next.Sub(now)
		if d <= 0 {
			return nil
		}
		t := r.clock.NewTimer(d)
		defer t.Stop()
		fire = t.C()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-fire:
	case <-changed:
	}
	return nil
}
