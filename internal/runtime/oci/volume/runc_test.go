package volume

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/podrun/podrun/internal/runtime/oci/spec"
)

// TestRuncEndToEnd runs one container under runc with a config from
// spec.Generate and mounts from this package, and checks from inside what
// the container sees: volume contents, a subPath, a subPathExpr, read-only
// API data, env from the downward API and a ConfigMap, and the hardening
// (containerd's capability set, no_new_privs, seccomp filter mode). It
// needs PODRUN_E2E=1, root, runc and a static busybox.
func TestRuncEndToEnd(t *testing.T) {
	if os.Getenv("PODRUN_E2E") == "" {
		t.Skip("set PODRUN_E2E=1 to run containers")
	}
	requireRoot(t)
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("runc not installed")
	}
	busybox := "/bin/busybox"
	if _, err := os.Stat(busybox); err != nil {
		t.Skip("busybox not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	bundle := t.TempDir()
	rootfs := filepath.Join(bundle, "rootfs")
	mkdir(t, filepath.Join(rootfs, "bin"))
	data, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin/busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, applet := range []string{"sh", "cat", "grep", "ls"} {
		symlink(t, "busybox", filepath.Join(rootfs, "bin", applet))
	}

	pod := testPod(
		corev1.Volume{Name: "shared", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		corev1.Volume{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "app"}}}},
		corev1.Volume{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds"}}},
	)
	script := strings.Join([]string{
		`echo "cfg=$(cat /etc/app/app.conf)"`,
		`echo "secret=$(cat /token)"`,
		`echo "env=$POD_NAME/$MODE"`,
		`echo hello > /shared/out`,
		`echo mine > /mine/f`,
		`( : > /etc/app/x ) 2>/dev/null; echo "ro=$?"`,
		`grep -E '^(CapBnd|CapEff|NoNewPrivs|Seccomp):' /proc/self/status`,
	}, "; ")
	pod.Spec.Containers[0] = corev1.Container{
		Name:    "main",
		Command: []string{"sh", "-c", script},
		Env: []corev1.EnvVar{
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "MODE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "app"}, Key: "mode"}}},
		},
		VolumeMounts: []corev1.VolumeMount{
			{Name: "shared", MountPath: "/shared"},
			{Name: "cfg", MountPath: "/etc/app"},
			{Name: "sec", MountPath: "/token", SubPath: "token"},
			{Name: "shared", MountPath: "/mine", SubPathExpr: "$(POD_NAME)"},
		},
		SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false)},
	}
	src := Sources{
		ConfigMaps: map[string]*corev1.ConfigMap{"app": {Data: map[string]string{"app.conf": "debug=1", "mode": "fast"}}},
		Secrets:    map[string]*corev1.Secret{"creds": {Data: map[string][]byte{"token": []byte("t0ken")}}},
	}
	podDir := newPodDir(t)
	set, err := Setup(ctx, podDir, pod, src)
	if err != nil {
		t.Fatal(err)
	}
	in := spec.Input{
		Pod:         pod,
		Container:   &pod.Spec.Containers[0],
		Image:       &v1.ConfigFile{Config: v1.Config{Env: []string{"PATH=/bin"}}},
		ConfigMaps:  src.ConfigMaps,
		Secrets:     src.Secrets,
		Rootfs:      rootfs,
		CgroupsPath: fmt.Sprintf("/podrun-volume-e2e-%d", os.Getpid()),
	}
	env, err := spec.Env(&in)
	if err != nil {
		t.Fatal(err)
	}
	if in.Mounts, err = set.Mounts(ctx, in.Container, spec.EnvMap(env)); err != nil {
		t.Fatal(err)
	}
	s, err := spec.Generate(in)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("podrun-volume-e2e-%d", os.Getpid())
	state := t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, runc, "--root", state, "run", "--bundle", bundle, id)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		_ = exec.Command(runc, "--root", state, "delete", "--force", id).Run()
		t.Fatalf("runc run: %v\nstderr: %s\nstdout: %s", err, stderr.String(), stdout.String())
	}
	want := strings.Join([]string{
		"cfg=debug=1",
		"secret=t0ken",
		"env=web/fast",
		"ro=1",
		"CapEff:\t00000000a80425fb",
		"CapBnd:\t00000000a80425fb",
		"NoNewPrivs:\t1",
		"Seccomp:\t2",
	}, "\n") + "\n"
	if diff := cmp.Diff(want, stdout.String()); diff != "" {
		t.Errorf("container output mismatch (-want +got):\n%s\nstderr: %s", diff, stderr.String())
	}
	shared, _ := set.Path("shared")
	if got := readFile(t, filepath.Join(shared, "out")); got != "hello\n" {
		t.Errorf("emptyDir file written by the container = %q", got)
	}
	if got := readFile(t, filepath.Join(shared, "web", "f")); got != "mine\n" {
		t.Errorf("file written through the subPathExpr mount = %q", got)
	}
	for _, ctrl := range []string{"memory", "cpu", "pids", "unified"} {
		p := filepath.Join("/sys/fs/cgroup", ctrl, in.CgroupsPath)
		if _, err := os.Stat(p); err == nil {
			t.Errorf("cgroup %s left behind", p)
			_ = os.Remove(p)
		}
	}
}
