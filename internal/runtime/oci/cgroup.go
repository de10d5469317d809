package oci

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/podrun/podrun/internal/mountinfo"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// cgroupMount is one mounted cgroup hierarchy.
type cgroupMount struct {
	// Path is the mount point.
	Path string
	// V2 is true for the unified (cgroup2) hierarchy.
	V2 bool
	// Controllers lists a v1 hierarchy's controllers (and name=...).
	Controllers []string
}

// cgroupMounts lists the cgroup hierarchies mounted in this mount
// namespace, one entry per hierarchy.
func cgroupMounts() ([]cgroupMount, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return parseCgroupMounts(data), nil
}

// parseCgroupMounts extracts cgroup hierarchies from mountinfo, keeping
// the first mount of each (a hierarchy may be bind-mounted elsewhere).
func parseCgroupMounts(data []byte) []cgroupMount {
	var out []cgroupMount
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields, postFields := strings.Fields(pre), strings.Fields(post)
		if len(fields) < 5 || len(postFields) < 3 {
			continue
		}
		fstype, superOpts := postFields[0], postFields[2]
		if fstype != "cgroup" && fstype != "cgroup2" {
			continue
		}
		// Only mounts of a hierarchy's root are usable for absolute paths.
		if fields[3] != "/" {
			continue
		}
		m := cgroupMount{Path: mountinfo.Unescape(fields[4]), V2: fstype == "cgroup2"}
		key := "cgroup2"
		if !m.V2 {
			for _, opt := range strings.Split(superOpts, ",") {
				switch opt {
				case "rw", "ro", "relatime", "noexec", "nosuid", "nodev", "clone_children", "xattr":
					continue
				}
				if strings.HasPrefix(opt, "release_agent=") {
					continue
				}
				m.Controllers = append(m.Controllers, opt)
			}
			sort.Strings(m.Controllers)
			key = strings.Join(m.Controllers, ",")
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, m)
	}
	return out
}

// has reports whether a v1 hierarchy carries controller.
func (m cgroupMount) has(controller string) bool {
	for _, c := range m.Controllers {
		if c == controller {
			return true
		}
	}
	return false
}

// removeCgroupTree removes the cgroup directory rel (an absolute cgroup
// path such as /podrun/pod-x) and everything below it, deepest first, in
// every hierarchy. It fails if a cgroup still holds processes.
func removeCgroupTree(mounts []cgroupMount, rel string) error {
	var errs []error
	for _, m := range mounts {
		root := filepath.Join(m.Path, rel)
		var dirs []string
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return filepath.SkipDir
				}
				return err
			}
			if d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("walk cgroup %s: %w", root, err))
			continue
		}
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := rmdirCgroup(dirs[i]); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// rmdirCgroup removes one empty cgroup; a cgroup whose last process has
// just exited may briefly report EBUSY, so it retries a bounded number of
// times.
func rmdirCgroup(dir string) error {
	var err error
	for range 200 {
		err = unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			break
		}
		// Yield the CPU without sleeping for a fixed time.
		_ = unix.Nanosleep(&unix.Timespec{Nsec: 1_000_000}, nil)
	}
	return fmt.Errorf("remove cgroup %s: %w", dir, err)
}

// oomKills reads how many processes the kernel's OOM killer killed in the
// cgroup rel: oom_kill of memory.oom_control (v1) or memory.events (v2).
// It returns 0 when the cgroup or counter does not exist.
func oomKills(mounts []cgroupMount, rel string) int {
	total := 0
	for _, m := range mounts {
		var file string
		switch {
		case !m.V2 && m.has("memory"):
			file = filepath.Join(m.Path, rel, "memory.oom_control")
		case m.V2:
			file = filepath.Join(m.Path, rel, "memory.events")
		default:
			continue
		}
		data, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		total += counter(data, "oom_kill")
	}
	return total
}

// counter returns the value of a "key N" line of a cgroup flat-keyed file.
func counter(data []byte, key string) int {
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if ok && k == key {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}
