package spec

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// allowed reports whether the rendered profile has an unconditional allow
// rule for name, and whether any rule mentions it at all.
func allowed(p *specs.LinuxSeccomp, name string) (unconditional, mentioned bool) {
	for _, r := range p.Syscalls {
		for _, n := range r.Names {
			if n != name {
				continue
			}
			mentioned = true
			if r.Action == specs.ActAllow && len(r.Args) == 0 {
				unconditional = true
			}
		}
	}
	return unconditional, mentioned
}

func TestDefaultSeccompProfile(t *testing.T) {
	for _, tc := range []struct {
		name          string
		caps          []string
		arch          string
		syscall       string
		wantAllowed   bool
		wantMentioned bool
	}{
		{"read is allowed", DefaultCapabilities, "amd64", "read", true, true},
		{"mount needs CAP_SYS_ADMIN", DefaultCapabilities, "amd64", "mount", false, false},
		{"mount with CAP_SYS_ADMIN", append([]string{"CAP_SYS_ADMIN"}, DefaultCapabilities...), "amd64", "mount", true, true},
		{"clone is filtered without CAP_SYS_ADMIN", DefaultCapabilities, "amd64", "clone", false, true},
		{"clone is free with CAP_SYS_ADMIN", []string{"CAP_SYS_ADMIN"}, "amd64", "clone", true, true},
		{"chroot with default caps", DefaultCapabilities, "amd64", "chroot", true, true},
		{"chroot after dropping SYS_CHROOT", []string{"CAP_CHOWN"}, "amd64", "chroot", false, false},
		{"keyctl is never allowed", AllCapabilities, "amd64", "keyctl", false, false},
		{"arch_prctl on amd64", nil, "amd64", "arch_prctl", true, true},
		{"arch_prctl not on arm64", nil, "arm64", "arch_prctl", false, false},
		{"reboot needs CAP_SYS_BOOT", DefaultCapabilities, "amd64", "reboot", false, false},
		{"personality only with listed args", DefaultCapabilities, "amd64", "personality", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultSeccompProfile().Render(tc.caps, tc.arch)
			a, m := allowed(p, tc.syscall)
			if a != tc.wantAllowed || m != tc.wantMentioned {
				t.Errorf("%s: allowed=%v mentioned=%v, want %v %v", tc.syscall, a, m, tc.wantAllowed, tc.wantMentioned)
			}
			if p.DefaultAction != specs.ActErrno || p.DefaultErrnoRet == nil || *p.DefaultErrnoRet != 1 {
				t.Errorf("default action %v errno %v, want SCMP_ACT_ERRNO EPERM", p.DefaultAction, p.DefaultErrnoRet)
			}
		})
	}
}

func TestSeccompLocalhost(t *testing.T) {
	profile := []byte(`{
	  "defaultAction": "SCMP_ACT_ALLOW",
	  "syscalls": [
	    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
	    {"name": "unshare", "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
	    {"names": ["iopl"], "action": "SCMP_ACT_ERRNO", "includes": {"arches": ["arm64"]}}
	  ]
	}`)
	pod := basePod()
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("profiles/deny-mkdir.json")}}
	c := &pod.Spec.Containers[0]
	ref, ok := SeccompLocalhostProfile(pod, c)
	if !ok || ref != "profiles/deny-mkdir.json" {
		t.Fatalf("SeccompLocalhostProfile = %q, %v", ref, ok)
	}
	in := baseInput(pod)
	in.SeccompLocalhostProfile = profile
	s, err := Generate(in)
	if err != nil {
		t.Fatal(err)
	}
	thirteen := uint(13)
	want := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: &thirteen},
			{Names: []string{"unshare"}, Action: specs.ActErrno},
		},
	}
	if diff := cmp.Diff(want, s.Linux.Seccomp); diff != "" {
		t.Errorf("seccomp mismatch (-want +got):\n%s", diff)
	}
	if _, err := ParseSeccompProfile([]byte(`{"syscalls": []}`)); err == nil {
		t.Error("a profile without defaultAction was accepted")
	}
}

func TestSeccompSelection(t *testing.T) {
	for _, tc := range []struct {
		name       string
		pod, ctr   *corev1.SeccompProfile
		privileged bool
		unconfined bool
		wantNil    bool
	}{
		{name: "unset gives RuntimeDefault"},
		{name: "unset with kubelet default", unconfined: true, wantNil: true},
		{name: "pod Unconfined", pod: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}, wantNil: true},
		{name: "container overrides pod", pod: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}, ctr: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		{name: "privileged", ctr: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}, privileged: true, wantNil: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := basePod()
			pod.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: tc.pod}
			c := &pod.Spec.Containers[0]
			c.SecurityContext = &corev1.SecurityContext{SeccompProfile: tc.ctr, Privileged: ptr.To(tc.privileged)}
			in := baseInput(pod)
			in.SeccompUnconfinedByDefault = tc.unconfined
			s, err := Generate(in)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Linux.Seccomp == nil; got != tc.wantNil {
				t.Errorf("seccomp nil = %v, want %v", got, tc.wantNil)
			}
		})
	}
}
