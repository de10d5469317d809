package spec

import (
	"encoding/json"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
)

// SeccompProfile is a seccomp profile in the Docker/containerd JSON format
// (the format of Localhost profiles): rules may be limited to
// capabilities and architectures, which are resolved for one container by
// Render.
type SeccompProfile struct {
	DefaultAction   specs.LinuxSeccompAction `json:"defaultAction"`
	DefaultErrnoRet *uint                    `json:"defaultErrnoRet,omitempty"`
	// Architectures, if set, replace the ones derived from the machine.
	Architectures []specs.Arch             `json:"architectures,omitempty"`
	Flags         []specs.LinuxSeccompFlag `json:"flags,omitempty"`
	Syscalls      []seccompRule            `json:"syscalls,omitempty"`
}

// seccompRule is one rule of a SeccompProfile.
type seccompRule struct {
	Name   string                   `json:"name,omitempty"`
	Names  []string                 `json:"names,omitempty"`
	Action specs.LinuxSeccompAction `json:"action"`
	Errno  uint                     `json:"errnoRet,omitempty"`
	Args   []specs.LinuxSeccompArg  `json:"args,omitempty"`
	// Caps, NotCaps and Arches limit the rule (Go GOARCH names).
	Caps     []string         `json:"-"`
	NotCaps  []string         `json:"-"`
	Arches   []string         `json:"-"`
	Includes *seccompSelector `json:"includes,omitempty"`
	Excludes *seccompSelector `json:"excludes,omitempty"`
}

type seccompSelector struct {
	Caps   []string `json:"caps,omitempty"`
	Arches []string `json:"arches,omitempty"`
}

// ParseSeccompProfile parses a Localhost profile in the Docker/containerd
// format (names, action, errnoRet, args, includes/excludes by caps and
// arches).
func ParseSeccompProfile(data []byte) (SeccompProfile, error) {
	var p SeccompProfile
	if err := json.Unmarshal(data, &p); err != nil {
		return p, fmt.Errorf("parse seccomp profile: %w", err)
	}
	if p.DefaultAction == "" {
		return p, fmt.Errorf("parse seccomp profile: no defaultAction")
	}
	for i := range p.Syscalls {
		r := &p.Syscalls[i]
		if r.Name != "" {
			r.Names = append(r.Names, r.Name)
		}
		if r.Includes != nil {
			r.Caps = r.Includes.Caps
			r.Arches = seccompArchesToGo(r.Includes.Arches)
		}
		if r.Excludes != nil {
			r.NotCaps = r.Excludes.Caps
		}
	}
	return p, nil
}

// seccompArchesToGo maps Docker's arch names (amd64, x86_64, arm64, ...)
// to GOARCH names.
func seccompArchesToGo(in []string) []string {
	out := make([]string, 0, len(in))
	for _, a := range in {
		switch a {
		case "x86_64", "x32":
			a = "amd64"
		case "x86":
			a = "386"
		case "aarch64":
			a = "arm64"
		}
		out = append(out, a)
	}
	return out
}

// seccompArches are the runtime-spec architectures a process of the
// machine's GOARCH may use.
func seccompArches(goarch string) []specs.Arch {
	switch goarch {
	case "amd64":
		return []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}
	case "386":
		return []specs.Arch{specs.ArchX86}
	case "arm64":
		return []specs.Arch{specs.ArchAARCH64, specs.ArchARM}
	case "arm":
		return []specs.Arch{specs.ArchARM}
	}
	return nil
}

// Render resolves the profile for a container with caps on goarch.
func (p SeccompProfile) Render(caps []string, goarch string) *specs.LinuxSeccomp {
	out := &specs.LinuxSeccomp{
		DefaultAction:   p.DefaultAction,
		DefaultErrnoRet: p.DefaultErrnoRet,
		Architectures:   p.Architectures,
		Flags:           p.Flags,
	}
	if len(out.Architectures) == 0 {
		out.Architectures = seccompArches(goarch)
	}
	for _, r := range p.Syscalls {
		if !ruleApplies(r, caps, goarch) || len(r.Names) == 0 {
			continue
		}
		sc := specs.LinuxSyscall{
			Names:  append([]string(nil), r.Names...),
			Action: r.Action,
			Args:   append([]specs.LinuxSeccompArg(nil), r.Args...),
		}
		if r.Errno != 0 {
			errno := r.Errno
			sc.ErrnoRet = &errno
		}
		out.Syscalls = append(out.Syscalls, sc)
	}
	return out
}

func ruleApplies(r seccompRule, caps []string, goarch string) bool {
	for _, c := range r.Caps {
		if !hasCap(caps, c) {
			return false
		}
	}
	for _, c := range r.NotCaps {
		if hasCap(caps, c) {
			return false
		}
	}
	if len(r.Arches) > 0 {
		for _, a := range r.Arches {
			if a == goarch {
				return true
			}
		}
		return false
	}
	return true
}

// seccompFor picks the container's seccomp: privileged containers get
// none; the container's seccompProfile, else the pod's; unset means
// RuntimeDefault unless unconfinedByDefault (the kubelet's own default,
// seccompDefault: false).
func seccompFor(in *Input, sc corev1.SecurityContext, caps []string) (*specs.LinuxSeccomp, error) {
	if sc.Privileged != nil && *sc.Privileged {
		return nil, nil
	}
	typ := corev1.SeccompProfileTypeRuntimeDefault
	if in.SeccompUnconfinedByDefault {
		typ = corev1.SeccompProfileTypeUnconfined
	}
	if sc.SeccompProfile != nil {
		typ = sc.SeccompProfile.Type
	}
	switch typ {
	case corev1.SeccompProfileTypeUnconfined:
		return nil, nil
	case corev1.SeccompProfileTypeRuntimeDefault:
		return DefaultSeccompProfile().Render(caps, in.arch()), nil
	case corev1.SeccompProfileTypeLocalhost:
		if len(in.SeccompLocalhostProfile) == 0 {
			return nil, fmt.Errorf("seccomp Localhost profile %q was not provided", localhostRef(sc))
		}
		p, err := ParseSeccompProfile(in.SeccompLocalhostProfile)
		if err != nil {
			return nil, fmt.Errorf("seccomp Localhost profile %q: %w", localhostRef(sc), err)
		}
		return p.Render(caps, in.arch()), nil
	}
	return nil, fmt.Errorf("unknown seccomp profile type %q", typ)
}

func localhostRef(sc corev1.SecurityContext) string {
	if sc.SeccompProfile != nil && sc.SeccompProfile.LocalhostProfile != nil {
		return *sc.SeccompProfile.LocalhostProfile
	}
	return ""
}

// SeccompLocalhostProfile returns the localhostProfile the container uses
// (its own seccompProfile, else the pod's) when its type is Localhost; the
// caller reads that file (relative to its seccomp directory) and passes the
// bytes as Input.SeccompLocalhostProfile.
func SeccompLocalhostProfile(pod *corev1.Pod, c *corev1.Container) (string, bool) {
	sc := effectiveSC(pod, c)
	if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeLocalhost {
		return "", false
	}
	return localhostRef(sc), true
}
