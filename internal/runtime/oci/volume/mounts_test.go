package volume

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/podrun/podrun/internal/runtime/oci/spec"
)

// setupWithData makes a pod with an emptyDir "data" holding dir/file.txt,
// a configMap volume "cfg" and a hostPath "host".
func setupWithData(t *testing.T) (*Set, string) {
	t.Helper()
	podDir := newPodDir(t)
	host := t.TempDir()
	pod := testPod(
		corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		corev1.Volume{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}}}},
		corev1.Volume{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: host}}},
	)
	set, err := Setup(context.Background(), podDir, pod, Sources{ConfigMaps: map[string]*corev1.ConfigMap{"c": {Data: map[string]string{"app.conf": "x=1"}}}})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := set.Path("data")
	if err := os.MkdirAll(filepath.Join(data, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "dir/file.txt"), []byte("inside"), 0o644); err != nil {
		t.Fatal(err)
	}
	return set, host
}

func TestMounts(t *testing.T) {
	requireRoot(t)
	set, host := setupWithData(t)
	data, _ := set.Path("data")
	cfg, _ := set.Path("cfg")
	sub := func(vol, c string, i int) string {
		return filepath.Join(set.podDir, subpathsDir, vol, c, itoa(i))
	}
	c := &corev1.Container{Name: "main", VolumeMounts: []corev1.VolumeMount{
		{Name: "data", MountPath: "/data"},
		{Name: "data", MountPath: "/ro", ReadOnly: true},
		{Name: "cfg", MountPath: "/etc/app"},
		{Name: "host", MountPath: "/host", MountPropagation: ptr.To(corev1.MountPropagationHostToContainer)},
		{Name: "data", MountPath: "/sub", SubPath: "dir"},
		{Name: "data", MountPath: "/file.txt", SubPath: "dir/file.txt"},
		{Name: "data", MountPath: "/per-pod", SubPathExpr: "pods/$(POD_NAME)"},
		{Name: "cfg", MountPath: "/app.conf", SubPath: "app.conf"},
	}}
	got, err := set.Mounts(context.Background(), c, map[string]string{"POD_NAME": "web"})
	if err != nil {
		t.Fatalf("Mounts: %v", err)
	}
	bind := func(dst, src, prop, mode string) specs.Mount {
		return specs.Mount{Destination: dst, Type: "bind", Source: src, Options: []string{"rbind", prop, mode}}
	}
	want := []specs.Mount{
		bind("/data", data, "rprivate", "rw"),
		bind("/ro", data, "rprivate", "ro"),
		bind("/etc/app", cfg, "rprivate", "ro"),
		bind("/host", host, "rslave", "rw"),
		bind("/sub", sub("data", "main", 4), "rprivate", "rw"),
		bind("/file.txt", sub("data", "main", 5), "rprivate", "rw"),
		bind("/per-pod", sub("data", "main", 6), "rprivate", "rw"),
		bind("/app.conf", sub("cfg", "main", 7), "rprivate", "ro"),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Mounts mismatch (-want +got):\n%s", diff)
	}
	if got := readFile(t, sub("data", "main", 5)); got != "inside" {
		t.Errorf("file subPath reads %q, want inside", got)
	}
	if got := readFile(t, filepath.Join(sub("data", "main", 4), "file.txt")); got != "inside" {
		t.Errorf("dir subPath reads %q, want inside", got)
	}
	if got := readFile(t, sub("cfg", "main", 7)); got != "x=1" {
		t.Errorf("configMap key subPath reads %q, want x=1", got)
	}
	if st, err := os.Stat(filepath.Join(data, "pods/web")); err != nil || !st.IsDir() {
		t.Errorf("subPathExpr directory was not created: %v", err)
	}
	// A restart of the container re-prepares its subPaths without stacking.
	if _, err := set.Mounts(context.Background(), c, map[string]string{"POD_NAME": "web"}); err != nil {
		t.Fatalf("second Mounts: %v", err)
	}
	points, _ := MountPoints()
	n := 0
	for _, p := range points {
		if p == sub("data", "main", 4) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("subPath mounted %d times after a restart, want 1", n)
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

func TestMountsConfigErrors(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		name  string
		mount corev1.VolumeMount
		env   map[string]string
		want  string
	}{
		{"unknown volume", corev1.VolumeMount{Name: "nope", MountPath: "/x"}, nil, `cannot find volume "nope" to mount into container "main"`},
		{"absolute subPath", corev1.VolumeMount{Name: "data", MountPath: "/x", SubPath: "/etc"}, nil, "error SubPath `/etc` must not be an absolute path"},
		{"backstep subPath", corev1.VolumeMount{Name: "data", MountPath: "/x", SubPath: "dir/../../x"}, nil, "unable to provision SubPath `dir/../../x`: must not contain '..'"},
		{"backstep via subPathExpr", corev1.VolumeMount{Name: "data", MountPath: "/x", SubPathExpr: "$(P)"}, map[string]string{"P": "../.."}, "unable to provision SubPath `../..`: must not contain '..'"},
		{"unknown variable", corev1.VolumeMount{Name: "data", MountPath: "/x", SubPathExpr: "$(A)/$(B)"}, map[string]string{"A": ""}, "missing value for A, B"},
		{"subPath through a file", corev1.VolumeMount{Name: "data", MountPath: "/x", SubPath: "dir/file.txt/deeper"}, nil, `failed to prepare subPath for volumeMount "data" of container "main"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, _ := setupWithData(t)
			c := &corev1.Container{Name: "main", VolumeMounts: []corev1.VolumeMount{tc.mount}}
			_, err := set.Mounts(context.Background(), c, tc.env)
			msg, ok := spec.IsConfigError(err)
			if !ok || msg != tc.want {
				t.Fatalf("Mounts error = %v\nwant ConfigError %q", err, tc.want)
			}
		})
	}
}

// TestTeardownKeepsHostPathContent: a subPath of a hostPath is a bind of a
// host directory under the pod directory; Teardown must unmount it before
// removing anything, so the host's files survive.
func TestTeardownKeepsHostPathContent(t *testing.T) {
	requireRoot(t)
	set, host := setupWithData(t)
	mkdir(t, filepath.Join(host, "sub"))
	precious := filepath.Join(host, "sub", "precious")
	if err := os.WriteFile(precious, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &corev1.Container{Name: "main", VolumeMounts: []corev1.VolumeMount{
		{Name: "host", MountPath: "/h", SubPath: "sub"},
		{Name: "host", MountPath: "/p", SubPath: "sub/precious"},
	}}
	ms, err := set.Mounts(context.Background(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(ms[0].Source, "precious")); got != "keep me" {
		t.Fatalf("hostPath subPath reads %q", got)
	}
	if err := set.Teardown(context.Background()); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	if got := readFile(t, precious); got != "keep me" {
		t.Errorf("host file after Teardown = %q", got)
	}
	assertNothingMounted(t, set.podDir)
}
