package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/runtime/oci/runc"
	"github.com/podrun/podrun/internal/runtime/oci/shim"
	"github.com/podrun/podrun/internal/runtime/oci/volume"
)

// The records below say on disk what the in-memory state says, so that a
// Runtime on the same Root can take over a sandbox whose creator died
// (re-attach, reattach.go) or, for a record written by an older build,
// at least remove it (removeOrphanSandbox).

// sandboxRecord is sandbox.json in a sandbox directory (mode 0600: it
// holds the pod's Secrets).
type sandboxRecord struct {
	ID     string `json:"id"`
	Cgroup string `json:"cgroup"`
	// PausePID and PauseStart identify the PID-namespace holder (start
	// time in clock ticks since boot, guarding against PID reuse).
	PausePID   int    `json:"pausePid,omitempty"`
	PauseStart string `json:"pauseStart,omitempty"`

	// The fields below, absent from older records, let a Runtime load
	// the sandbox (Config.Pod set) rather than only remove it.
	Config       *sandboxConfigRecord `json:"config,omitempty"`
	Namespaces   nsFiles              `json:"namespaces"`
	Hostname     string               `json:"hostname,omitempty"`
	Hosts        string               `json:"hosts,omitempty"`
	ResolvConf   string               `json:"resolvConf,omitempty"`
	HostnameFile string               `json:"hostnameFile,omitempty"`
	Shm          string               `json:"shm,omitempty"`
	IP           string               `json:"ip,omitempty"`
	CreatedAt    time.Time            `json:"createdAt"`
}

// sandboxConfigRecord is runtime.SandboxConfig on disk.
type sandboxConfigRecord struct {
	Pod        *corev1.Pod                  `json:"pod"`
	Attempt    int                          `json:"attempt"`
	LogDir     string                       `json:"logDir,omitempty"`
	ConfigMaps map[string]*corev1.ConfigMap `json:"configMaps,omitempty"`
	Secrets    map[string]*corev1.Secret    `json:"secrets,omitempty"`
}

