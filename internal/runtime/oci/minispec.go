package oci

import (
	"fmt"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
)

// TODO(issue 3): replace with spec.Generate once internal/runtime/oci/spec
// lands; this is the minimal translation the runtime needs meanwhile.

// defaultCaps is containerd's default capability set.
var defaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// minimalSpec translates a container into an OCI config without volumes,
// env references or security options beyond containerd's defaults.
func minimalSpec(c *corev1.Container, img *v1.ConfigFile) (*specs.Spec, error) {
	var ic v1.Config
	if img != nil {
		ic = img.Config
	}
	args := append([]string{}, c.Command...)
	if len(c.Command) == 0 {
		args = append(args, ic.Entrypoint...)
		if len(c.Args) == 0 {
			args = append(args, ic.Cmd...)
		}
	}
	args = append(args, c.Args...)
	if len(args) == 0 {
		return nil, fmt.Errorf("container %q: no command and the image has none", c.Name)
	}
	env := append([]string{}, ic.Env...)
	if len(env) == 0 {
		env = append(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	for _, e := range c.Env {
		env = append(env, e.Name+"="+e.Value)
	}
	cwd := c.WorkingDir
	if cwd == "" {
		cwd = ic.WorkingDir
	}
	if cwd == "" {
		cwd = "/"
	}
	var uid, gid uint32
	if u, g, ok := strings.Cut(ic.User, ":"); ic.User != "" {
		n, _ := strconv.ParseUint(u, 10, 32)
		uid = uint32(n)
		if ok {
			n, _ = strconv.ParseUint(g, 10, 32)
			gid = uint32(n)
		}
	}
	sc := c.SecurityContext
	if sc != nil && sc.RunAsUser != nil {
		uid = uint32(*sc.RunAsUser)
	}
	if sc != nil && sc.RunAsGroup != nil {
		gid = uint32(*sc.RunAsGroup)
	}
	caps := append([]string{}, defaultCaps...)
	s := &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			Args: args, Env: env, Cwd: cwd,
			User: specs.User{UID: uid, GID: gid},
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps, Effective: caps, Permitted: caps,
			},
			NoNewPrivileges: sc != nil && sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation,
		},
		Root: &specs.Root{Path: "rootfs", Readonly: sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}},
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
			MaskedPaths: []string{
				"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
				"/sys/devices/virtual/powercap", "/proc/scsi",
			},
			ReadonlyPaths: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
	if lim, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		v := lim.Value()
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &v}
	}
	return s, nil
}
