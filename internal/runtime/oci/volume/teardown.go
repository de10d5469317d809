package volume

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/podrun/podrun/internal/mountinfo"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Teardown unmounts everything Setup and Mounts mounted and removes the
// volume directories; see the package function Teardown.
func (s *Set) Teardown(ctx context.Context) error {
	return Teardown(ctx, s.podDir)
}

// Teardown unmounts every mount below podDir/volumes and
// podDir/volume-subpaths (tmpfs volumes and subPath binds, found in
// /proc/self/mountinfo, deepest first) and then removes those two
// directories. It needs no *Set, so a new supervisor can clean up after a
// dead one; it is idempotent. podDir itself is left to its owner. Nothing
// is removed while anything below stays mounted, so a hostPath reached
// through a bind is never deleted.
func Teardown(ctx context.Context, podDir string) error {
	abs, err := filepath.Abs(podDir)
	if err != nil {
		return fmt.Errorf("teardown volumes of %s: %w", podDir, err)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	} else if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	for _, dir := range []string{filepath.Join(abs, subpathsDir), filepath.Join(abs, volumesDir)} {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := unmountAll(dir); err != nil {
			return fmt.Errorf("teardown volumes of %s: %w", podDir, err)
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("teardown volumes of %s: %w", podDir, err)
		}
	}
	return nil
}

// unmountAll unmounts every mount at or below dir until none is left.
func unmountAll(dir string) error {
	for attempt := 0; ; attempt++ {
		points, err := mountsUnder(dir)
		if err != nil {
			return err
		}
		if len(points) == 0 {
			return nil
		}
		if attempt == 8 {
			return fmt.Errorf("still mounted after unmounting: %s", strings.Join(points, ", "))
		}
		for _, p := range points {
			err := unix.Unmount(p, unix.UMOUNT_NOFOLLOW)
			if errors.Is(err, unix.EBUSY) {
				err = unix.Unmount(p, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
			}
			if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("unmount %s: %w", p, err)
			}
		}
	}
}

// mountsUnder lists the mount points at or below dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	all, err := MountPoints()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range all {
		if within(p, dir) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out, nil
}

// MountPoints lists the mount points of this process's mount namespace
// from /proc/self/mountinfo, in its order (a point mounted twice appears
// twice). Tests use it to assert that nothing is left mounted.
func MountPoints() ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		out = append(out, mountinfo.Unescape(fields[4]))
	}
	return out, sc.Err()
}
