package volume

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/runtime/oci/spec"
)

// Mounts resolves the container's volumeMounts into OCI bind mounts, as the
// kubelet's makeMounts: API-data volumes and readOnly mounts are "ro";
// propagation None/HostToContainer/Bidirectional is rprivate/rslave/rshared;
// subPathExpr is expanded with env (the container's variables, see
// spec.Env; an unknown or empty variable is an error); a subPath is created
// when missing (with the volume's mode), checked to stay inside the volume
// and bind-mounted under podDir/volume-subpaths (see bindSubpath), which is
// the source returned. Every error wraps a *spec.ConfigError carrying the
// kubelet's message (CreateContainerConfigError). Calling it again for the
// same container (a restart) replaces its subPath mounts.
func (s *Set) Mounts(ctx context.Context, c *corev1.Container, env map[string]string) ([]specs.Mount, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []specs.Mount
	for i, m := range c.VolumeMounts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		v, ok := s.vols[m.Name]
		if !ok {
			return nil, configError(nil, "cannot find volume %q to mount into container %q", m.Name, c.Name)
		}
		src := v.path
		subPath := m.SubPath
		if m.SubPathExpr != "" {
			var err error
			if subPath, err = expandSubPath(m.SubPathExpr, env); err != nil {
				return nil, err
			}
		}
		if subPath != "" {
			if filepath.IsAbs(subPath) {
				return nil, configError(nil, "error SubPath `%s` must not be an absolute path", subPath)
			}
			if hasBacksteps(subPath) {
				return nil, configError(nil, "unable to provision SubPath `%s`: must not contain '..'", subPath)
			}
			if _, err := os.Lstat(filepath.Join(v.path, subPath)); os.IsNotExist(err) {
				perm := os.FileMode(0o755)
				if st, err := os.Stat(v.path); err == nil {
					perm = st.Mode() & (os.ModePerm | os.ModeSetgid)
				}
				if err := safeMkdirAll(v.path, subPath, perm); err != nil {
					return nil, configError(err, "failed to create subPath directory for volumeMount %q of container %q", m.Name, c.Name)
				}
			}
			target, err := s.bindSubpath(m.Name, v.path, subPath, c.Name, i)
			if err != nil {
				return nil, configError(err, "failed to prepare subPath for volumeMount %q of container %q", m.Name, c.Name)
			}
			src = target
		}
		mode := "rw"
		if m.ReadOnly || v.readOnly {
			mode = "ro"
		}
		prop := "rprivate"
		if m.MountPropagation != nil {
			switch *m.MountPropagation {
			case corev1.MountPropagationHostToContainer:
				prop = "rslave"
			case corev1.MountPropagationBidirectional:
				prop = "rshared"
			}
		}
		out = append(out, specs.Mount{Destination: m.MountPath, Type: "bind", Source: src, Options: []string{"rbind", prop, mode}})
	}
	return out, nil
}

// configError is a *spec.ConfigError with the kubelet's message; the cause,
// which the kubelet only logs, is kept in the error text for podrun's log.
func configError(cause error, format string, args ...any) error {
	ce := &spec.ConfigError{Message: fmt.Sprintf(format, args...)}
	if cause == nil {
		return ce
	}
	return fmt.Errorf("%w (%v)", ce, cause)
}

// expandSubPath is the kubelet's ExpandContainerVolumeMounts.
func expandSubPath(expr string, env map[string]string) (string, error) {
	missing := map[string]bool{}
	out := spec.Expand(expr, func(name string) (string, bool) {
		v, ok := env[name]
		if !ok || v == "" {
			missing[name] = true
		}
		return v, true
	})
	if len(missing) > 0 {
		names := make([]string, 0, len(missing))
		for n := range missing {
			names = append(names, n)
		}
		sort.Strings(names)
		return "", configError(nil, "missing value for %s", strings.Join(names, ", "))
	}
	return out, nil
}

func hasBacksteps(p string) bool {
	for _, seg := range strings.Split(filepath.ToSlash(p), "/") {
		if seg == ".." {
			return true
		}
	}
	return false
}
