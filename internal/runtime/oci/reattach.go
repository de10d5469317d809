package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/runtime"
	"github.com/podrun/podrun/internal/runtime/oci/shim"
	"github.com/podrun/podrun/internal/runtime/oci/volume"
)

// Re-attach: a Runtime asked about a sandbox or container it does not
// hold loads it from the records under Root (sandbox.json, container.json,
// and the shim's shim-state.json and exit.json in each bundle), so that a
// new process takes over the pods of one that died. A loaded container is
//
//	Running  when its shim still lives (pidfd + start time against PID
//	         reuse): the Runtime watches the shim as if it had started it
//	Exited   with the recorded status when the shim wrote exit.json, or
//	         ContainerStatusUnknown (137) when the shim is gone without it
//	Created  when it was never started
//
// and every operation then works on it as on the Runtime's own.

// errOldRecord says a sandbox's record, written by an older build, cannot
// be loaded; the sandbox can only be removed (removeOrphanSandbox).
var errOldRecord = errors.New("sandbox record without its configuration")

// sandboxFor returns the sandbox id, loading it and its containers from
// disk when this Runtime does not hold it; ErrNotFound when there is none.
func (r *Runtime) sandboxFor(ctx context.Context, id string) (*sandbox, error) {
	r.mu.Lock()
	sb, ok := r.sandboxes[id]
	r.mu.Unlock()
	if ok {
		return sb, nil
	}
	r.loadMu.Lock()
	defer r.loadMu.Unlock()
	r.mu.Lock()
	sb, ok = r.sandboxes[id]
	closed := r.closed
	r.mu.Unlock()
	if ok {
		return sb, nil
	}
	dir := filepath.Join(r.opts.Root, "sandboxes", id)
	data, err := os.ReadFile(filepath.Join(dir, sandboxRecordFile))
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Stat(dir); serr == nil {
			// A sandbox whose creator died before recording it.
			return nil, fmt.Errorf("pod sandbox %q: %w", id, errOldRecord)
		}
		return nil, fmt.Errorf("pod sandbox %q: %w", id, runtime.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pod sandbox %q: %w", id, err)
	}
	var rec sandboxRecord
	if err := json.Unmarshal(data, &rec); err != nil || rec.Config == nil || rec.Config.Pod == nil {
		return nil, fmt.Errorf("pod sandbox %q: %w", id, errOldRecord)
	}
	if closed {
		return nil, fmt.Errorf("pod sandbox %q: runtime closed", id)
	}
	sb = &sandbox{id: id, dir: dir, cgroup: rec.Cgroup, loaded: true,
		cfg: runtime.SandboxConfig{Pod: rec.Config.Pod, Attempt: rec.Config.Attempt, LogDir: rec.Config.LogDir,
			ConfigMaps: rec.Config.ConfigMaps, Secrets: rec.Config.Secrets},
		ns: rec.Namespaces, hostname: rec.Hostname, hosts: rec.Hosts, resolvConf: rec.ResolvConf,
		hostnameFile: rec.HostnameFile, shm: rec.Shm, ip: rec.IP, createdAt: rec.CreatedAt,
		pausePID: rec.PausePID, pauseStart: rec.PauseStart}
	containers, err := r.loadContainers(ctx, sb)
	if err != nil {
		for _, c := range containers {
			c.detach()
		}
		return nil, fmt.Errorf("load pod sandbox %q: %w", id, err)
	}
	r.mu.Lock()
	r.sandboxes[id] = sb
	for _, c := range containers {
		r.seq++
		c.seq = r.seq
		r.containers[c.id] = c
		if c.shim != nil && c.status.State != runtime.StateExited {
			r.wg.Add(1)
			go r.watch(c)
		}
	}
	r.mu.Unlock()
	r.log.Debug("sandbox loaded", "pod", podName(sb.cfg.Pod), "sandbox", id, "containers", len(containers))
	return sb, nil
}

// containerFor returns container id, loading its sandbox from disk when
// this Runtime does not hold it; ErrNotFound when there is none.
func (r *Runtime) containerFor(ctx context.Context, op, id string) (*container, error) {
	r.mu.Lock()
	c, ok := r.containers[id]
	r.mu.Unlock()
	if ok {
		return c, nil
	}
	notFound := fmt.Errorf("%s container %q: %w", op, id, runtime.ErrNotFound)
	if filepath.Base(id) != id || id == "." || id == ".." {
		return nil, notFound
	}
	data, err := os.ReadFile(filepath.Join(r.opts.Root, "containers", id, containerRecordFile))
	if err != nil {
		return nil, notFound
	}
	var rec containerRecord
	if err := json.Unmarshal(data, &rec); err != nil || rec.Sandbox == "" {
		return nil, notFound
	}
	if _, err := r.sandboxFor(ctx, rec.Sandbox); err != nil {
		if errors.Is(err, runtime.ErrNotFound) || errors.Is(err, errOldRecord) {
			return nil, notFound
		}
		return nil, fmt.Errorf("%s container %q: %w", op, id, err)
	}
	r.mu.Lock()
	c, ok = r.containers[id]
	r.mu.Unlock()
	if !ok {
		return nil, notFound
	}
	return c, nil
}

