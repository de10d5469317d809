package image

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// openDir opens the directory name under the root, refusing to leave the
// root through ".." or a symbolic link (absolute links included).
func (u *unpacker) openDir(name string) (int, error) {
	if name == "." || name == "" {
		fd, err := unix.FcntlInt(uintptr(u.root), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return -1, fmt.Errorf("dup root: %w", err)
		}
		return fd, nil
	}
	fd, err := unix.Openat2(u.root, name, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	})
	for errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
		fd, err = unix.Openat2(u.root, name, &unix.OpenHow{
			Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
		})
	}
	switch {
	case errors.Is(err, unix.EXDEV), errors.Is(err, unix.ELOOP):
		return -1, fmt.Errorf("directory %q resolves outside the root: %w", name, ErrUnsafeEntry)
	case err != nil:
		return -1, fmt.Errorf("open directory %q: %w", name, err)
	}
	return fd, nil
}

// openParent opens the directory holding name and returns it with name's
// last component.
func (u *unpacker) openParent(name string) (int, string, error) {
	dir, base := path.Split(name)
	fd, err := u.openDir(path.Clean(dir))
	return fd, base, err
}

// mkdirAll opens the directory name under the root, creating it and its
// missing parents with mode 0755.
func (u *unpacker) mkdirAll(name string) (int, error) {
	fd, err := u.openDir(name)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		return fd, err
	}
	parts := strings.Split(name, "/")
	for i := range parts {
		prefix := path.Join(parts[:i+1]...)
		fd, err := u.openDir(prefix)
		if err == nil {
			unix.Close(fd)
			continue
		}
		if !errors.Is(err, unix.ENOENT) {
			return -1, err
		}
		parent, err := u.openDir(path.Join(parts[:i]...))
		if err != nil {
			return -1, err
		}
		err = unix.Mkdirat(parent, parts[i], 0o755)
		unix.Close(parent)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return -1, fmt.Errorf("mkdir %q: %w", prefix, err)
		}
	}
	return u.openDir(name)
}

// removeAllAt removes base in dirfd and, for a directory, everything in
// it, never following a symbolic link. A missing entry is not an error.
func removeAllAt(dirfd int, base string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("remove %q: %w", base, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if err := unix.Unlinkat(dirfd, base, 0); err != nil {
			return fmt.Errorf("remove %q: %w", base, err)
		}
		return nil
	}
	fd, err := unix.Openat(dirfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("remove %q: %w", base, err)
	}
	names, err := readDirNames(fd)
	if err == nil {
		for _, n := range names {
			if err = removeAllAt(fd, n); err != nil {
				break
			}
		}
	}
	unix.Close(fd)
	if err != nil {
		return err
	}
	if err := unix.Unlinkat(dirfd, base, unix.AT_REMOVEDIR); err != nil {
		return fmt.Errorf("remove %q: %w", base, err)
	}
	return nil
}

// readDirNames lists the directory dirfd.
func readDirNames(dirfd int) ([]string, error) {
	fd, err := unix.Openat(dirfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), ".")
	defer f.Close()
	return f.Readdirnames(-1)
}

// writeFileAt creates base in dirfd, which must not exist, with the
// content of r.
func writeFileAt(dirfd int, base string, r io.Reader) error {
	fd, err := unix.Openat(dirfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	f := os.NewFile(uintptr(fd), base)
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("write: %w", err)
	}
	return f.Close()
}

// lsetxattrAt sets an extended attribute of base in dirfd without
// following base if it is a symbolic link.
func lsetxattrAt(dirfd int, base, attr string, value []byte) error {
	p := "/proc/self/fd/" + strconv.Itoa(dirfd) + "/" + base
	return unix.Lsetxattr(p, attr, value, 0)
}
