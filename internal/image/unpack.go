package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Whiteout markers of the image layer format.
const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// UnpackOptions choose how Unpack treats whiteouts.
type UnpackOptions struct {
	// Overlay keeps whiteouts for an overlay mount: a whiteout becomes a
	// character device 0:0 and an opaque directory gets the
	// trusted.overlay.opaque="y" attribute. Otherwise whiteouts are
	// applied: the named entries are removed from dir, which holds the
	// layers below.
	Overlay bool
}

// ErrUnsafeEntry: a layer entry would land outside the directory it is
// unpacked into.
var ErrUnsafeEntry = errors.New("layer entry escapes the root")

// Unpack extracts the layer tar stream r into dir, keeping modes,
// ownership, times, symbolic and hard links, device nodes and file
// capabilities. An entry whose name is absolute or climbs above dir, or
// whose parent directories or hard-link target resolve outside dir through
// a symbolic link, fails with an error wrapping ErrUnsafeEntry; nothing is
// ever created outside dir.
func Unpack(ctx context.Context, dir string, r io.Reader, opts UnpackOptions) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open unpack root %q: %w", dir, err)
	}
	u := &unpacker{root: fd, opts: opts, created: map[string]bool{}, owner: os.Geteuid() == 0}
	defer unix.Close(fd)
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read layer: %w", err)
		}
		if err := u.entry(h, tr); err != nil {
			return fmt.Errorf("layer entry %q: %w", h.Name, err)
		}
	}
	return u.finish()
}

type unpacker struct {
	root    int
	opts    UnpackOptions
	owner   bool            // may chown and mknod
	created map[string]bool // names this layer created
	dirs    []dirTimes      // directory times to restore at the end
}

type dirTimes struct {
	name         string
	atime, mtime time.Time
}

// cleanName checks a tar name and returns it relative to the root, "."
// for the root itself.
func cleanName(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("absolute name: %w", ErrUnsafeEntry)
	}
	depth := 0
	for _, c := range strings.Split(name, "/") {
		switch c {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return "", fmt.Errorf("name climbs out with ..: %w", ErrUnsafeEntry)
			}
		default:
			depth++
		}
	}
	return path.Clean(name), nil
}

func (u *unpacker) entry(h *tar.Header, body io.Reader) error {
	name, err := cleanName(h.Name)
	if err != nil {
		return err
	}
	if h.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	if name == "." {
		return nil // the root's own attributes come from the layer below
	}
	dir, base := path.Split(name)
	if base == whiteoutOpaque {
		return u.opaque(path.Clean(dir))
	}
	if strings.HasPrefix(base, whiteoutPrefix) {
		return u.whiteout(path.Join(dir, strings.TrimPrefix(base, whiteoutPrefix)))
	}
	parent, err := u.mkdirAll(path.Clean(dir))
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	// Replace what is there unless both are directories.
	var st unix.Stat_t
	if err := unix.Fstatat(parent, base, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
		if !(h.Typeflag == tar.TypeDir && st.Mode&unix.S_IFMT == unix.S_IFDIR) {
			if err := removeAllAt(parent, base); err != nil {
				return err
			}
		}
	}
	u.created[name] = true
	mode := uint32(h.Mode & 0o7777)
	switch h.Typeflag {
	case tar.TypeDir:
		if err := unix.Mkdirat(parent, base, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("mkdir: %w", err)
		}
		u.dirs = append(u.dirs, dirTimes{name: name, atime: h.AccessTime, mtime: h.ModTime})
	case tar.TypeReg, tar.TypeRegA:
		if err := writeFileAt(parent, base, body); err != nil {
			return err
		}
	case tar.TypeSymlink:
		if err := unix.Symlinkat(h.Linkname, parent, base); err != nil {
			return fmt.Errorf("symlink: %w", err)
		}
	case tar.TypeLink:
		return u.hardlink(parent, base, h.Linkname)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		kind := map[byte]uint32{tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK, tar.TypeFifo: unix.S_IFIFO}[h.Typeflag]
		if kind != unix.S_IFIFO && !u.owner {
			return nil // only root may create device nodes
		}
		dev := unix.Mkdev(uint32(h.Devmajor), uint32(h.Devminor))
		if err := unix.Mknodat(parent, base, kind|mode, int(dev)); err != nil {
			return fmt.Errorf("mknod: %w", err)
		}
	default:
		return fmt.Errorf("unsupported entry type %q", h.Typeflag)
	}
	return u.attributes(parent, base, h)
}

