package oci

import "os"

// unifiedMount is where a hybrid cgroup v1 host mounts cgroup2.
const unifiedMount = "/sys/fs/cgroup/unified"

// hybridCgroups reports whether this host mounts cgroup v1 hierarchies and
// a cgroup2 hierarchy at /sys/fs/cgroup/unified.
func hybridCgroups() bool {
	var st, root os.FileInfo
	var err error
	if st, err = os.Stat(unifiedMount); err != nil || !st.IsDir() {
		return false
	}
	if root, err = os.Stat("/sys/fs/cgroup/memory"); err != nil || !root.IsDir() {
		return false
	}
	mounts, err := cgroupMounts()
	if err != nil {
		return false
	}
	for _, m := range mounts {
		if m.V2 && m.Path == unifiedMount {
			return true
		}
	}
	return false
}

// crunWrapper runs crun in a private mount namespace with the cgroup2
// mount hidden, so crun 1.8 sees a pure cgroup v1 layout. The container's
// own mount namespace is created from that private one, which is what
// crun then works with; nothing changes in the host's mount namespace.
func crunWrapper() []string {
	return []string{"unshare", "--mount", "--propagation", "private", "--",
		"sh", "-c", `umount -l ` + unifiedMount + ` && exec "$0" "$@"`}
}
