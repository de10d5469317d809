package oci

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/runtime"
	"github.com/podrun/podrun/internal/runtime/oci/runc"
)

// container is one container instance (attempt).
type container struct {
	id     string
	sb     *sandbox
	cfg    runtime.ContainerConfig
	seq    uint64
	bundle string
	root   rootfs
	cgroup string
	// termFile is the host file mounted at terminationMessagePath.
	termFile string

	// opMu serialises Start and Remove.
	opMu sync.Mutex
	// created is true once the OCI runtime knows the container.
	created bool

	// The fields below are guarded by Runtime.mu.
	status runtime.ContainerStatus
	// proc is the container's main process (to signal it) and shim its
	// podrun-shim (whose exit ends the container); nil before start or
	// when they were gone when the container was loaded.
	proc, shim *process
	// startAt is taken just before runc start.
	startAt time.Time
	// startErr, when set, is the start failure that ends the container.
	startErr *runtime.StartError
	// exited is closed when status turns Exited; gone when removed.
	exited, gone chan struct{}
}

// detach stops watching the container (Runtime.Close): the container and
// its shim go on. Callers hold r.mu.
func (c *container) detach() {
	if c.proc != nil {
		c.proc.close()
	}
	if c.shim != nil {
		c.shim.close()
	}
}

// newID returns a container ID: its name, attempt and a random suffix.
func newID(name string, attempt int) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", name, attempt, hex.EncodeToString(b))
}