// attributes sets ownership, mode, extended attributes and times of the
// entry base in parent (never following a symbolic link).
func (u *unpacker) attributes(parent int, base string, h *tar.Header) error {
	if u.owner {
		if err := unix.Fchownat(parent, base, h.Uid, h.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	if h.Typeflag != tar.TypeSymlink {
		// After chown, which clears set-user-ID and set-group-ID bits.
		if err := unix.Fchmodat(parent, base, uint32(h.Mode&0o7777), 0); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
		for k, v := range h.PAXRecords {
			attr, ok := strings.CutPrefix(k, "SCHILY.xattr.")
			if !ok || strings.HasPrefix(attr, "trusted.") {
				continue // trusted.* would let a layer forge overlay metadata
			}
			if err := lsetxattrAt(parent, base, attr, []byte(v)); err != nil {
				return fmt.Errorf("set attribute %s: %w", attr, err)
			}
		}
	}
	if h.Typeflag == tar.TypeDir {
		return nil // set in finish, after the directory's entries
	}
	return setTimes(parent, base, h.AccessTime, h.ModTime)
}

func setTimes(parent int, base string, atime, mtime time.Time) error {
	if atime.IsZero() {
		atime = mtime
	}
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	if err := unix.UtimesNanoAt(parent, base, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// finish restores directory times, deepest first.
func (u *unpacker) finish() error {
	for i := len(u.dirs) - 1; i >= 0; i-- {
		d := u.dirs[i]
		parent, base, err := u.openParent(d.name)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			continue // a later entry of the layer replaced it
		}
		if err != nil {
			return err
		}
		err = setTimes(parent, base, d.atime, d.mtime)
		unix.Close(parent)
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("directory %q: %w", d.name, err)
		}
	}
	return nil
}

// hardlink links base in parent to the entry target, named from the root.
func (u *unpacker) hardlink(parent int, base, target string) error {
	name, err := cleanName(target)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", target, err)
	}
	tparent, tbase, err := u.openParent(name)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", target, err)
	}
	defer unix.Close(tparent)
	if err := unix.Linkat(tparent, tbase, parent, base, 0); err != nil {
		return fmt.Errorf("hard link to %q: %w", target, err)
	}
	return nil
}

// whiteout hides name: an overlay whiteout device, or its removal.
func (u *unpacker) whiteout(name string) error {
	name, err := cleanName(name)
	if err != nil || name == "." {
		return fmt.Errorf("whiteout of %q: %w", name, ErrUnsafeEntry)
	}
	dir, base := path.Split(name)
	if u.opts.Overlay {
		parent, err := u.mkdirAll(path.Clean(dir))
		if err != nil {
			return err
		}
		defer unix.Close(parent)
		if err := removeAllAt(parent, base); err != nil {
			return err
		}
		if err := unix.Mknodat(parent, base, unix.S_IFCHR, 0); err != nil {
			return fmt.Errorf("whiteout: %w", err)
		}
		return nil
	}
	parent, err := u.openDir(path.Clean(dir))
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	return removeAllAt(parent, base)
}

// opaque hides what the layers below hold in dir: the overlay attribute,
// or removal of every entry this layer did not create.
func (u *unpacker) opaque(dir string) error {
	fd, err := u.mkdirAll(dir)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if u.opts.Overlay {
		if err := unix.Fsetxattr(fd, "trusted.overlay.opaque", []byte("y"), 0); err != nil {
			return fmt.Errorf("opaque directory %q: %w", dir, err)
		}
		return nil
	}
	names, err := readDirNames(fd)
	if err != nil {
		return fmt.Errorf("opaque directory %q: %w", dir, err)
	}
	for _, n := range names {
		if u.created[path.Join(dir, n)] {
			continue
		}
		if err := removeAllAt(fd, n); err != nil {
			return err
		}
	}
	return nil
}
