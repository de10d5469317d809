package volume

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

func TestSetupAllKinds(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	podDir := newPodDir(t)
	hostDir := filepath.Join(t.TempDir(), "host", "data")
	limit := resource.MustParse("8Mi")
	pod := testPod(
		corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		corev1.Volume{Name: "mem", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: &limit}}},
		corev1.Volume{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: hostDir, Type: ptr.To(corev1.HostPathDirectoryOrCreate)}}},
		corev1.Volume{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "app-config"},
			Items:                []corev1.KeyToPath{{Key: "app.conf", Path: "conf/app.conf", Mode: ptr.To[int32](0o600)}, {Key: "bin", Path: "blob"}},
		}}},
		corev1.Volume{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds", DefaultMode: ptr.To[int32](0o400)}}},
		corev1.Volume{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
			{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
			{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}},
			{Path: "mem_mi", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "main", Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}},
		}}}},
		corev1.Volume{Name: "all", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "app-config"}, Items: []corev1.KeyToPath{{Key: "app.conf", Path: "app.conf"}}}},
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "ns", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
		}}}},
	)
	pod.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}
	src := Sources{
		ConfigMaps: map[string]*corev1.ConfigMap{"app-config": {
			Data:       map[string]string{"app.conf": "debug=true\n", "unused": "x"},
			BinaryData: map[string][]byte{"bin": {0, 1, 2}},
		}},
		Secrets: map[string]*corev1.Secret{"creds": {Data: map[string][]byte{"user": []byte("admin")}, StringData: map[string]string{"pass": "pw"}}},
	}
	set, err := Setup(ctx, podDir, pod, src)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}

	scratch, _ := set.Path("scratch")
	if got := fileMode(t, scratch); got != os.ModeDir|0o777 {
		t.Errorf("emptyDir mode = %v, want drwxrwxrwx", got)
	}
	mem, _ := set.Path("mem")
	var fs unix.Statfs_t
	if err := unix.Statfs(mem, &fs); err != nil {
		t.Fatal(err)
	}
	if fs.Type != unix.TMPFS_MAGIC || uint64(fs.Blocks)*uint64(fs.Bsize) != 8<<20 {
		t.Errorf("memory emptyDir: fs type %x size %d, want tmpfs of 8Mi", fs.Type, uint64(fs.Blocks)*uint64(fs.Bsize))
	}
	if got, _ := set.Path("host"); got != hostDir || !fileMode(t, hostDir).IsDir() {
		t.Errorf("hostPath = %q (dir %v), want created %q", got, fileMode(t, hostDir).IsDir(), hostDir)
	}

	cfg, _ := set.Path("cfg")
	files := map[string]string{
		filepath.Join(cfg, "conf/app.conf"):               "debug=true\n",
		filepath.Join(cfg, "blob"):                        "\x00\x01\x02",
		filepath.Join(set.podDir, "volumes/sec/user"):     "admin",
		filepath.Join(set.podDir, "volumes/sec/pass"):     "pw",
		filepath.Join(set.podDir, "volumes/info/name"):    "web",
		filepath.Join(set.podDir, "volumes/info/labels"):  "app=\"web\"\ntier=\"front\"",
		filepath.Join(set.podDir, "volumes/info/mem_mi"):  "64",
		filepath.Join(set.podDir, "volumes/all/app.conf"): "debug=true\n",
		filepath.Join(set.podDir, "volumes/all/user"):     "admin",
		filepath.Join(set.podDir, "volumes/all/ns"):       "default",
	}
	for p, want := range files {
		if got := readFile(t, p); got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(cfg, "unused")); !os.IsNotExist(err) {
		t.Errorf("key outside items was written: %v", err)
	}
	if _, err := os.Stat(filepath.Join(set.podDir, "volumes/all/token")); !os.IsNotExist(err) {
		t.Errorf("serviceAccountToken was written: %v", err)
	}
	for p, want := range map[string]os.FileMode{
		filepath.Join(cfg, "conf/app.conf"):           0o600,
		filepath.Join(cfg, "blob"):                    0o644,
		filepath.Join(set.podDir, "volumes/sec/user"): 0o400,
	} {
		if got := fileMode(t, p).Perm(); got != want {
			t.Errorf("mode of %s = %v, want %v", p, got, want)
		}
	}
	// The atomic-writer layout.
	data, err := os.Readlink(filepath.Join(cfg, "..data"))
	if err != nil || !strings.HasPrefix(data, "..") {
		t.Errorf("..data -> %q (%v), want a ..<random> directory", data, err)
	}
	if l, err := os.Readlink(filepath.Join(cfg, "conf")); err != nil || l != "..data/conf" {
		t.Errorf("conf -> %q (%v), want ..data/conf", l, err)
	}
	for _, name := range []string{"sec", "info", "all"} {
		if p := filepath.Join(set.podDir, "volumes", name); !mountedAt(t, p) {
			t.Errorf("%s is not on its own tmpfs", p)
		}
	}

	if err := set.Teardown(ctx); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	assertNothingMounted(t, podDir)
	for _, d := range []string{volumesDir, subpathsDir} {
		if _, err := os.Stat(filepath.Join(podDir, d)); !os.IsNotExist(err) {
			t.Errorf("%s left behind: %v", d, err)
		}
	}
	if _, err := os.Stat(hostDir); err != nil {
		t.Errorf("Teardown touched the hostPath: %v", err)
	}
	if err := set.Teardown(ctx); err != nil {
		t.Errorf("second Teardown: %v", err)
	}
}

