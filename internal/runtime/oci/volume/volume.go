package volume

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/runtime/oci/spec"
)

// Sources are the objects and facts a pod's volumes are filled from.
type Sources struct {
	// ConfigMaps and Secrets are the objects of the apply set, by name.
	ConfigMaps map[string]*corev1.ConfigMap
	Secrets    map[string]*corev1.Secret
	// Info answers the downward API (pod IPs, node name, allocatable).
	Info spec.PodInfo
}

// MountError is a volume that could not be set up. The kubelet keeps such a
// pod in ContainerCreating and reports a FailedMount warning event whose
// message is Error(); it retries, so a later Setup may succeed.
type MountError struct {
	// Volume is the volume's name in the pod spec.
	Volume string
	// Err is the cause; its text is the kubelet's.
	Err error
}

// Error returns the kubelet's FailedMount event message.
func (e *MountError) Error() string {
	return fmt.Sprintf("MountVolume.SetUp failed for volume %q : %v", e.Volume, e.Err)
}

// Unwrap returns the cause.
func (e *MountError) Unwrap() error { return e.Err }

// Directories of a pod directory that this package owns.
const (
	volumesDir  = "volumes"
	subpathsDir = "volume-subpaths"
)

// vol is one materialised volume.
type vol struct {
	// path is the directory or file the volume is on the host.
	path string
	// readOnly: API-data volumes are always mounted read-only.
	readOnly bool
}

// Set is a pod's materialised volumes. Its methods are safe for concurrent
// use.
type Set struct {
	podDir string
	pod    *corev1.Pod
	vols   map[string]vol

	mu sync.Mutex // serialises subPath preparation

	// beforeOpen, when set by a test, runs between the subPath check and
	// the descriptor walk (to swap a path under the check).
	beforeOpen func()
}

// Setup materialises every volume of pod under podDir/volumes/<name>:
// emptyDir (a directory, or a tmpfs for medium Memory), hostPath (checked or
// created by type, not copied), configMap, secret, downwardAPI and projected
// (written with the atomic-writer layout; secret, downwardAPI and projected
// on a tmpfs, as the kubelet). fsGroup is applied as the kubelet's
// SetVolumeOwnership. Setup is idempotent: called again for the same
// podDir, it keeps emptyDir contents and refreshes API data. A volume that
// cannot be set up is a *MountError; on error, what was mounted stays
// mounted until Teardown.
func Setup(ctx context.Context, podDir string, pod *corev1.Pod, src Sources) (*Set, error) {
	abs, err := filepath.Abs(podDir)
	if err != nil {
		return nil, fmt.Errorf("volumes of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	s := &Set{podDir: abs, pod: pod, vols: map[string]vol{}}
	for _, v := range pod.Spec.Volumes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		got, err := s.setupOne(v, src)
		if err != nil {
			return nil, &MountError{Volume: v.Name, Err: err}
		}
		s.vols[v.Name] = got
	}
	return s, nil
}

// Path returns the host path of the named volume.
func (s *Set) Path(name string) (string, bool) {
	v, ok := s.vols[name]
	return v.path, ok
}

func (s *Set) volDir(name string) string {
	return filepath.Join(s.podDir, volumesDir, name)
}

func (s *Set) fsGroup() *int64 {
	if sc := s.pod.Spec.SecurityContext; sc != nil {
		return sc.FSGroup
	}
	return nil
}

func (s *Set) setupOne(v corev1.Volume, src Sources) (vol, error) {
	dir := s.volDir(v.Name)
	pod := s.pod
	switch {
	case v.EmptyDir != nil:
		if err := setupEmptyDir(dir, v.EmptyDir, pod, src.Info.NodeAllocatable); err != nil {
			return vol{}, err
		}
		return vol{path: dir}, setOwnership(dir, s.fsGroup(), false)
	case v.HostPath != nil:
		if err := checkHostPath(v.HostPath); err != nil {
			return vol{}, err
		}
		return vol{path: filepath.Clean(v.HostPath.Path)}, nil
	case v.ConfigMap != nil:
		optional := v.ConfigMap.Optional != nil && *v.ConfigMap.Optional
		p := payload{}
		if cm, ok := src.ConfigMaps[v.ConfigMap.Name]; ok {
			var err error
			if p, err = configMapPayload(cm, v.ConfigMap.Items, modeOr(v.ConfigMap.DefaultMode, defaultMode), optional); err != nil {
				return vol{}, err
			}
		} else if !optional {
			return vol{}, fmt.Errorf("configmap %q not found", v.ConfigMap.Name)
		}
		return s.writeAPIData(dir, p, false)
	case v.Secret != nil:
		optional := v.Secret.Optional != nil && *v.Secret.Optional
		p := payload{}
		if sec, ok := src.Secrets[v.Secret.SecretName]; ok {
			var err error
			if p, err = secretPayload(sec, v.Secret.Items, modeOr(v.Secret.DefaultMode, defaultMode), optional); err != nil {
				return vol{}, err
			}
		} else if !optional {
			return vol{}, fmt.Errorf("secret %q not found", v.Secret.SecretName)
		}
		return s.writeAPIData(dir, p, true)
	case v.DownwardAPI != nil:
		p, err := downwardAPIPayload(pod, src.Info, v.DownwardAPI.Items, modeOr(v.DownwardAPI.DefaultMode, defaultMode))
		if err != nil {
			return vol{}, err
		}
		return s.writeAPIData(dir, p, true)
	case v.Projected != nil:
		p, err := projectedPayload(pod, src, v.Projected)
		if err != nil {
			return vol{}, err
		}
		return s.writeAPIData(dir, p, true)
	}
	return vol{}, fmt.Errorf("volume type not supported by podrun")
}

// writeAPIData writes an API-data volume, on a tmpfs when inMemory.
func (s *Set) writeAPIData(dir string, p payload, inMemory bool) (vol, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return vol{}, err
	}
	if inMemory {
		if err := mountTmpfs(dir, ""); err != nil {
			return vol{}, err
		}
	}
	if err := writeAtomic(dir, p); err != nil {
		return vol{}, err
	}
	return vol{path: dir, readOnly: true}, setOwnership(dir, s.fsGroup(), true)
}

// setOwnership is the kubelet's SetVolumeOwnership: with an fsGroup,
// every file and directory gets that group, group read (and write unless
// readOnly), directories also group exec and setgid.
func setOwnership(dir string, fsGroup *int64, readOnly bool) error {
	if fsGroup == nil {
		return nil
	}
	gid := int(*fsGroup)
	return filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(path, -1, gid); err != nil {
			return err
		}
		if info.Mode()&os.ModeSymlink != 0 {
			return nil
		}
		mask := os.FileMode(0o660)
		if readOnly {
			mask = 0o440
		}
		if info.IsDir() {
			mask |= os.ModeSetgid | 0o110
		}
		return os.Chmod(path, info.Mode()|mask)
	})
}
