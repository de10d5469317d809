package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/podrun/podrun/internal/mountinfo"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/internal/image"
	"github.com/podrun/podrun/internal/store"
)

// cgroupParent is the cgroup below which internal/runtime/oci puts each
// pod's cgroup (its default CgroupParent; the local back-end keeps it).
const cgroupParent = "/podrun"

func openImages(root string) (*image.Store, error) { return image.Open(root) }

// assertNothingLeft checks, after the test's back-end was closed, that
// the test left nothing on the machine: no runc container in the state
// directory's runc root, no mount under the state directory (container
// root filesystems, volumes, namespace files), no sandbox or bundle
// directory, no cgroup of its pods in any hierarchy and no process in
// those cgroups or running from the state directory. It reports whether
// everything was clean.
func (e *env) assertNothingLeft() bool {
	t := e.t
	t.Helper()
	clean := true
	fail := func(format string, args ...any) {
		t.Helper()
		clean = false
		t.Errorf("left behind: "+format, args...)
	}
	runtimeRoot := filepath.Join(e.root, "runtime")
	if ids, err := runcContainers(filepath.Join(runtimeRoot, "runtime")); err != nil {
		fail("runc list: %v", err)
	} else if len(ids) > 0 {
		fail("runc containers %v", ids)
	}
	if ms, err := mountsUnder(e.root); err != nil {
		fail("read mountinfo: %v", err)
	} else if len(ms) > 0 {
		fail("mounts under the state directory:\n  %s", strings.Join(ms, "\n  "))
	}
	for _, sub := range []string{"sandboxes", "containers"} {
		entries, err := os.ReadDir(filepath.Join(runtimeRoot, sub))
		if err != nil && !os.IsNotExist(err) {
			fail("%s: %v", sub, err)
		}
		for _, en := range entries {
			fail("%s/%s", sub, en.Name())
		}
	}
	// Sandboxes of every pod still in the store, next to those seen.
	if st, err := store.Open(e.root); err == nil {
		if pods, err := st.ListPods(context.Background(), ""); err == nil {
			for _, p := range pods {
				e.sandboxes.add(sandboxIDOf(string(p.UID)))
			}
		}
	}
	cgroups := podCgroups(e.sandboxes.ids())
	for _, dir := range cgroups.dirs {
		if _, err := os.Stat(dir); err == nil {
			fail("cgroup %s", dir)
		}
	}
	for _, p := range processesIn(cgroups.rel, e.root) {
		fail("process %s", p)
	}
	return clean
}

// runcContainers lists the containers of the runc state root dir.
func runcContainers(dir string) ([]string, error) {
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "runc", "--root", dir, "list", "-q").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, out)
	}
	return strings.Fields(string(out)), nil
}

// mounts returns the mount points and filesystem types of this
// process's mount namespace.
func mounts() ([][2]string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var out [][2]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		f, pf := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(pf) < 1 {
			continue
		}
		out = append(out, [2]string{mountinfo.Unescape(f[4]), pf[0]})
		if pf[0] == "cgroup" || pf[0] == "cgroup2" {
			out[len(out)-1][1] = pf[0] + " " + f[3]
		}
	}
	return out, sc.Err()
}

// mountsUnder lists the mount points at or below dir.
func mountsUnder(dir string) ([]string, error) {
	ms, err := mounts()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range ms {
		if m[0] == dir || strings.HasPrefix(m[0], dir+"/") {
			out = append(out, m[0]+" ("+m[1]+")")
		}
	}
	return out, nil
}

// cgroupSet names pod cgroups: rel as written in /proc/PID/cgroup, dirs
// in every mounted hierarchy.
type cgroupSet struct {
	rel  []string
	dirs []string
}

