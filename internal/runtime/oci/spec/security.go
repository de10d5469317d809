package spec

import (
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
)

// DefaultCapabilities is containerd's default capability set, in its order.
var DefaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// AllCapabilities is every capability Linux 5.9+ defines, by number.
var AllCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// MaskedPaths are the paths the kubelet asks the runtime to hide from an
// unprivileged container (pkg/securitycontext, kept in sync with moby).
var MaskedPaths = []string{
	"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
	"/proc/sched_debug", "/proc/scsi", "/sys/firmware",
	"/sys/devices/virtual/powercap",
}

// ReadonlyPaths are the paths the kubelet asks the runtime to make
// read-only in an unprivileged container.
var ReadonlyPaths = []string{
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
}

// capabilities applies securityContext.capabilities over containerd's
// default set as containerd does: "ALL" in add adds every capability and
// "ALL" in drop removes every one before the individual names are applied;
// names get the CAP_ prefix and upper case. privileged means all.
func capabilities(sc corev1.SecurityContext) []string {
	if sc.Privileged != nil && *sc.Privileged {
		return append([]string(nil), AllCapabilities...)
	}
	caps := append([]string(nil), DefaultCapabilities...)
	if sc.Capabilities == nil {
		return caps
	}
	isAll := func(c corev1.Capability) bool { return strings.EqualFold(string(c), "ALL") }
	for _, c := range sc.Capabilities.Add {
		if isAll(c) {
			caps = append(caps, AllCapabilities...)
		}
	}
	for _, c := range sc.Capabilities.Drop {
		if isAll(c) {
			caps = nil
		}
	}
	for _, c := range sc.Capabilities.Add {
		if !isAll(c) {
			caps = append(caps, capName(c))
		}
	}
	for _, c := range sc.Capabilities.Drop {
		if isAll(c) {
			continue
		}
		name := capName(c)
		kept := caps[:0]
		for _, have := range caps {
			if have != name {
				kept = append(kept, have)
			}
		}
		caps = kept
	}
	seen := map[string]bool{}
	out := []string{}
	for _, c := range caps {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

func capName(c corev1.Capability) string {
	s := strings.ToUpper(string(c))
	if !strings.HasPrefix(s, "CAP_") {
		s = "CAP_" + s
	}
	return s
}

func hasCap(caps []string, name string) bool {
	for _, c := range caps {
		if c == name {
			return true
		}
	}
	return false
}

// noNewPrivileges is the kubelet's AddNoNewPrivileges: set only when
// allowPrivilegeEscalation is false. With byDefault (podrun's
// hardened option) it is also set when the field is unset, unless the
// container is privileged or has CAP_SYS_ADMIN, the cases in which the
// API documents privilege escalation as always allowed.
func noNewPrivileges(sc corev1.SecurityContext, caps []string, byDefault bool) bool {
	if sc.Privileged != nil && *sc.Privileged {
		return false
	}
	if sc.AllowPrivilegeEscalation != nil {
		return !*sc.AllowPrivilegeEscalation
	}
	return byDefault && !hasCap(caps, "CAP_SYS_ADMIN")
}

func capSet(caps []string) *specs.LinuxCapabilities {
	set := func() []string { return append([]string{}, caps...) }
	return &specs.LinuxCapabilities{Bounding: set(), Effective: set(), Permitted: set()}
}
