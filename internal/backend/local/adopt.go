package local

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/internal/podworker"
	"github.com/podrun/podrun/internal/runtime/oci/runc"
	"github.com/podrun/podrun/internal/store"
)

// EnsureSupervised starts a supervisor (through launch) for the pod
// ns/name if it needs one and has none: it is not terminal, and neither
// a supervisor nor a podrun run holds its lock — its supervisor died.
// Read-side commands (get, describe, logs, delete, apply) call it for
// every pod they touch. It reports whether it started one. A pod that
// does not exist is not an error.
func EnsureSupervised(ctx context.Context, st *store.Store, launch Starter, ns, name string) (bool, error) {
	pod, err := st.GetPod(ctx, ns, name)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if isTerminal(pod) {
		return false, nil
	}
	if _, alive, err := st.Supervisor(ns, name); err != nil || alive {
		return false, err
	}
	if launch == nil {
		return false, nil
	}
	if err := launch.Start(ctx, KindPod, ns, name); err != nil {
		return false, err
	}
	return true, nil
}

// lockJob takes the supervisor lock of the Job ns/name (a flock on a file
// of the supervise directory, released by the kernel when the process
// dies); store.ErrLocked if a live supervisor holds it.
func lockJob(root, ns, name string) (unlock func(), err error) {
	path := supervisePath(root, KindJob, ns, name, ".lock")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, store.ErrLocked
		}
		return nil, err
	}
	closed := false
	return func() {
		if !closed {
			closed = true
			f.Close()
		}
	}, nil
}

// jobSupervised reports whether a live supervisor holds the Job's lock.
func jobSupervised(root, ns, name string) (bool, error) {
	f, err := os.Open(supervisePath(root, KindJob, ns, name, ".lock"))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	switch err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); {
	case errors.Is(err, unix.EWOULDBLOCK):
		return true, nil
	case err != nil:
		return false, err
	}
	return false, nil
}

// orphaned reports whether a previous owner started the pod: its run
// record exists (the worker saves it at its first step).
func orphaned(ctx context.Context, st *store.Store, pod *corev1.Pod) bool {
	_, err := st.GetRecord(ctx, pod.Namespace, pod.Name)
	return err == nil
}

// Adoption today
//
// The OCI runtime (internal/runtime/oci) keeps its sandboxes and
// containers in memory, reads each container's output through pipes the
// dead supervisor held, and learns exits by wait4 as the containers'
// subreaper. A new supervisor therefore cannot re-attach to the running
// containers: it cannot list them through the runtime, their output has
// lost its reader (their next write gets SIGPIPE), and their exit status
// is gone with their parent. Until the runtime can recover its state
// (see the report of the background-pods work), adoptOrphans does what
// the kubelet does for containers it can no longer locate
// (SEMANTICS.md §9, T10): it stops what is left of them through the OCI
// runtime binary, releases their bundles and sandbox, and reports every
// container that was running as Terminated with reason
// ContainerStatusUnknown and exit code 137; the pod ends Failed. Logs
// written before the supervisor died are kept: each CRI log entry is one
// write.

// containerStatusUnknownMessage is the kubelet's message for a container
// it could not locate.
const containerStatusUnknownMessage = "The container could not be located when the pod was terminated"

// adoptOrphans ends a pod whose supervisor died (see "Adoption today").
func adoptOrphans(ctx context.Context, st *store.Store, spec *superviseSpec, pod *corev1.Pod, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	raw, err := st.GetRecord(ctx, pod.Namespace, pod.Name)
	if err != nil {
		return fmt.Errorf("adopt: %w", err)
	}
	rec := &podworker.Record{}
	if err := json.Unmarshal(raw, rec); err != nil {
		return fmt.Errorf("adopt: run record: %w", err)
	}
	rt := filepath.Join(st.Root(), "runtime")
	client := &runc.Client{Command: spec.Runtime, Root: filepath.Join(rt, "runtime")}
	sandboxes := map[string]bool{}
	cgroups := map[string]bool{}
	for _, c := range rec.Containers {
		for _, a := range c.Attempts {
			if a.ContainerID == "" {
				continue
			}
			bundle := filepath.Join(rt, "containers", a.ContainerID)
			if sb, cg := sandboxOf(bundle, rt); sb != "" {
				sandboxes[sb] = true
				if cg != "" {
					cgroups[cg] = true
				}
			}
			if err := client.Delete(ctx, a.ContainerID, runc.DeleteOpts{Force: true}); err != nil && !errors.Is(err, runc.ErrNotExist) {
				log.Warn("adopt: delete container", "id", a.ContainerID, "err", err)
			}
			if err := releaseDir(bundle); err != nil {
				log.Warn("adopt: release bundle", "id", a.ContainerID, "err", err)
			}
		}
	}
	for sb := range sandboxes {
		killHolders(sb)
		if err := releaseDir(sb); err != nil {
			log.Warn("adopt: release sandbox", "dir", sb, "err", err)
		}
	}
	for cg := range cgroups {
		removeCgroup(cg)
	}
	now := metav1.NewTime(time.Now())
	_, err = st.UpdatePod(ctx, pod.Namespace, pod.Name, func(p *corev1.Pod) error {
		lostStatus(&p.Status, now)
		return nil
	})
	if err != nil {
		return fmt.Errorf("adopt: %w", err)
	}
	return nil
}