func TestSetupIsIdempotentAndUpdatesAtomically(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	podDir := newPodDir(t)
	pod := testPod(
		corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
		corev1.Volume{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}}}},
	)
	cms := map[string]*corev1.ConfigMap{"c": {Data: map[string]string{"a": "1", "b": "2"}}}
	set, err := Setup(ctx, podDir, pod, Sources{ConfigMaps: cms})
	if err != nil {
		t.Fatal(err)
	}
	scratch, _ := set.Path("scratch")
	if err := os.WriteFile(filepath.Join(scratch, "keep"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cms["c"] = &corev1.ConfigMap{Data: map[string]string{"a": "changed"}}
	set, err = Setup(ctx, podDir, pod, Sources{ConfigMaps: cms})
	if err != nil {
		t.Fatalf("second Setup: %v", err)
	}
	if got := readFile(t, filepath.Join(scratch, "keep")); got != "x" {
		t.Errorf("emptyDir content lost across Setup: %q", got)
	}
	points, _ := MountPoints()
	n := 0
	for _, p := range points {
		if p == scratch {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%s mounted %d times, want 1", scratch, n)
	}
	cfg, _ := set.Path("cfg")
	if got := readFile(t, filepath.Join(cfg, "a")); got != "changed" {
		t.Errorf("a = %q, want changed", got)
	}
	entries, _ := os.ReadDir(cfg)
	var names []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "..") || e.Name() == "..data" {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	if diff := cmp.Diff([]string{"..data", "a"}, names); diff != "" {
		t.Errorf("configMap dir after update (-want +got):\n%s", diff)
	}
	if len(entries) != 3 {
		t.Errorf("old versions left behind: %d entries", len(entries))
	}
}

func TestSetupErrors(t *testing.T) {
	requireRoot(t)
	cm := func(name string, optional *bool, items ...corev1.KeyToPath) corev1.VolumeSource {
		return corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Optional: optional, Items: items}}
	}
	for _, tc := range []struct {
		name    string
		source  corev1.VolumeSource
		wantErr string // "" = success
	}{
		{"missing configmap", cm("nope", nil), `MountVolume.SetUp failed for volume "v" : configmap "nope" not found`},
		{"optional missing configmap", cm("nope", ptr.To(true)), ""},
		{"missing item key", cm("c", nil, corev1.KeyToPath{Key: "zz", Path: "zz"}), `MountVolume.SetUp failed for volume "v" : configmap references non-existent config key: zz`},
		{"optional missing item key", cm("c", ptr.To(true), corev1.KeyToPath{Key: "zz", Path: "zz"}), ""},
		{"item path escaping", cm("c", nil, corev1.KeyToPath{Key: "a", Path: "../evil"}), `MountVolume.SetUp failed for volume "v" : invalid path "../evil": must not contain '..'`},
		{"missing secret", corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}, `MountVolume.SetUp failed for volume "v" : secret "s" not found`},
		{"unsupported", corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "x", Path: "/"}}, `MountVolume.SetUp failed for volume "v" : volume type not supported by podrun`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			podDir := newPodDir(t)
			pod := testPod(corev1.Volume{Name: "v", VolumeSource: tc.source})
			_, err := Setup(context.Background(), podDir, pod, Sources{ConfigMaps: map[string]*corev1.ConfigMap{"c": {Data: map[string]string{"a": "1"}}}})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Setup: %v", err)
				}
				return
			}
			var me *MountError
			if !errors.As(err, &me) || err.Error() != tc.wantErr {
				t.Fatalf("Setup error = %v\nwant *MountError %q", err, tc.wantErr)
			}
		})
	}
}

