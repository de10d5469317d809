package volume

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/internal/runtime/oci/spec"
)

// ReadFileInRoot reads name as a process chrooted at root would see it:
// symlinks, absolute or relative, resolve inside root (openat2
// RESOLVE_IN_ROOT), so an image whose /etc/passwd links to a host file
// reads its own tree, never the host's. A missing file is os.ErrNotExist.
func ReadFileInRoot(root, name string) ([]byte, error) {
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open root %s: %w", root, err)
	}
	defer unix.Close(rfd)
	fd, err := unix.Openat2(rfd, name, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("read %s in %s: %w", name, root, os.ErrNotExist)
		}
		return nil, fmt.Errorf("read %s in %s: %w", name, root, err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("read %s in %s: not a regular file", name, root)
	}
	// Bounded: a passwd file is small; a huge one is an attack.
	return io.ReadAll(io.LimitReader(f, 16<<20))
}

// LoadUserDB reads an image's /etc/passwd and /etc/group from its rootfs
// with ReadFileInRoot, for spec.Input.Users. Missing files give an empty
// database, as an image without them has.
func LoadUserDB(rootfs string) (*spec.UserDB, error) {
	var readers [2]io.Reader
	for i, name := range []string{"/etc/passwd", "/etc/group"} {
		data, err := ReadFileInRoot(rootfs, name)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, err
		default:
			readers[i] = bytes.NewReader(data)
		}
	}
	return spec.ParseUserDB(readers[0], readers[1])
}
