package oci

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/runtime"
	"github.com/podrun/podrun/internal/runtime/oci/spec"
	"github.com/podrun/podrun/internal/runtime/oci/volume"
)

// generateConfig translates the container into its config.json with the
// spec package, feeding it the sandbox's namespaces, files and volumes.
// A *spec.ConfigError becomes a CreateContainerConfigError, anything else
// a CreateContainerError.
func (r *Runtime) generateConfig(ctx context.Context, c *container, img *v1.ConfigFile) (*specs.Spec, error) {
	sb := c.sb
	in := spec.Input{
		Pod: c.cfg.Pod, Container: c.cfg.Container, Kind: containerKind(c.cfg.Pod, c.cfg.Name), Image: img,
		ConfigMaps: sb.cfg.ConfigMaps, Secrets: sb.cfg.Secrets,
		Info:   r.podInfo(sb),
		Rootfs: c.root.Path,
		Namespaces: spec.Namespaces{
			Network: sb.ns.Net, UTS: sb.ns.UTS, IPC: sb.ns.IPC, PID: sb.pidNamespace(),
			// containerd gives containers a cgroup namespace on a
			// cgroup v2 host.
			Cgroup: unifiedOnly(r.cgroups),
		},
		EtcHosts: sb.hosts, ResolvConf: sb.resolvConf, EtcHostname: sb.hostnameFile,
		ShmPath:                    sb.shm,
		TerminationMessageFile:     c.termFile,
		CgroupsPath:                c.cgroup,
		Hostname:                   sb.hostname,
		SeccompUnconfinedByDefault: !r.opts.SeccompDefault,
	}
	users, err := volume.LoadUserDB(c.root.Path)
	if err != nil {
		return nil, createError(runtime.ReasonCreateContainerError, c, err)
	}
	in.Users = users
	if path, ok := spec.SeccompLocalhostProfile(in.Pod, in.Container); ok {
		data, err := os.ReadFile(filepath.Join(r.opts.SeccompRoot, path))
		if err != nil {
			return nil, createError(runtime.ReasonCreateContainerError, c, fmt.Errorf("seccomp profile %q: %w", path, err))
		}
		in.SeccompLocalhostProfile = data
	}
	env, err := spec.Env(&in)
	if err != nil {
		return nil, specError(c, err)
	}
	if sb.volumes != nil {
		if in.Mounts, err = sb.volumes.Mounts(ctx, in.Container, spec.EnvMap(env)); err != nil {
			return nil, specError(c, err)
		}
	}
	s, err := spec.Generate(in)
	if err != nil {
		return nil, specError(c, err)
	}
	if r.specVersion != "" {
		s.Version = r.specVersion
	}
	// runc cannot lower oom_score_adj without CAP_SYS_RESOURCE.
	if s.Process != nil && s.Process.OOMScoreAdj != nil && *s.Process.OOMScoreAdj < r.ownOOMScore {
		s.Process.OOMScoreAdj = nil
	}
	return s, nil
}

// specError maps a spec or volume error to the container's start error.
func specError(c *container, err error) error {
	if _, ok := spec.IsConfigError(err); ok {
		return createError(runtime.ReasonCreateContainerConfigError, c, err)
	}
	return createError(runtime.ReasonCreateContainerError, c, err)
}

// createError is a *StartError with the given reason.
func createError(reason string, c *container, err error) error {
	msg := err.Error()
	if m, ok := spec.IsConfigError(err); ok {
		msg = m
	}
	return &runtime.StartError{Reason: reason, Message: msg, Err: err}
}

// containerKind finds the container's list in the pod spec.
func containerKind(pod *corev1.Pod, name string) spec.Kind {
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
				return spec.KindSidecar
			}
			return spec.KindInit
		}
	}
	return spec.KindRegular
}

// podInfo is what the downward API reads of the pod's node and addresses.
func (r *Runtime) podInfo(sb *sandbox) spec.PodInfo {
	info := spec.PodInfo{PodIPs: []string{sb.ip}, NodeName: r.opts.NodeName}
	if r.opts.NodeIP != "" {
		info.HostIPs = []string{r.opts.NodeIP}
	}
	return info
}

// writeConfig writes config.json into the bundle.
func writeConfig(bundle string, s *specs.Spec) error {
	data, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		return fmt.Errorf("encode config.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o600); err != nil {
		return fmt.Errorf("write config.json: %w", err)
	}
	return nil
}

// unifiedOnly reports whether the host mounts only cgroup v2.
func unifiedOnly(mounts []cgroupMount) bool {
	for _, m := range mounts {
		if !m.V2 {
			return false
		}
	}
	return len(mounts) > 0
}
