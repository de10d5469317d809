package spec

import (
	"path"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
)

// defaultMounts are containerd's default mounts for a CRI container
// (without /run); privileged ones get /sys and the cgroup tree writable.
// /dev/shm is the sandbox's when shm is set, else a private tmpfs.
func defaultMounts(privileged bool, shm string) []specs.Mount {
	sysOpt := "ro"
	if privileged {
		sysOpt = "rw"
	}
	ms := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", sysOpt}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", sysOpt}},
	}
	if shm != "" {
		ms = append(ms, bindMount(shm, "/dev/shm", false))
	} else {
		ms = append(ms, specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}})
	}
	return ms
}

// bindMount is a CRI bind mount as containerd writes it.
func bindMount(src, dst string, ro bool) specs.Mount {
	mode := "rw"
	if ro {
		mode = "ro"
	}
	return specs.Mount{Destination: dst, Type: "bind", Source: src, Options: []string{"rbind", "rprivate", mode}}
}

// mounts assembles the container's mounts: the defaults (a default whose
// destination a volume mount takes is dropped), /etc/hostname,
// /etc/resolv.conf (read-only with a read-only root) and /etc/hosts unless a
// volume is mounted there, the termination-message file, then the volume
// mounts ordered parents first.
func mounts(in *Input, privileged, roRoot bool) []specs.Mount {
	c := in.Container
	taken := map[string]bool{}
	for _, m := range in.Mounts {
		taken[path.Clean(m.Destination)] = true
	}
	var out []specs.Mount
	for _, m := range defaultMounts(privileged, in.ShmPath) {
		if !taken[m.Destination] {
			out = append(out, m)
		}
	}
	etc := []struct {
		src, dst string
		ro       bool
	}{
		{in.EtcHostname, "/etc/hostname", roRoot},
		{in.ResolvConf, "/etc/resolv.conf", roRoot},
		{in.EtcHosts, "/etc/hosts", false},
	}
	for _, e := range etc {
		if e.src != "" && !taken[e.dst] {
			out = append(out, bindMount(e.src, e.dst, e.ro))
		}
	}
	user := append([]specs.Mount(nil), in.Mounts...)
	if in.TerminationMessageFile != "" && c.TerminationMessagePath != "" && !taken[path.Clean(c.TerminationMessagePath)] {
		user = append(user, bindMount(in.TerminationMessageFile, c.TerminationMessagePath, false))
	}
	sort.SliceStable(user, func(i, j int) bool { return depth(user[i].Destination) < depth(user[j].Destination) })
	return append(out, user...)
}

func depth(p string) int {
	p = path.Clean(p)
	if p == "/" {
		return 0
	}
	return strings.Count(p, "/")
}

// PodHostname is the hostname the kubelet gives a pod's UTS namespace:
// spec.hostname, else the pod's name, cut to 63 characters without a
// trailing '-' or '.'.
func PodHostname(pod *corev1.Pod) string {
	h := pod.Spec.Hostname
	if h == "" {
		h = pod.Name
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}
