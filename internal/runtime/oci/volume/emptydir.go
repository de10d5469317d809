package volume

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
)

// setupEmptyDir makes an emptyDir: a 0777 directory, with a tmpfs on it
// for medium Memory sized by memorySize. An existing one is kept.
func setupEmptyDir(dir string, e *corev1.EmptyDirVolumeSource, pod *corev1.Pod, allocatable corev1.ResourceList) error {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		return err
	}
	switch e.Medium {
	case corev1.StorageMediumDefault:
		return nil
	case corev1.StorageMediumMemory:
		size := ""
		if q := memorySize(e, pod, allocatable); q.Sign() > 0 {
			size = fmt.Sprintf("size=%d", q.Value())
		}
		if err := mountTmpfs(dir, size); err != nil {
			return err
		}
		return os.Chmod(dir, 0o777)
	}
	return fmt.Errorf("emptyDir medium %q is not supported by podrun", e.Medium)
}

// memorySize is the kubelet's calculateEmptyDirMemorySize: the node's
// allocatable memory, lowered to the pod's memory limit when every
// container has one, lowered to sizeLimit when set. Zero leaves the
// kernel's default (half of RAM).
func memorySize(e *corev1.EmptyDirVolumeSource, pod *corev1.Pod, allocatable corev1.ResourceList) resource.Quantity {
	size := allocatable[corev1.ResourceMemory]
	lower := func(q resource.Quantity) {
		if q.Sign() > 0 && (size.IsZero() || q.Cmp(size) <= 0) {
			size = q
		}
	}
	if podMemoryLimited(pod) {
		lower(resourcehelper.PodLimits(pod, resourcehelper.PodResourcesOptions{})[corev1.ResourceMemory])
	}
	if e.SizeLimit != nil {
		lower(*e.SizeLimit)
	}
	return size
}

// podMemoryLimited: the kubelet gives the pod cgroup a memory limit only
// when every container has one.
func podMemoryLimited(pod *corev1.Pod) bool {
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range list {
			if q, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok || q.IsZero() {
				return false
			}
		}
	}
	return true
}

// mountTmpfs mounts a tmpfs on dir unless one of ours is there already.
func mountTmpfs(dir, opts string) error {
	mounted, err := isMountPoint(dir)
	if err != nil {
		return err
	}
	if mounted {
		return nil
	}
	data := "mode=0755"
	if opts != "" {
		data += "," + opts
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, data); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", dir, err)
	}
	return nil
}

// isMountPoint reports whether path is the root of a mount: its mount ID
// differs from its parent's (statx), which also sees bind mounts of a
// directory of the same file system.
func isMountPoint(path string) (bool, error) {
	var st, parent unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return false, nil
		}
		return false, fmt.Errorf("statx %s: %w", path, err)
	}
	if err := unix.Statx(unix.AT_FDCWD, filepath.Dir(path), unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &parent); err != nil {
		return false, fmt.Errorf("statx %s: %w", filepath.Dir(path), err)
	}
	return st.Mnt_id != parent.Mnt_id, nil
}
