package spec

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestCapabilities(t *testing.T) {
	caps := func(add, drop []corev1.Capability) corev1.SecurityContext {
		return corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: add, Drop: drop}}
	}
	for _, tc := range []struct {
		name string
		sc   corev1.SecurityContext
		want []string
	}{
		{"default", corev1.SecurityContext{}, DefaultCapabilities},
		{"drop all", caps(nil, []corev1.Capability{"ALL"}), []string{}},
		{"drop all add one", caps([]corev1.Capability{"NET_BIND_SERVICE"}, []corev1.Capability{"ALL"}), []string{"CAP_NET_BIND_SERVICE"}},
		{"drop some, add with prefix and lower case", caps([]corev1.Capability{"cap_sys_time", "NET_ADMIN"}, []corev1.Capability{"NET_RAW", "MKNOD", "KILL", "AUDIT_WRITE", "SETFCAP", "SETPCAP", "SYS_CHROOT", "FSETID", "FOWNER", "DAC_OVERRIDE", "CHOWN", "SETUID", "SETGID"}),
			[]string{"CAP_NET_BIND_SERVICE", "CAP_SYS_TIME", "CAP_NET_ADMIN"}},
		{"add all", caps([]corev1.Capability{"ALL"}, nil), mergeCaps(DefaultCapabilities, AllCapabilities)},
		{"add all drop one", caps([]corev1.Capability{"all"}, []corev1.Capability{"SYS_ADMIN"}), without(mergeCaps(DefaultCapabilities, AllCapabilities), "CAP_SYS_ADMIN")},
		{"privileged", corev1.SecurityContext{Privileged: ptr.To(true), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}, AllCapabilities},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, capabilities(tc.sc)); diff != "" {
				t.Errorf("capabilities mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func mergeCaps(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range append(append([]string{}, a...), b...) {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

func without(list []string, drop string) []string {
	var out []string
	for _, c := range list {
		if c != drop {
			out = append(out, c)
		}
	}
	return out
}

func TestNoNewPrivileges(t *testing.T) {
	for _, tc := range []struct {
		name      string
		sc        corev1.SecurityContext
		caps      []string
		byDefault bool
		want      bool
	}{
		{"unset: kubelet leaves it off", corev1.SecurityContext{}, DefaultCapabilities, false, false},
		{"explicit false", corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false)}, DefaultCapabilities, false, true},
		{"explicit true", corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(true)}, DefaultCapabilities, true, false},
		{"unset, hardened default", corev1.SecurityContext{}, DefaultCapabilities, true, true},
		{"unset, hardened default, CAP_SYS_ADMIN", corev1.SecurityContext{}, []string{"CAP_SYS_ADMIN"}, true, false},
		{"privileged", corev1.SecurityContext{Privileged: ptr.To(true)}, AllCapabilities, true, false},
	} {
		if got := noNewPrivileges(tc.sc, tc.caps, tc.byDefault); got != tc.want {
			t.Errorf("%s: noNewPrivileges = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestResources(t *testing.T) {
	for _, tc := range []struct {
		milli      int64
		wantShares uint64
		wantQuota  int64
	}{
		{0, 2, 0},
		{1, 2, 1000},
		{5, 5, 1000},
		{250, 256, 25000},
		{1000, 1024, 100000},
		{1500, 1536, 150000},
		{1000000, 262144, 100000000},
	} {
		if got := MilliCPUToShares(tc.milli); got != tc.wantShares {
			t.Errorf("MilliCPUToShares(%d) = %d, want %d", tc.milli, got, tc.wantShares)
		}
		if got := MilliCPUToQuota(tc.milli, quotaPeriod); got != tc.wantQuota {
			t.Errorf("MilliCPUToQuota(%d) = %d, want %d", tc.milli, got, tc.wantQuota)
		}
	}
}

func TestPodHostname(t *testing.T) {
	long := "a123456789-123456789-123456789-123456789-123456789-123456789-1-.x"
	for _, tc := range []struct {
		name, hostname, want string
	}{
		{"web", "", "web"},
		{"web", "custom", "custom"},
		{long, "", "a123456789-123456789-123456789-123456789-123456789-123456789-1"},
		{"a123456789-123456789-123456789-123456789-123456789-1234567890-.z", "", "a123456789-123456789-123456789-123456789-123456789-1234567890"},
	} {
		pod := basePod()
		pod.Name, pod.Spec.Hostname = tc.name, tc.hostname
		if got := PodHostname(pod); got != tc.want {
			t.Errorf("PodHostname(%q, %q) = %q, want %q", tc.name, tc.hostname, got, tc.want)
		}
	}
}
