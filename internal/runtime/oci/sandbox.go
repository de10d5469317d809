package oci

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podrun/podrun/internal/runtime"
	"github.com/podrun/podrun/internal/runtime/oci/spec"
	"github.com/podrun/podrun/internal/runtime/oci/volume"
)

// sandbox is a pod's shared environment.
type sandbox struct {
	id     string
	cfg    runtime.SandboxConfig
	dir    string
	ns     nsFiles
	cgroup string
	// hostname is the pod's hostname ("" with hostNetwork).
	hostname string
	// hosts, resolvConf and hostnameFile are bind-mounted into every
	// container.
	hosts, resolvConf, hostnameFile string
	// shm is the pod's /dev/shm (a tmpfs, or the host's with hostIPC).
	shm string
	// ip is the address the sandbox reports.
	ip string
	// volumes are the pod's materialised volumes.
	volumes *volume.Set
	// pausePID and pauseStart name the process holding the shared PID
	// namespace (shareProcessNamespace); pause is that process when this
	// Runtime started it.
	pause      *exec.Cmd
	pausePID   int
	pauseStart string
	createdAt  time.Time
	// loaded is set on a sandbox read from its record (another process
	// created it); its volumes are set up again on first use.
	loaded bool

	// opMu serialises container creation with the sandbox's removal.
	opMu    sync.Mutex
	removed bool
}

// sandboxID names a sandbox after its pod and attempt, so a second
// RunPodSandbox for them is ErrAlreadyExists.
// SandboxID is the ID of a pod's sandbox number attempt: derived from
// the pod's UID, so that a later process can find the sandboxes a dead
// one left without any other record.
func SandboxID(pod *corev1.Pod, attempt int) string { return sandboxID(pod, attempt) }

func sandboxID(pod *corev1.Pod, attempt int) string {
	key := string(pod.UID)
	if key == "" {
		key = pod.Namespace + "/" + pod.Name
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s#%d", key, attempt)))
	return hex.EncodeToString(sum[:])[:24]
}

// podIP is the address a sandbox reports: its network namespace has only
// loopback, and a host-network pod shares the host's.
const podIP = "127.0.0.1"

// RunPodSandbox creates the pod's namespaces (network with loopback up,
// UTS with the pod's hostname, IPC; the host's for hostNetwork/hostIPC),
// a PID namespace holder for shareProcessNamespace, /etc/hosts,
// /etc/resolv.conf and /etc/hostname for its containers, and reserves the
// pod's cgroup.
func (r *Runtime) RunPodSandbox(ctx context.Context, cfg runtime.SandboxConfig) (string, error) {
	if cfg.Pod == nil {
		return "", errors.New("run pod sandbox: no pod")
	}
	id := sandboxID(cfg.Pod, cfg.Attempt)
	sb := &sandbox{id: id, cfg: cfg, dir: filepath.Join(r.opts.Root, "sandboxes", id),
		cgroup: r.opts.CgroupParent + "/pod-" + id}
	sb.opMu.Lock()
	defer sb.opMu.Unlock()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return "", fmt.Errorf("run pod sandbox for %s: runtime closed", podName(cfg.Pod))
	}
	if _, ok := r.sandboxes[id]; ok {
		r.mu.Unlock()
		return "", fmt.Errorf("run pod sandbox %q for %s: %w", id, podName(cfg.Pod), runtime.ErrAlreadyExists)
	}
	// Also one another process created under the same Root (loaded by
	// PodSandboxStatus or ListPodSandbox).
	if _, err := os.Stat(sb.dir); err == nil {
		r.mu.Unlock()
		return "", fmt.Errorf("run pod sandbox %q for %s: on disk: %w", id, podName(cfg.Pod), runtime.ErrAlreadyExists)
	}
	r.sandboxes[id] = sb
	r.mu.Unlock()

	if err := r.setupSandbox(ctx, sb); err != nil {
		err = errors.Join(fmt.Errorf("run pod sandbox for %s: %w", podName(cfg.Pod), err), r.teardownSandbox(sb))
		r.mu.Lock()
		delete(r.sandboxes, id)
		r.mu.Unlock()
		return "", err
	}
	r.log.Debug("sandbox created", "pod", podName(cfg.Pod), "sandbox", id)
	return id, nil
}

func podName(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }

