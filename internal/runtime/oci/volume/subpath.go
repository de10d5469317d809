package volume

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// within reports whether p is base or below it (both clean and absolute).
func within(p, base string) bool {
	if p == base {
		return true
	}
	return strings.HasPrefix(p, strings.TrimSuffix(base, "/")+"/")
}

// openNoFollow opens rel below base one component at a time with
// O_PATH|O_NOFOLLOW and returns an O_PATH descriptor of the result. A
// symlink anywhere below base — including one swapped in after a check — is
// refused, so the descriptor always names an object inside base.
func openNoFollow(base, rel string) (int, error) {
	fd, err := unix.Open(base, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", base, err)
	}
	cur := base
	for _, seg := range strings.Split(rel, "/") {
		if seg == "" || seg == "." {
			continue
		}
		if seg == ".." {
			unix.Close(fd)
			return -1, fmt.Errorf("path %s: '..' is not allowed", rel)
		}
		cur = filepath.Join(cur, seg)
		child, err := unix.Openat(fd, seg, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			return -1, fmt.Errorf("open %s: %w", cur, err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(child, &st); err != nil {
			unix.Close(child)
			return -1, fmt.Errorf("stat %s: %w", cur, err)
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			unix.Close(child)
			return -1, fmt.Errorf("symlinks are not allowed: %s", cur)
		}
		fd = child
	}
	return fd, nil
}

// safeMkdirAll creates the missing directories of rel below base with
// perm, never following a symlink (mkdirat + O_NOFOLLOW at each step).
func safeMkdirAll(base, rel string, perm os.FileMode) error {
	fd, err := unix.Open(base, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", base, err)
	}
	defer func() { unix.Close(fd) }()
	cur := base
	for _, seg := range strings.Split(rel, "/") {
		if seg == "" || seg == "." {
			continue
		}
		if seg == ".." {
			return fmt.Errorf("path %s: '..' is not allowed", rel)
		}
		cur = filepath.Join(cur, seg)
		created := false
		if err := unix.Mkdirat(fd, seg, uint32(perm.Perm())); err == nil {
			created = true
		} else if !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("mkdir %s: %w", cur, err)
		}
		child, err := unix.Openat(fd, seg, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
				return fmt.Errorf("%s is not a directory inside the volume", cur)
			}
			return fmt.Errorf("open %s: %w", cur, err)
		}
		unix.Close(fd)
		fd = child
		if created {
			// mkdirat's mode is subject to the umask.
			if err := unix.Fchmod(fd, uint32(perm)); err != nil {
				return fmt.Errorf("chmod %s: %w", cur, err)
			}
		}
	}
	return nil
}

// bindSubpath makes the subPath target of one volume mount and returns it:
// it resolves volPath/subPath, refuses a result outside the volume, opens
// it again component by component without following symlinks, and
// bind-mounts that descriptor (through /proc/self/fd) at
// podDir/volume-subpaths/<volume>/<container>/<index>. The object mounted is
// the one checked, whatever changes in the volume meanwhile.
func (s *Set) bindSubpath(volName, volPath, subPath, container string, index int) (string, error) {
	base, err := filepath.EvalSymlinks(volPath)
	if err != nil {
		return "", err
	}
	resolved, err := filepath.EvalSymlinks(filepath.Join(volPath, subPath))
	if err != nil {
		return "", err
	}
	if !within(resolved, base) {
		return "", fmt.Errorf("subpath %q not within volume path %q", resolved, base)
	}
	if s.beforeOpen != nil {
		s.beforeOpen()
	}
	rel, err := filepath.Rel(base, resolved)
	if err != nil {
		return "", err
	}
	fd, err := openNoFollow(base, rel)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", fmt.Errorf("stat %s: %w", resolved, err)
	}
	target := filepath.Join(s.podDir, subpathsDir, volName, container, strconv.Itoa(index))
	if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
		return "", err
	}
	if err := unmountAll(target); err != nil {
		return "", err
	}
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if err := makeTarget(target, isDir); err != nil {
		return "", err
	}
	src := "/proc/self/fd/" + strconv.Itoa(fd)
	if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
		return "", fmt.Errorf("bind %s on %s: %w", resolved, target, err)
	}
	var got unix.Stat_t
	if err := unix.Lstat(target, &got); err != nil || got.Dev != st.Dev || got.Ino != st.Ino {
		_ = unmountAll(target)
		return "", fmt.Errorf("bind of %s on %s mounted another object", resolved, target)
	}
	return target, nil
}

// makeTarget leaves an empty directory or file at target.
func makeTarget(target string, dir bool) error {
	st, err := os.Lstat(target)
	if err == nil && st.IsDir() == dir && (dir || st.Mode().IsRegular()) {
		return nil
	}
	if err == nil {
		if err := os.Remove(target); err != nil {
			return err
		}
	}
	if dir {
		return os.Mkdir(target, 0o750)
	}
	f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o640)
	if err != nil {
		return err
	}
	return f.Close()
}
