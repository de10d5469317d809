package oci

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// rootfs is a container's root filesystem inside its bundle.
type rootfs struct {
	// Path is the directory runc uses as root.path.
	Path string
	// Overlay is true when Path is an overlay mount (else a copy).
	Overlay bool
	// Upper and Work are the overlay's per-container directories.
	Upper, Work string
}

// prepareRootfs builds the root filesystem of a container in bundle from
// the image's unpacked layer directories (bottom first): an overlay with
// a per-container upper and work directory, or, when overlay is disabled
// or refused by the kernel, a copy of the layers.
func prepareRootfs(bundle string, layers []string, allowOverlay bool) (rootfs, error) {
	r := rootfs{Path: filepath.Join(bundle, "rootfs"), Upper: filepath.Join(bundle, "upper"), Work: filepath.Join(bundle, "work")}
	if len(layers) == 0 {
		return rootfs{}, errors.New("image has no layers")
	}
	if err := os.MkdirAll(r.Path, 0o755); err != nil {
		return rootfs{}, fmt.Errorf("rootfs: %w", err)
	}
	if allowOverlay {
		err := mountOverlay(r, layers)
		if err == nil {
			r.Overlay = true
			return r, nil
		}
		if !overlayUnavailable(err) {
			return rootfs{}, err
		}
		_ = os.RemoveAll(r.Upper)
		_ = os.RemoveAll(r.Work)
	}
	r.Upper, r.Work = "", ""
	for _, layer := range layers {
		if err := applyLayerCopy(layer, r.Path); err != nil {
			return rootfs{}, fmt.Errorf("copy layer %s: %w", layer, err)
		}
	}
	return r, nil
}

// mountOverlay mounts the layers as lower directories (topmost first, as
// overlayfs wants them) under a fresh upper and work directory.
func mountOverlay(r rootfs, layers []string) error {
	for _, d := range []string{r.Upper, r.Work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("overlay dir: %w", err)
		}
	}
	lower := make([]string, len(layers))
	for i, l := range layers {
		if strings.ContainsAny(l, ":,") {
			return fmt.Errorf("overlay: layer path %q contains ':' or ','", l)
		}
		lower[len(layers)-1-i] = l
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", strings.Join(lower, ":"), r.Upper, r.Work)
	if len(opts) >= unix.Getpagesize() {
		return fmt.Errorf("overlay: %w: mount options exceed a page", unix.EINVAL)
	}
	if err := unix.Mount("overlay", r.Path, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount overlay on %s: %w", r.Path, err)
	}
	return nil
}

// overlayUnavailable reports whether a mount error means overlayfs cannot
// be used here (no module, nested overlay, unsupported upper filesystem),
// so a copy should be made instead.
func overlayUnavailable(err error) bool {
	return errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EPERM) ||
		errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP)
}

// releaseRootfs unmounts an overlay rootfs; the bundle's removal deletes
// the directories.
func releaseRootfs(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount rootfs %s: %w", path, err)
	}
	return nil
}

// applyLayerCopy copies an unpacked layer (in overlay format: a whiteout
// is a 0:0 character device, an opaque directory carries the
// trusted.overlay.opaque xattr) over dst.
func applyLayerCopy(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		st, _ := info.Sys().(*unix.Stat_t)
		if st == nil {
			var s unix.Stat_t
			if err := unix.Lstat(path, &s); err != nil {
				return err
			}
			st = &s
		}
		mode := info.Mode()
		switch {
		case rel == ".":
			return nil
		case mode&fs.ModeCharDevice != 0 && st.Rdev == 0:
			return os.RemoveAll(target) // whiteout
		case mode.IsDir():
			if opaque(path) {
				if err := os.RemoveAll(target); err != nil {
					return err
				}
			}
			if fi, err := os.Lstat(target); err == nil && !fi.IsDir() {
				if err := os.Remove(target); err != nil {
					return err
				}
			}
			if err := os.Mkdir(target, mode.Perm()); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
		default:
			if err := os.RemoveAll(target); err != nil {
				return err
			}
			if err := copyEntry(path, target, mode, st); err != nil {
				return err
			}
		}
		if err := os.Lchown(target, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
		if mode&fs.ModeSymlink == 0 {
			return os.Chmod(target, mode.Perm()|mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
		}
		return nil
	})
}

// opaque reports whether dir is an overlay opaque directory.
func opaque(dir string) bool {
	buf := make([]byte, 1)
	n, err := unix.Lgetxattr(dir, "trusted.overlay.opaque", buf)
	return err == nil && n == 1 && buf[0] == 'y'
}

// copyEntry copies one non-directory entry.
func copyEntry(src, dst string, mode fs.FileMode, st *unix.Stat_t) error {
	switch {
	case mode&fs.ModeSymlink != 0:
		link, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(link, dst)
	case mode.IsRegular():
		in, err := os.Open(src)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode.Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	default:
		return unix.Mknod(dst, st.Mode, int(st.Rdev))
	}
}