// setupSandbox creates everything a sandbox holds.
func (r *Runtime) setupSandbox(ctx context.Context, sb *sandbox) error {
	pod := sb.cfg.Pod
	if err := os.MkdirAll(sb.dir, 0o711); err != nil {
		return err
	}
	hostNet := pod.Spec.HostNetwork
	sb.ip = podIP
	if !hostNet {
		sb.hostname = spec.PodHostname(pod)
	} else if r.opts.NodeIP != "" {
		sb.ip = r.opts.NodeIP
	}
	ns, err := createNamespaces(sb.dir, nsRequest{Net: !hostNet, UTS: !hostNet, IPC: !pod.Spec.HostIPC, Hostname: sb.hostname})
	if err != nil {
		return err
	}
	sb.ns = ns
	if err := r.writeEtcFiles(sb); err != nil {
		return err
	}
	if err := setupShm(sb); err != nil {
		return err
	}
	vols, err := volume.Setup(ctx, sb.dir, pod, volume.Sources{
		ConfigMaps: sb.cfg.ConfigMaps, Secrets: sb.cfg.Secrets, Info: r.podInfo(sb),
	})
	if err != nil {
		return err
	}
	sb.volumes = vols
	if sb.cfg.LogDir != "" {
		if err := os.MkdirAll(sb.cfg.LogDir, 0o755); err != nil {
			return fmt.Errorf("log directory: %w", err)
		}
	}
	if pod.Spec.ShareProcessNamespace != nil && *pod.Spec.ShareProcessNamespace && !pod.Spec.HostPID {
		if err := r.startPause(sb); err != nil {
			return err
		}
	}
	sb.createdAt = r.now()
	return recordSandbox(sb)
}

// startPause starts the process that is PID 1 of the pod's shared PID
// namespace: the host's sleep, in a new PID namespace, killed at teardown.
func (r *Runtime) startPause(sb *sandbox) error {
	cmd := exec.Command("sleep", "infinity")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID, Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start PID namespace holder: %w", err)
	}
	// Only Wait may reap it: its PID names the namespace containers join.
	r.reaper.watch(cmd.Process.Pid)
	sb.pause = cmd
	sb.pausePID, sb.pauseStart = cmd.Process.Pid, processStart(cmd.Process.Pid)
	return nil
}

// pidNamespace returns the shared PID namespace's path, or "".
func (sb *sandbox) pidNamespace() string {
	if sb.pausePID == 0 {
		return ""
	}
	return fmt.Sprintf("/proc/%d/ns/pid", sb.pausePID)
}

// shmSize is the size of a pod's /dev/shm, containerd's default.
const shmSize = "size=65536k"

// setupShm mounts the pod's /dev/shm tmpfs, shared by its containers as
// their IPC namespace is; a hostIPC pod uses the host's.
func setupShm(sb *sandbox) error {
	if sb.cfg.Pod.Spec.HostIPC {
		sb.shm = "/dev/shm"
		return nil
	}
	dir := filepath.Join(sb.dir, "shm")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("pod /dev/shm: %w", err)
	}
	if err := unix.Mount("shm", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,"+shmSize); err != nil {
		return fmt.Errorf("mount pod /dev/shm: %w", err)
	}
	sb.shm = dir
	return nil
}

// podDomain is the pod's DNS domain when it has a subdomain.
func podDomain(pod *corev1.Pod) string {
	if pod.Spec.Subdomain == "" {
		return ""
	}
	ns := pod.Namespace
	if ns == "" {
		ns = "default"
	}
	return fmt.Sprintf("%s.%s.svc.cluster.local", pod.Spec.Subdomain, ns)
}

