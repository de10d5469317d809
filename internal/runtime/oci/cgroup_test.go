package oci

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseCgroupMounts(t *testing.T) {
	// This host's layout: v1 hierarchies, a named systemd one, cgroup2 at
	// unified, and a bind mount of a hierarchy's subtree (skipped).
	mountinfo := `25 1 0:23 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
26 25 0:24 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
27 25 0:25 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
28 25 0:26 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,release_agent=/x,name=systemd
29 25 0:27 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
30 1 0:25 /sub /mnt/memory\040copy rw,relatime - cgroup cgroup rw,memory
31 1 0:25 / /mnt/memory\040again rw,relatime - cgroup cgroup rw,memory
`
	want := []cgroupMount{
		{Path: "/sys/fs/cgroup/cpu", Controllers: []string{"cpu"}},
		{Path: "/sys/fs/cgroup/memory", Controllers: []string{"memory"}},
		{Path: "/sys/fs/cgroup/systemd", Controllers: []string{"name=systemd"}},
		{Path: "/sys/fs/cgroup/unified", V2: true},
	}
	if diff := cmp.Diff(want, parseCgroupMounts([]byte(mountinfo))); diff != "" {
		t.Errorf("parseCgroupMounts (-want +got):\n%s", diff)
	}
}

func TestCounter(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       int
	}{
		{name: "v1 memory.oom_control", data: "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n", want: 2},
		{name: "v2 memory.events", data: "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\noom_group_kill 0\n", want: 1},
		{name: "no counter", data: "oom_kill_disable 0\n", want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := counter([]byte(tc.data), "oom_kill"); got != tc.want {
				t.Errorf("counter = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestTerminationReason(t *testing.T) {
	for _, tc := range []struct {
		code int
		oom  bool
		want string
	}{
		{0, false, "Completed"},
		{1, false, "Error"},
		{137, false, "Error"},
		{137, true, "OOMKilled"},
		{0, true, "Completed"},
	} {
		if got := terminationReason(tc.code, tc.oom); got != tc.want {
			t.Errorf("terminationReason(%d, %v) = %q, want %q", tc.code, tc.oom, got, tc.want)
		}
	}
}
