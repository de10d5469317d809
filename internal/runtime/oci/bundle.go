package oci

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
)

// defaultTerminationMessagePath is the API default of
// terminationMessagePath.
const defaultTerminationMessagePath = "/dev/termination-log"

// bindToSandbox fits a container's generated config into its pod sandbox
// and bundle: root path, the pod's namespaces, the cgroup path, the pod's
// /etc files and the termination-message file. It also drops an
// oom_score_adj below ownScore, which runc could not apply without
// CAP_SYS_RESOURCE.
func bindToSandbox(s *specs.Spec, sb *sandbox, c *container, ownScore int) {
	s.Root.Path = c.root.Path
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	s.Linux.CgroupsPath = c.cgroup
	setNamespace(s, specs.NetworkNamespace, sb.ns.Net, sb.ns.Net != "")
	setNamespace(s, specs.UTSNamespace, sb.ns.UTS, sb.ns.UTS != "")
	setNamespace(s, specs.IPCNamespace, sb.ns.IPC, sb.ns.IPC != "")
	pod := sb.cfg.Pod
	switch {
	case pod.Spec.HostPID:
		setNamespace(s, specs.PIDNamespace, "", false)
	case sb.pidNamespace() != "":
		setNamespace(s, specs.PIDNamespace, sb.pidNamespace(), true)
	default:
		setNamespace(s, specs.PIDNamespace, "", true)
	}
	setNamespace(s, specs.MountNamespace, "", true)
	if sb.ns.UTS != "" {
		s.Hostname = sb.hostname
	} else {
		s.Hostname = ""
	}
	etc := []specs.Mount{
		{Destination: "/etc/hosts", Source: sb.hosts},
		{Destination: "/etc/resolv.conf", Source: sb.resolvConf},
		{Destination: "/etc/hostname", Source: sb.hostnameFile},
	}
	if c.termFile != "" {
		etc = append(etc, specs.Mount{Destination: c.termPath, Source: c.termFile})
	}
	for _, m := range etc {
		if hasMount(s, m.Destination) {
			continue
		}
		m.Type = "bind"
		m.Options = []string{"rbind", "rprivate", "rw"}
		s.Mounts = append(s.Mounts, m)
	}
	if s.Process != nil && s.Process.OOMScoreAdj != nil && *s.Process.OOMScoreAdj < ownScore {
		s.Process.OOMScoreAdj = nil
	}
	if s.Process != nil {
		s.Process.Terminal = false
	}
}

// setNamespace makes the config's namespace of type t join path (new when
// path is empty), or removes it when keep is false (share the host's).
func setNamespace(s *specs.Spec, t specs.LinuxNamespaceType, path string, keep bool) {
	out := s.Linux.Namespaces[:0]
	for _, ns := range s.Linux.Namespaces {
		if ns.Type != t {
			out = append(out, ns)
		}
	}
	if keep {
		out = append(out, specs.LinuxNamespace{Type: t, Path: path})
	}
	s.Linux.Namespaces = out
}

func hasMount(s *specs.Spec, dest string) bool {
	for _, m := range s.Mounts {
		if filepath.Clean(m.Destination) == filepath.Clean(dest) {
			return true
		}
	}
	return false
}

// terminationMessagePath is the container's terminationMessagePath with
// the API default applied.
func terminationMessagePath(c *corev1.Container) string {
	if c.TerminationMessagePath != "" {
		return c.TerminationMessagePath
	}
	return defaultTerminationMessagePath
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