// loadContainers reads the records of sb's containers, oldest first.
func (r *Runtime) loadContainers(ctx context.Context, sb *sandbox) ([]*container, error) {
	files, err := filepath.Glob(filepath.Join(r.opts.Root, "containers", "*", containerRecordFile))
	if err != nil {
		return nil, err
	}
	var out []*container
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // removed meanwhile
		}
		var rec containerRecord
		if err := json.Unmarshal(data, &rec); err != nil || rec.Sandbox != sb.id {
			continue
		}
		if rec.Name == "" {
			return out, fmt.Errorf("container %q: %w", rec.ID, errOldRecord)
		}
		c, err := r.loadContainer(ctx, sb, filepath.Dir(f), rec)
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].status.CreatedAt.Before(out[j].status.CreatedAt) })
	return out, nil
}

// loadContainer rebuilds one container from its records and its shim's.
func (r *Runtime) loadContainer(ctx context.Context, sb *sandbox, bundle string, rec containerRecord) (*container, error) {
	c := &container{
		id: rec.ID, sb: sb, bundle: bundle, cgroup: rec.Cgroup, termFile: rec.TermFile,
		root: rootfs{Path: filepath.Join(bundle, "rootfs"), Overlay: rec.Overlay},
		cfg: runtime.ContainerConfig{Name: rec.Name, Attempt: rec.Attempt, Pod: sb.cfg.Pod,
			Container: podContainer(sb.cfg.Pod, rec.Name), Image: rec.Image, LogPath: rec.LogPath},
		exited: make(chan struct{}), gone: make(chan struct{}),
		status: runtime.ContainerStatus{ID: rec.ID, SandboxID: sb.id, Name: rec.Name, Attempt: rec.Attempt,
			State: runtime.StateCreated, CreatedAt: rec.CreatedAt, Image: rec.Image, ImageID: rec.ImageID,
			LogPath: rec.LogPath},
		startAt: rec.StartedAt,
	}
	if rec.StartError != nil {
		c.startErr = &runtime.StartError{Reason: rec.StartError.Reason, Message: rec.StartError.Message}
	}
	st, err := shim.ReadState(bundle)
	if errors.Is(err, os.ErrNotExist) {
		if c.startErr != nil {
			r.finish(c, exitStatus{Code: 128, At: rec.CreatedAt}, "")
		}
		return c, nil // never created in the OCI runtime
	}
	if err != nil {
		return nil, fmt.Errorf("container %q: %w", rec.ID, err)
	}
	c.created = true
	c.status.PID = st.PID
	if c.startAt.IsZero() && c.startErr == nil {
		started, err := r.runc.State(ctx, c.id)
		if err != nil || started.Status != "created" {
			// Started, but the Runtime that started it died before
			// recording when: the shim's report is the best bound.
			if fi, err := os.Stat(filepath.Join(bundle, shim.StateFile)); err == nil {
				c.startAt = fi.ModTime()
			}
		}
	}
	shimProc := openRecorded(st.ShimPID, st.ShimStart)
	if shimProc != nil && !shimProc.hasExited() {
		c.shim = shimProc
		c.proc = openRecorded(st.PID, st.PIDStart)
		if !c.startAt.IsZero() {
			c.status.State, c.status.StartedAt = runtime.StateRunning, c.startAt
		}
		return c, nil
	}
	// The shim has exited (a zombie whose parent does not reap it counts):
	// its exit.json, if any, is the container's end; without it, a process
	// still running is killed (collectExit).
	if shimProc != nil {
		shimProc.reap()
		shimProc.close()
	}
	c.proc = openRecorded(st.PID, st.PIDStart)
	r.collectExit(c)
	return c, nil
}

// podContainer finds a container of the pod by name, nil if none.
func podContainer(pod *corev1.Pod, name string) *corev1.Container {
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// loadVolumes sets up again the volumes of a loaded sandbox before its
// first new container (volume.Setup is idempotent: emptyDir contents
// stay). Callers hold sb.opMu.
func (r *Runtime) loadVolumes(ctx context.Context, sb *sandbox) error {
	if !sb.loaded || sb.volumes != nil {
		return nil
	}
	vols, err := volume.Setup(ctx, sb.dir, sb.cfg.Pod, volume.Sources{
		ConfigMaps: sb.cfg.ConfigMaps, Secrets: sb.cfg.Secrets, Info: r.podInfo(sb),
	})
	if err != nil {
		return fmt.Errorf("volumes of pod sandbox %q: %w", sb.id, err)
	}
	sb.volumes = vols
	return nil
}