// lostStatus turns every running container of status into a
// ContainerStatusUnknown termination and the pod into Failed.
func lostStatus(status *corev1.PodStatus, now metav1.Time) {
	for _, list := range [][]corev1.ContainerStatus{status.InitContainerStatuses, status.ContainerStatuses} {
		for i := range list {
			cs := &list[i]
			if cs.State.Running == nil {
				continue
			}
			cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 137, Reason: "ContainerStatusUnknown", Message: containerStatusUnknownMessage,
				StartedAt: cs.State.Running.StartedAt, FinishedAt: now, ContainerID: cs.ContainerID,
			}}
			cs.Ready = false
			f := false
			cs.Started = &f
		}
	}
	status.Phase = corev1.PodFailed
	for i := range status.Conditions {
		c := &status.Conditions[i]
		if (c.Type == corev1.PodReady || c.Type == corev1.ContainersReady) && c.Status != corev1.ConditionFalse {
			c.Status, c.Reason, c.LastTransitionTime = corev1.ConditionFalse, "PodCompleted", now
		}
	}
}

// sandboxOf reads a bundle's config.json and returns the sandbox
// directory its namespaces live in (below rt/sandboxes) and the pod's
// cgroup (the parent of the container's cgroupsPath).
func sandboxOf(bundle, rt string) (sandbox, cgroup string) {
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return "", ""
	}
	var s specs.Spec
	if json.Unmarshal(data, &s) != nil || s.Linux == nil {
		return "", ""
	}
	prefix := filepath.Join(rt, "sandboxes") + "/"
	for _, ns := range s.Linux.Namespaces {
		if rest, ok := strings.CutPrefix(ns.Path, prefix); ok {
			sandbox = prefix + strings.SplitN(rest, "/", 2)[0]
			break
		}
	}
	if p := s.Linux.CgroupsPath; strings.HasPrefix(p, "/") {
		cgroup = filepath.Dir(p)
	}
	return sandbox, cgroup
}

// killHolders SIGKILLs the processes whose working directory is below dir
// (a sandbox's PID-namespace holder), best effort.
func killHolders(dir string) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil || pid <= 1 || pid == os.Getpid() {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err == nil && (cwd == dir || strings.HasPrefix(cwd, dir+"/")) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// releaseDir unmounts everything mounted at or below dir (deepest first,
// lazily) and removes it.
func releaseDir(dir string) error {
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	mounts, err := mountsBelow(dir)
	if err != nil {
		return err
	}
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
	for _, m := range mounts {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("unmount %s: %w", m, err)
		}
	}
	if left, err := mountsBelow(dir); err != nil || len(left) > 0 {
		return fmt.Errorf("release %s: still mounted: %v %w", dir, left, err)
	}
	return os.RemoveAll(dir)
}

// mountsBelow lists the mount points at or below dir.
func mountsBelow(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	return out, sc.Err()
}

// removeCgroup removes the cgroup path (and its empty children) in every
// hierarchy mounted under /sys/fs/cgroup, best effort.
func removeCgroup(path string) {
	roots := []string{"/sys/fs/cgroup"}
	if entries, err := os.ReadDir("/sys/fs/cgroup"); err == nil {
		for _, e := range entries {
			if e.IsDir() {
				roots = append(roots, filepath.Join("/sys/fs/cgroup", e.Name()))
			}
		}
	}
	for _, r := range roots {
		dir := filepath.Join(r, path)
		subs, _ := os.ReadDir(dir)
		for _, s := range subs {
			if s.IsDir() {
				_ = os.Remove(filepath.Join(dir, s.Name()))
			}
		}
		_ = os.Remove(dir)
	}
}
