package oci

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

// probeScript prints what a container can see of its own confinement, one
// key=value per line.
const probeScript = "grep -E '^(CapEff|CapBnd|CapPrm|NoNewPrivs|Seccomp):' /proc/self/status | tr -d '\\t' | sed 's/:/=/'\n" +
	"echo timer_list=`wc -c < /proc/timer_list`\n" +
	"echo firmware=`ls -A /sys/firmware 2>/dev/null | wc -l`\n" +
	"echo keys=`wc -c < /proc/keys`\n" +
	"echo acpi=`ls -A /proc/acpi 2>/dev/null | wc -l`\n" +
	"if echo x 2>/dev/null > /proc/sys/kernel/domainname; then echo procsys=rw; else echo procsys=ro; fi\n" +
	"if touch /sys/podrun-probe 2>/dev/null; then echo sys=rw; else echo sys=ro; fi\n"

// containerdDefaults is what a container of a pod without security
// settings sees under containerd with the kubelet's defaults: containerd's
// 14 capabilities (0xa80425fb), no seccomp filter (seccompDefault off),
// no_new_privs unset, masked and read-only /proc paths, read-only /sys.
// (The masked paths probed are ones this kernel has: /proc/kcore may not
// exist.)
var containerdDefaults = map[string]string{
	"CapEff": "00000000a80425fb", "CapBnd": "00000000a80425fb", "CapPrm": "00000000a80425fb",
	"NoNewPrivs": "0", "Seccomp": "0",
	"timer_list": "0", "firmware": "0", "keys": "0", "acpi": "0", "procsys": "ro", "sys": "ro",
}

// with returns a copy of m with changes applied.
func with(m map[string]string, changes ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for _, c := range changes {
		k, v, _ := strings.Cut(c, "=")
		out[k] = v
	}
	return out
}

// TestE2EHardening runs a probe container that reports its capabilities,
// seccomp mode, no_new_privs and masked paths, and compares them with
// containerd's defaults and with what securityContext asks for.
func TestE2EHardening(t *testing.T) {
	t.Parallel()
	f := false
	for _, tc := range []struct {
		name           string
		seccompDefault bool
		sc             *corev1.SecurityContext
		want           map[string]string
	}{
		{name: "defaults are containerd's", want: containerdDefaults},
		{
			name: "allowPrivilegeEscalation false and RuntimeDefault seccomp",
			sc: &corev1.SecurityContext{AllowPrivilegeEscalation: &f,
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			want: with(containerdDefaults, "NoNewPrivs=1", "Seccomp=2"),
		},
		{
			name: "drop ALL, add NET_BIND_SERVICE",
			sc: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{
				Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_BIND_SERVICE"}}},
			want: with(containerdDefaults, "CapEff=0000000000000400", "CapBnd=0000000000000400", "CapPrm=0000000000000400"),
		},
		{name: "seccompDefault gives RuntimeDefault", seccompDefault: true, want: with(containerdDefaults, "Seccomp=2")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := newTestRuntime(t, func(o *Options) { o.SeccompDefault = tc.seccompDefault })
			c := sh("probe", probeScript)
			c.SecurityContext = tc.sc
			pod := testPod("probe-pod", c)
			sb := tr.sandbox(pod)
			st := tr.wait(tr.run(sb, pod, "probe"))
			got := map[string]string{}
			for _, line := range logContent(t, st.LogPath) {
				_, kv, _ := strings.Cut(line, " F ")
				if k, v, ok := strings.Cut(kv, "="); ok {
					got[k] = v
				} else {
					t.Errorf("probe printed %q", line)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("probe (-want +got):\n%s", diff)
			}
		})
	}
}