func TestHostPathTypes(t *testing.T) {
	requireRoot(t)
	base := t.TempDir()
	dir := filepath.Join(base, "dir")
	file := filepath.Join(base, "file")
	sock := filepath.Join(base, "sock")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mknod(sock, unix.S_IFSOCK|0o600, 0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path    string
		typ     corev1.HostPathType
		wantErr string
		created bool
	}{
		{filepath.Join(base, "absent"), corev1.HostPathUnset, "", false},
		{dir, corev1.HostPathDirectory, "", false},
		{file, corev1.HostPathDirectory, "hostPath type check failed: " + file + " is not a directory", false},
		{filepath.Join(base, "absent"), corev1.HostPathDirectory, "hostPath type check failed: " + filepath.Join(base, "absent") + " is not a directory", false},
		{filepath.Join(base, "new/sub"), corev1.HostPathDirectoryOrCreate, "", true},
		{file, corev1.HostPathDirectoryOrCreate, "hostPath type check failed: " + file + " is not a directory", false},
		{file, corev1.HostPathFile, "", false},
		{dir, corev1.HostPathFile, "hostPath type check failed: " + dir + " is not a file", false},
		{filepath.Join(base, "newfile"), corev1.HostPathFileOrCreate, "", true},
		{dir, corev1.HostPathFileOrCreate, "hostPath type check failed: " + dir + " is not a file", false},
		{sock, corev1.HostPathSocket, "", false},
		{file, corev1.HostPathSocket, "hostPath type check failed: " + file + " is not a socket file", false},
		{"/dev/null", corev1.HostPathCharDev, "", false},
		{file, corev1.HostPathCharDev, "hostPath type check failed: " + file + " is not a character device", false},
		{"/dev/null", corev1.HostPathBlockDev, "hostPath type check failed: /dev/null is not a block device", false},
	} {
		t.Run(string(tc.typ)+" "+filepath.Base(tc.path), func(t *testing.T) {
			err := checkHostPath(&corev1.HostPathVolumeSource{Path: tc.path, Type: ptr.To(tc.typ)})
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.wantErr {
				t.Fatalf("checkHostPath(%s, %q) = %q, want %q", tc.path, tc.typ, got, tc.wantErr)
			}
			if tc.created {
				if _, err := os.Stat(tc.path); err != nil {
					t.Errorf("%s was not created: %v", tc.path, err)
				}
			}
		})
	}
}

func TestFSGroupOwnership(t *testing.T) {
	requireRoot(t)
	podDir := newPodDir(t)
	pod := testPod(
		corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		corev1.Volume{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", DefaultMode: ptr.To[int32](0o400)}}},
	)
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: ptr.To[int64](2000)}
	set, err := Setup(context.Background(), podDir, pod, Sources{Secrets: map[string]*corev1.Secret{"s": {Data: map[string][]byte{"k": []byte("v")}}}})
	if err != nil {
		t.Fatal(err)
	}
	scratch, _ := set.Path("scratch")
	sec, _ := set.Path("sec")
	for p, want := range map[string]os.FileMode{
		scratch:                      os.ModeDir | os.ModeSetgid | 0o777,
		filepath.Join(sec, "k"):      0o440,
		filepath.Join(sec, "..data"): os.ModeDir | os.ModeSetgid | 0o755,
	} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != want {
			t.Errorf("mode of %s = %v, want %v", p, st.Mode(), want)
		}
		var s unix.Stat_t
		if err := unix.Stat(p, &s); err != nil || s.Gid != 2000 {
			t.Errorf("group of %s = %d (%v), want 2000", p, s.Gid, err)
		}
	}
}