// writeEtcFiles writes the sandbox's hosts, resolv.conf and hostname.
func (r *Runtime) writeEtcFiles(sb *sandbox) error {
	pod := sb.cfg.Pod
	sb.hosts = filepath.Join(sb.dir, "hosts")
	sb.resolvConf = filepath.Join(sb.dir, "resolv.conf")
	sb.hostnameFile = filepath.Join(sb.dir, "hostname")
	var hosts []byte
	if pod.Spec.HostNetwork {
		host, err := os.ReadFile("/etc/hosts")
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("read host /etc/hosts: %w", err)
		}
		hosts = hostNetworkHosts(host, pod.Spec.HostAliases)
	} else {
		hosts = managedHosts(sb.ip, sb.hostname, podDomain(pod), pod.Spec.HostAliases)
	}
	resolv, err := os.ReadFile("/etc/resolv.conf")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read host /etc/resolv.conf: %w", err)
	}
	hostname := sb.hostname
	if hostname == "" {
		hostname, _ = os.Hostname()
	}
	for _, f := range []struct {
		path string
		data []byte
	}{{sb.hosts, hosts}, {sb.resolvConf, resolv}, {sb.hostnameFile, []byte(hostname + "\n")}} {
		if err := os.WriteFile(f.path, f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// managedHosts renders the kubelet's hosts file for a pod with its own
// network namespace.
func managedHosts(ip, hostname, domain string, aliases []corev1.HostAlias) []byte {
	var b bytes.Buffer
	b.WriteString("# Kubernetes-managed hosts file.\n")
	b.WriteString("127.0.0.1\tlocalhost\n")
	b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\n")
	b.WriteString("fe00::0\tip6-mcastprefix\n")
	b.WriteString("fe00::1\tip6-allnodes\n")
	b.WriteString("fe00::2\tip6-allrouters\n")
	if domain != "" {
		fmt.Fprintf(&b, "%s\t%s.%s\t%s\n", ip, hostname, domain, hostname)
	} else {
		fmt.Fprintf(&b, "%s\t%s\n", ip, hostname)
	}
	writeHostAliases(&b, aliases)
	return b.Bytes()
}

// hostNetworkHosts renders the kubelet's hosts file for a host-network pod.
func hostNetworkHosts(host []byte, aliases []corev1.HostAlias) []byte {
	var b bytes.Buffer
	b.WriteString("# Kubernetes-managed hosts file (host network).\n")
	b.Write(host)
	if len(host) > 0 && host[len(host)-1] != '\n' {
		b.WriteByte('\n')
	}
	writeHostAliases(&b, aliases)
	return b.Bytes()
}

func writeHostAliases(b *bytes.Buffer, aliases []corev1.HostAlias) {
	if len(aliases) == 0 {
		return
	}
	b.WriteString("\n# Entries added by HostAliases.\n")
	for _, a := range aliases {
		fmt.Fprintf(b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
	}
}

// RemovePodSandbox removes every container of the sandbox and then the
// sandbox: namespaces, PID namespace holder, the pod's cgroups in every
// hierarchy, and its state directory. A sandbox another process created
// under the same Root (and that died) is removed from what it left on
// disk. Removing an unknown sandbox succeeds.
func (r *Runtime) RemovePodSandbox(ctx context.Context, sandboxID string) error {
	sb, err := r.sandboxFor(ctx, sandboxID)
	switch {
	case errors.Is(err, errOldRecord):
		return r.removeOrphanSandbox(ctx, sandboxID)
	case errors.Is(err, runtime.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("remove pod sandbox: %w", err)
	}
	sb.opMu.Lock()
	defer sb.opMu.Unlock()
	if sb.removed {
		return nil
	}
	var errs []error
	for _, c := range r.sandboxContainers(sandboxID) {
		if err := r.removeContainer(ctx, c); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		errs = append(errs, r.teardownSandbox(sb))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove pod sandbox %q: %w", sandboxID, err)
	}
	sb.removed = true
	r.mu.Lock()
	delete(r.sandboxes, sandboxID)
	r.mu.Unlock()
	r.log.Debug("sandbox removed", "sandbox", sandboxID)
	return nil
}

// teardownSandbox releases what setupSandbox made; safe on a partial setup.
func (r *Runtime) teardownSandbox(sb *sandbox) error {
	var errs []error
	switch {
	case sb.pause != nil:
		_ = sb.pause.Process.Kill()
		_ = sb.pause.Wait()
		r.reaper.unwatch(sb.pause.Process.Pid)
		sb.pause = nil
	case sb.pausePID > 0:
		killAndWait(sb.pausePID, sb.pauseStart)
	}
	sb.pausePID = 0
	errs = append(errs, volume.Teardown(context.Background(), sb.dir))
	if sb.shm != "" && sb.shm != "/dev/shm" {
		if err := unix.Unmount(sb.shm, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount pod /dev/shm: %w", err))
		}
	}
	errs = append(errs, removeNamespaces(sb.ns))
	errs = append(errs, removeCgroupTree(r.cgroups, sb.cgroup))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := removeStateDir(sb.dir); err != nil {
		return err
	}
	return nil
}

// PodSandboxStatus reports a sandbox; ErrNotFound if it does not exist.
func (r *Runtime) PodSandboxStatus(ctx context.Context, sandboxID string) (runtime.SandboxStatus, error) {
	sb, err := r.sandboxFor(ctx, sandboxID)
	if errors.Is(err, errOldRecord) {
		err = fmt.Errorf("pod sandbox %q: %w", sandboxID, runtime.ErrNotFound)
	}
	if err != nil {
		return runtime.SandboxStatus{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if sb.createdAt.IsZero() {
		return runtime.SandboxStatus{}, fmt.Errorf("pod sandbox %q: %w", sandboxID, runtime.ErrNotFound)
	}
	return runtime.SandboxStatus{ID: sb.id, Attempt: sb.cfg.Attempt, Ready: true, IP: sb.ip, CreatedAt: sb.createdAt}, nil
}

// maxSandboxAttempts bounds the sandbox numbers ListPodSandbox looks for.
const maxSandboxAttempts = 8

// ListPodSandbox reports the sandboxes of the pod with UID podUID, oldest
// first: those this Runtime holds and those another process created under
// the same Root, which it loads (re-attach).
func (r *Runtime) ListPodSandbox(ctx context.Context, podUID string) ([]runtime.SandboxStatus, error) {
	pod := &corev1.Pod{}
	pod.UID = types.UID(podUID)
	var out []runtime.SandboxStatus
	for attempt := 0; attempt < maxSandboxAttempts; attempt++ {
		st, err := r.PodSandboxStatus(ctx, sandboxID(pod, attempt))
		if err == nil {
			out = append(out, st)
		}
	}
	return out, nil
}