// containerRecord is container.json in a bundle.
type containerRecord struct {
	ID      string `json:"id"`
	Sandbox string `json:"sandbox"`
	Cgroup  string `json:"cgroup"`
	Overlay bool   `json:"overlay"`

	// The fields below, absent from older records, let a Runtime load
	// the container (Name set).
	Name           string    `json:"name,omitempty"`
	Attempt        int       `json:"attempt,omitempty"`
	Image          string    `json:"image,omitempty"`
	ImageID        string    `json:"imageID,omitempty"`
	LogPath        string    `json:"logPath,omitempty"`
	TermFile       string    `json:"terminationMessageFile,omitempty"`
	FallbackToLogs bool      `json:"fallbackToLogs,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
	// StartedAt is set once the OCI runtime's start succeeded.
	StartedAt time.Time `json:"startedAt"`
	// StartError is the start failure that ended the container.
	StartError *startErrorRecord `json:"startError,omitempty"`
}

// startErrorRecord is a runtime.StartError on disk, without its cause.
type startErrorRecord struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

const (
	sandboxRecordFile   = "sandbox.json"
	containerRecordFile = "container.json"
)

// writeRecord writes v as JSON to dir/name, atomically (mode 0600).
func writeRecord(dir, name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// recordSandbox persists what loading or removing sb needs.
func recordSandbox(sb *sandbox) error {
	rec := sandboxRecord{ID: sb.id, Cgroup: sb.cgroup, PausePID: sb.pausePID, PauseStart: sb.pauseStart,
		Config: &sandboxConfigRecord{Pod: sb.cfg.Pod, Attempt: sb.cfg.Attempt, LogDir: sb.cfg.LogDir,
			ConfigMaps: sb.cfg.ConfigMaps, Secrets: sb.cfg.Secrets},
		Namespaces: sb.ns, Hostname: sb.hostname, Hosts: sb.hosts, ResolvConf: sb.resolvConf,
		HostnameFile: sb.hostnameFile, Shm: sb.shm, IP: sb.ip, CreatedAt: sb.createdAt}
	return writeRecord(sb.dir, sandboxRecordFile, rec)
}

// recordContainer persists what loading or removing c needs.
func (r *Runtime) recordContainer(c *container) error {
	r.mu.Lock()
	rec := containerRecord{ID: c.id, Sandbox: c.sb.id, Cgroup: c.cgroup, Overlay: c.root.Overlay,
		Name: c.cfg.Name, Attempt: c.cfg.Attempt, Image: c.status.Image, ImageID: c.status.ImageID,
		LogPath: c.cfg.LogPath, TermFile: c.termFile, CreatedAt: c.status.CreatedAt,
		StartedAt: c.status.StartedAt}
	if c.startErr != nil {
		rec.StartError = &startErrorRecord{Reason: c.startErr.Reason, Message: c.startErr.Message}
	}
	r.mu.Unlock()
	if c.cfg.Container != nil {
		rec.FallbackToLogs = fallbackToLogs(c.cfg.Container)
	}
	return writeRecord(c.bundle, containerRecordFile, rec)
}

// processStart returns a process's start time, or "" (shim.ProcessStart).
func processStart(pid int) string { return shim.ProcessStart(pid) }

// removeOrphanSandbox removes a sandbox this Runtime does not hold in
// memory but finds on disk (its creator died): its containers through the
// OCI runtime, their rootfs mounts, bundles and cgroups, its PID holder,
// volumes, /dev/shm, namespaces, cgroups and directory.
func (r *Runtime) removeOrphanSandbox(ctx context.Context, id string) error {
	dir := filepath.Join(r.opts.Root, "sandboxes", id)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	var rec sandboxRecord
	if data, err := os.ReadFile(filepath.Join(dir, sandboxRecordFile)); err == nil {
		_ = json.Unmarshal(data, &rec)
	}
	var errs []error
	bundles, _ := filepath.Glob(filepath.Join(r.opts.Root, "containers", "*", containerRecordFile))
	for _, f := range bundles {
		var c containerRecord
		data, err := os.ReadFile(f)
		if err != nil || json.Unmarshal(data, &c) != nil || c.Sandbox != id {
			continue
		}
		errs = append(errs, r.removeOrphanContainer(ctx, filepath.Dir(f), c))
	}
	if rec.PausePID > 0 && rec.PauseStart != "" {
		killAndWait(rec.PausePID, rec.PauseStart)
	}
	errs = append(errs, volume.Teardown(ctx, dir))
	if shm := filepath.Join(dir, "shm"); isMountPoint(shm) {
		errs = append(errs, syscall.Unmount(shm, syscall.MNT_DETACH))
	}
	errs = append(errs, removeNamespaces(nsFiles{
		Net: filepath.Join(dir, "net"), UTS: filepath.Join(dir, "uts"), IPC: filepath.Join(dir, "ipc")}))
	cgroup := rec.Cgroup
	if cgroup == "" {
		cgroup = r.opts.CgroupParent + "/pod-" + id
	}
	errs = append(errs, removeCgroupTree(r.cgroups, cgroup))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove pod sandbox %q left by another process: %w", id, err)
	}
	if err := removeStateDir(dir); err != nil {
		return fmt.Errorf("remove pod sandbox %q left by another process: %w", id, err)
	}
	r.log.Debug("removed sandbox left by another process", "sandbox", id)
	return nil
}

// removeOrphanContainer removes one container of an orphaned sandbox.
func (r *Runtime) removeOrphanContainer(ctx context.Context, bundle string, c containerRecord) error {
	// Learn the container's process before deleting it, so that its
	// death can be awaited: runc delete only sends SIGKILL.
	var proc *os.File
	if st, err := r.runc.State(ctx, c.ID); err == nil && st.Pid > 0 {
		if fd, err := unix.PidfdOpen(st.Pid, 0); err == nil {
			proc = os.NewFile(uintptr(fd), "pidfd")
		}
	}
	err := r.runc.Delete(ctx, c.ID, runc.DeleteOpts{Force: true})
	if proc != nil {
		waitPidfd(proc)
		proc.Close()
	}
	if err != nil && !errors.Is(err, runc.ErrNotExist) {
		return err
	}
	if rootfs := filepath.Join(bundle, "rootfs"); isMountPoint(rootfs) {
		if err := releaseRootfs(rootfs); err != nil {
			return err
		}
	}
	if err := removeStateDir(bundle); err != nil {
		return err
	}
	return removeCgroupTree(r.cgroups, c.Cgroup)
}

// orphanKillTimeout bounds the wait for a killed process of a dead
// sandbox to disappear.
const orphanKillTimeout = 5 * time.Second

// killAndWait sends SIGKILL to pid if it is still the process that started
// at start, and waits (bounded) until it has exited.
func killAndWait(pid int, start string) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	// Checked after opening the pidfd: the pidfd now pins this process.
	if processStart(pid) != start {
		return
	}
	if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil {
		return
	}
	waitPidfd(f)
}

// waitPidfd waits until the process of a pidfd has exited (the pidfd turns
// readable), at most orphanKillTimeout.
func waitPidfd(f *os.File) {
	fds := []unix.PollFd{{Fd: int32(f.Fd()), Events: unix.POLLIN}}
	deadline := time.Now().Add(orphanKillTimeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		n, err := unix.Poll(fds, int(left.Milliseconds())+1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n > 0 {
			return
		}
	}
}

// isMountPoint reports whether path is a mount point in this namespace.
func isMountPoint(path string) bool {
	mounts, err := mountsUnder(path)
	if err != nil {
		return false
	}
	for _, m := range mounts {
		if m == path {
			return true
		}
	}
	return false
}
