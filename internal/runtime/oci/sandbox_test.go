package oci

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestHostsFiles(t *testing.T) {
	aliases := []corev1.HostAlias{{IP: "10.0.0.1", Hostnames: []string{"db", "db.local"}}}
	header := "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n"
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{name: "pod", got: managedHosts("127.0.0.1", "web", "", nil), want: header + "127.0.0.1\tweb\n"},
		{name: "pod with subdomain and aliases", got: managedHosts("127.0.0.1", "web", "svc.ns.svc.cluster.local", aliases),
			want: header + "127.0.0.1\tweb.svc.ns.svc.cluster.local\tweb\n\n# Entries added by HostAliases.\n10.0.0.1\tdb\tdb.local\n"},
		{name: "host network", got: hostNetworkHosts([]byte("127.0.0.1 localhost"), aliases),
			want: "# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost\n\n# Entries added by HostAliases.\n10.0.0.1\tdb\tdb.local\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, string(tc.got)); diff != "" {
				t.Errorf("hosts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSandboxIDIsStablePerPodAndAttempt(t *testing.T) {
	pod := &corev1.Pod{}
	pod.UID = "u1"
	a, b := sandboxID(pod, 0), sandboxID(pod, 1)
	if a == b || a != sandboxID(pod, 0) || len(a) != 24 {
		t.Errorf("sandboxID(attempt 0) = %q, (attempt 1) = %q: want stable, distinct, 24 characters", a, b)
	}
}