// CreateContainer prepares a container's bundle: the rootfs from the
// image's layers, config.json from the container spec and image config fit
// into the sandbox, and the termination-message file. The OCI runtime is
// first called by StartContainer, as containerd's CRI does, so a process
// that cannot be started is a RunContainerError there.
func (r *Runtime) CreateContainer(ctx context.Context, sandboxID string, cfg runtime.ContainerConfig) (string, error) {
	if cfg.Container == nil || cfg.Pod == nil {
		return "", fmt.Errorf("create container %q: no pod or container spec", cfg.Name)
	}
	sb, err := r.sandboxFor(ctx, sandboxID)
	if err != nil {
		return "", fmt.Errorf("create container %q: %w", cfg.Name, err)
	}
	sb.opMu.Lock()
	defer sb.opMu.Unlock()
	if sb.removed {
		return "", fmt.Errorf("create container %q: pod sandbox %q: %w", cfg.Name, sandboxID, runtime.ErrNotFound)
	}
	for _, other := range r.sandboxContainers(sandboxID) {
		if other.cfg.Name == cfg.Name && other.cfg.Attempt == cfg.Attempt {
			return "", fmt.Errorf("create container %q attempt %d: %w", cfg.Name, cfg.Attempt, runtime.ErrAlreadyExists)
		}
	}
	if err := r.loadVolumes(ctx, sb); err != nil {
		return "", &runtime.StartError{Reason: runtime.ReasonCreateContainerError,
			Message: fmt.Sprintf("create container %q: %v", cfg.Name, err), Err: err}
	}
	id := newID(cfg.Name, cfg.Attempt)
	c := &container{
		id: id, sb: sb, cfg: cfg,
		bundle: filepath.Join(r.opts.Root, "containers", id),
		cgroup: sb.cgroup + "/" + id,
		exited: make(chan struct{}), gone: make(chan struct{}),
	}
	c.status = runtime.ContainerStatus{
		ID: id, SandboxID: sandboxID, Name: cfg.Name, Attempt: cfg.Attempt, State: runtime.StateCreated,
		CreatedAt: r.now(), Image: cfg.Image, ImageID: r.imageID(ctx, cfg.Image), LogPath: cfg.LogPath,
	}
	if err := r.prepareBundle(ctx, c); err != nil {
		err = errors.Join(err, r.releaseBundle(c))
		var se *runtime.StartError
		if errors.As(err, &se) {
			return "", err
		}
		return "", &runtime.StartError{Reason: runtime.ReasonCreateContainerError,
			Message: fmt.Sprintf("create container %q: %v", cfg.Name, err), Err: err}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	c.seq = r.seq
	r.containers[id] = c
	r.log.Debug("container created", "container", cfg.Name, "attempt", cfg.Attempt, "id", id)
	return id, nil
}

// imageIDer is implemented by image sources that know an image's ID.
type imageIDer interface {
	ImageID(ctx context.Context, ref string) (string, error)
}

// imageID reports the image's ID (config digest) when the source knows it,
// else the digest in a ref@sha256:... reference.
func (r *Runtime) imageID(ctx context.Context, ref string) string {
	if ider, ok := r.opts.Images.(imageIDer); ok {
		if id, err := ider.ImageID(ctx, ref); err == nil {
			return id
		}
	}
	if _, digest, ok := strings.Cut(ref, "@"); ok {
		return digest
	}
	return ""
}

// prepareBundle builds the bundle directory of c.
func (r *Runtime) prepareBundle(ctx context.Context, c *container) error {
	layers, img, err := r.opts.Images.Lookup(ctx, c.cfg.Image)
	if err != nil {
		return fmt.Errorf("image %q: %w", c.cfg.Image, err)
	}
	if err := os.MkdirAll(c.bundle, 0o711); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	root, err := prepareRootfs(c.bundle, layers, !r.opts.NoOverlay)
	if err != nil {
		return err
	}
	c.root = root
	c.termFile = filepath.Join(c.bundle, "termination-log")
	if err := r.recordContainer(c); err != nil {
		return err
	}
	if err := os.WriteFile(c.termFile, nil, 0o666); err != nil {
		return fmt.Errorf("termination message file: %w", err)
	}
	// Any container user may write its termination message (the umask
	// would leave 0644, unwritable for runAsUser != 0), as the kubelet.
	if err := os.Chmod(c.termFile, 0o666); err != nil {
		return fmt.Errorf("termination message file: %w", err)
	}
	s, err := r.generateConfig(ctx, c, img)
	if err != nil {
		return err
	}
	return writeConfig(c.bundle, s)
}

// releaseBundle unmounts the rootfs and deletes the bundle directory.
func (r *Runtime) releaseBundle(c *container) error {
	if c.root.Overlay {
		if err := releaseRootfs(c.root.Path); err != nil {
			return err
		}
	}
	return removeStateDir(c.bundle)
}

// sandboxContainers lists a sandbox's containers, oldest first.
func (r *Runtime) sandboxContainers(sandboxID string) []*container {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*container
	for _, c := range r.containers {
		if c.sb.id == sandboxID {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// ContainerStatus reports one container; ErrNotFound if unknown.
func (r *Runtime) ContainerStatus(ctx context.Context, containerID string) (runtime.ContainerStatus, error) {
	c, err := r.containerFor(ctx, "status of", containerID)
	if err != nil {
		return runtime.ContainerStatus{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return c.status, nil
}

// ListContainers reports every container of a sandbox, oldest first.
func (r *Runtime) ListContainers(ctx context.Context, sandboxID string) ([]runtime.ContainerStatus, error) {
	if _, err := r.sandboxFor(ctx, sandboxID); err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	cs := r.sandboxContainers(sandboxID)
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]runtime.ContainerStatus, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.status)
	}
	return out, nil
}

// WaitContainer blocks until the container has exited, ctx ends or it is
// removed (ErrNotFound), and returns its final status.
func (r *Runtime) WaitContainer(ctx context.Context, containerID string) (runtime.ContainerStatus, error) {
	c, err := r.containerFor(ctx, "wait for", containerID)
	if err != nil {
		return runtime.ContainerStatus{}, err
	}
	select {
	case <-c.exited:
		r.mu.Lock()
		defer r.mu.Unlock()
		return c.status, nil
	case <-c.gone:
		return runtime.ContainerStatus{}, fmt.Errorf("wait for container %q: removed: %w", containerID, runtime.ErrNotFound)
	case <-ctx.Done():
		return runtime.ContainerStatus{}, fmt.Errorf("wait for container %q: %w", containerID, ctx.Err())
	}
}

// SignalContainer sends sig to the container's main process through its
// pidfd, which cannot hit a recycled PID. Signalling a container that has
// exited or never started succeeds.
func (r *Runtime) SignalContainer(ctx context.Context, containerID string, sig syscall.Signal) error {
	c, err := r.containerFor(ctx, "signal", containerID)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.status.State != runtime.StateRunning || c.proc == nil {
		return nil
	}
	if err := c.proc.signal(sig); err != nil {
		return fmt.Errorf("signal container %q (%s): %w", c.cfg.Name, containerID, err)
	}
	return nil
}

// RemoveContainer kills the container if it still runs, deletes it from
// the OCI runtime (which removes its cgroup), unmounts its rootfs and
// deletes its bundle. The log file stays. Removing an unknown container
// succeeds.
func (r *Runtime) RemoveContainer(ctx context.Context, containerID string) error {
	c, err := r.containerFor(ctx, "remove", containerID)
	if errors.Is(err, runtime.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return r.removeContainer(ctx, c)
}

func (r *Runtime) removeContainer(ctx context.Context, c *container) error {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	r.mu.Lock()
	if _, ok := r.containers[c.id]; !ok {
		r.mu.Unlock()
		return nil
	}
	// A shim that has not reported the exit is still running (also for a
	// container created but never started): killing the process ends it.
	running := c.status.State != runtime.StateExited && c.shim != nil
	if running && c.proc != nil {
		_ = c.proc.signal(syscall.SIGKILL)
	}
	r.mu.Unlock()
	if running && c.proc == nil {
		// Its process was gone when the container was loaded: the
		// OCI runtime's delete ends whatever is left, and the shim.
		_ = r.deleteFromRuntime(ctx, c)
	}
	if running {
		select {
		case <-c.exited:
		case <-ctx.Done():
			return fmt.Errorf("remove container %q: waiting for it to die: %w", c.id, ctx.Err())
		}
	}
	// Best effort past a failing OCI runtime (a broken --runtime binary
	// fails delete as it failed create): the process is dead, so the
	// rootfs, mounts and cgroup are released whatever delete said.
	var errs []error
	if err := r.deleteFromRuntime(ctx, c); err != nil {
		errs = append(errs, err)
	}
	if err := r.releaseBundle(c); err != nil {
		return fmt.Errorf("remove container %q: %w", c.id, errors.Join(append(errs, err)...))
	}
	if err := removeCgroupTree(r.cgroups, c.cgroup); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		r.log.Warn("remove container: runtime state may be left", "container", c.id, "err", err)
	}
	r.mu.Lock()
	delete(r.containers, c.id)
	c.detach()
	close(c.gone)
	r.mu.Unlock()
	return nil
}

// deleteFromRuntime runs the OCI runtime's delete, tolerating a container
// it does not know.
func (r *Runtime) deleteFromRuntime(ctx context.Context, c *container) error {
	if !c.created {
		return nil
	}
	err := r.runc.Delete(ctx, c.id, runc.DeleteOpts{Force: true})
	if err != nil && !errors.Is(err, runc.ErrNotExist) {
		return err
	}
	c.created = false
	return nil
}

// terminationReason is the runtime's terminated reason, as containerd's.
func terminationReason(exitCode int, oom bool) string {
	switch {
	case oom && exitCode != 0:
		return "OOMKilled"
	case exitCode == 0:
		return "Completed"
	default:
		return "Error"
	}
}

// fallbackToLogs reports whether the container asks for the log tail as
// its termination message on error.
func fallbackToLogs(c *corev1.Container) bool {
	return c.TerminationMessagePolicy == corev1.TerminationMessageFallbackToLogsOnError
}
