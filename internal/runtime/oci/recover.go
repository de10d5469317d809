package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/internal/runtime/oci/runc"
	"github.com/podrun/podrun/internal/runtime/oci/volume"
)

// The records below let RemovePodSandbox remove a sandbox that another,
// dead process created: they say, on disk, what the in-memory state said.

// sandboxRecord is sandbox.json in a sandbox directory.
type sandboxRecord struct {
	ID     string `json:"id"`
	Cgroup string `json:"cgroup"`
	// PausePID and PauseStart identify the PID-namespace holder (start
	// time in clock ticks since boot, guarding against PID reuse).
	PausePID   int    `json:"pausePid,omitempty"`
	PauseStart string `json:"pauseStart,omitempty"`
}

// containerRecord is container.json in a bundle.
type containerRecord struct {
	ID      string `json:"id"`
	Sandbox string `json:"sandbox"`
	Cgroup  string `json:"cgroup"`
	Overlay bool   `json:"overlay"`
}

const (
	sandboxRecordFile   = "sandbox.json"
	containerRecordFile = "container.json"
)

// writeRecord writes v as JSON to dir/name.
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

// recordSandbox persists what removing sb needs.
func recordSandbox(sb *sandbox) error {
	rec := sandboxRecord{ID: sb.id, Cgroup: sb.cgroup}
	if sb.pause != nil {
		rec.PausePID = sb.pause.Process.Pid
		rec.PauseStart = processStart(rec.PausePID)
	}
	return writeRecord(sb.dir, sandboxRecordFile, rec)
}

// recordContainer persists what removing c needs.
func recordContainer(c *container) error {
	return writeRecord(c.bundle, containerRecordFile,
		containerRecord{ID: c.id, Sandbox: c.sb.id, Cgroup: c.cgroup, Overlay: c.root.Overlay})
}

// processStart returns field 22 of /proc/PID/stat (start time), or "".
func processStart(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(data)
	// The command name (field 2) may contain spaces; fields restart
	// after its closing parenthesis.
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		fields := strings.Fields(s[i+1:])
		if len(fields) > 19 {
			return fields[19]
		}
	}
	return ""
}

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