// podCgroups returns the cgroups of the sandboxes ids.
func podCgroups(ids []string) cgroupSet {
	var hierarchies []string
	if ms, err := mounts(); err == nil {
		for _, m := range ms {
			// only mounts of a hierarchy's root ("cgroup2 /")
			if strings.HasPrefix(m[1], "cgroup") && strings.HasSuffix(m[1], " /") {
				hierarchies = append(hierarchies, m[0])
			}
		}
	}
	var s cgroupSet
	for _, id := range ids {
		rel := cgroupParent + "/pod-" + id
		s.rel = append(s.rel, rel)
		for _, h := range hierarchies {
			s.dirs = append(s.dirs, filepath.Join(h, rel))
		}
	}
	return s
}

// processesIn lists the processes that belong to one of the cgroups rel
// (or below) or whose command line names the state directory root.
func processesIn(rel []string, root string) []string {
	entries, _ := os.ReadDir("/proc")
	me := os.Getpid()
	var out []string
	for _, en := range entries {
		pid, err := strconv.Atoi(en.Name())
		if err != nil || pid == me {
			continue
		}
		cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		hit := strings.Contains(string(cmd), root+"/") || strings.Contains(string(cmd), root+"\x00")
		for _, r := range rel {
			if strings.Contains(string(cg), ":"+r+"\n") || strings.Contains(string(cg), ":"+r+"/") {
				hit = true
			}
		}
		if hit {
			_, desc, _ := procParent(pid)
			if desc == "" {
				desc = strconv.Itoa(pid)
			}
			out = append(out, desc)
		}
	}
	return out
}

// forceCleanup removes what a podrun process killed with SIGKILL left in
// the state directory root: its runc containers (killed, then deleted),
// the mounts under root and the cgroups of the sandboxes seen. It is only
// for tests that had to kill podrun; the leftover checks run afterwards.
func forceCleanup(t *testing.T, root string, sandboxes []string) {
	t.Helper()
	runcRoot := filepath.Join(root, "runtime", "runtime")
	ids, err := runcContainers(runcRoot)
	if err != nil {
		t.Errorf("force cleanup: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, id := range ids {
		_ = exec.CommandContext(ctx, "runc", "--root", runcRoot, "kill", id, "KILL").Run()
	}
	for _, id := range ids {
		var out []byte
		for try := 0; try < 50; try++ {
			if out, err = exec.CommandContext(ctx, "runc", "--root", runcRoot, "delete", "-f", id).CombinedOutput(); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Errorf("force cleanup: runc delete %s: %v: %s", id, err, out)
		}
	}
	ms, _ := mountsUnder(root)
	for i := len(ms) - 1; i >= 0; i-- {
		target, _, _ := strings.Cut(ms[i], " (")
		if err := unix.Unmount(target, unix.MNT_DETACH); err != nil {
			t.Errorf("force cleanup: unmount %s: %v", target, err)
		}
	}
	cg := podCgroups(sandboxes)
	for i := len(cg.dirs) - 1; i >= 0; i-- {
		// container cgroups below the pod's first, then the pod's
		entries, _ := os.ReadDir(cg.dirs[i])
		for _, en := range entries {
			if en.IsDir() {
				_ = unix.Rmdir(filepath.Join(cg.dirs[i], en.Name()))
			}
		}
		if err := unix.Rmdir(cg.dirs[i]); err != nil && !errors.Is(err, unix.ENOENT) {
			t.Errorf("force cleanup: remove cgroup %s: %v", cg.dirs[i], err)
		}
	}
	for _, sub := range []string{"sandboxes", "containers"} {
		_ = os.RemoveAll(filepath.Join(root, "runtime", sub))
	}
	reapPodZombies(cg.rel)
}

// reapPodZombies reaps the zombie children of this process (a child
// subreaper: a killed podrun's container processes come here) that
// belonged to one of the pod cgroups rel. Other children, such as the
// processes exec.Cmd waits for, are never in a pod cgroup.
func reapPodZombies(rel []string) {
	me := os.Getpid()
	for _, desc := range processesIn(rel, "/nonexistent") {
		var pid int
		if _, err := fmt.Sscanf(desc, "pid %d", &pid); err != nil {
			continue
		}
		if ppid, d, ok := procParent(pid); ok && ppid == me && strings.Contains(d, "state Z") {
			var ws unix.WaitStatus
			_, _ = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		}
	}
}
