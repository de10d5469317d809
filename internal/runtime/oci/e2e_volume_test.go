package oci

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/internal/runtime"
)

// TestE2ESharedEmptyDir writes a file in one container and reads it in a
// sibling through a shared emptyDir, also through a subPath.
func TestE2ESharedEmptyDir(t *testing.T) {
	t.Parallel()
	tr := newTestRuntime(t)
	writer := sh("writer", "mkdir -p /data/sub && echo hello > /data/msg && echo nested > /data/sub/file")
	writer.VolumeMounts = []corev1.VolumeMount{{Name: "shared", MountPath: "/data"}}
	reader := sh("reader", "cat /in/msg /sub/file; if touch /in/x 2>/dev/null; then echo writable; else echo read-only; fi")
	reader.VolumeMounts = []corev1.VolumeMount{
		{Name: "shared", MountPath: "/in", ReadOnly: true},
		{Name: "shared", MountPath: "/sub", SubPath: "sub"},
	}
	pod := testPod("emptydir-pod", writer, reader)
	pod.Spec.Volumes = []corev1.Volume{{Name: "shared", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	sb := tr.sandbox(pod)
	if st := tr.wait(tr.run(sb, pod, "writer")); st.ExitCode != 0 {
		t.Fatalf("writer exit %d; log %q", st.ExitCode, logContent(t, st.LogPath))
	}
	st := tr.wait(tr.run(sb, pod, "reader"))
	want := []string{"stdout F hello", "stdout F nested", "stdout F read-only"}
	if diff := cmp.Diff(want, logContent(t, st.LogPath)); diff != "" {
		t.Errorf("reader log (-want +got):\n%s", diff)
	}
}

// TestE2EAPIVolumes reads configMap, secret and downward API volumes and
// env references.
func TestE2EAPIVolumes(t *testing.T) {
	t.Parallel()
	tr := newTestRuntime(t)
	c := sh("main", "cat /cfg/greeting; echo; cat /secret/password; echo; cat /info/name; echo; echo $GREETING $POD_NAME")
	c.VolumeMounts = []corev1.VolumeMount{
		{Name: "cfg", MountPath: "/cfg"}, {Name: "secret", MountPath: "/secret"}, {Name: "info", MountPath: "/info"},
	}
	c.Env = []corev1.EnvVar{
		{Name: "GREETING", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Key: "greeting"}}},
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
	}
	pod := testPod("api-pod", c)
	pod.Spec.Volumes = []corev1.Volume{
		{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}},
		{Name: "secret", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds"}}},
		{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
			Items: []corev1.DownwardAPIVolumeFile{{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}}},
	}
	cfg := runtime.SandboxConfig{
		Pod:        pod,
		LogDir:     tr.logDir,
		ConfigMaps: map[string]*corev1.ConfigMap{"settings": {ObjectMeta: metav1.ObjectMeta{Name: "settings"}, Data: map[string]string{"greeting": "hi"}}},
		Secrets:    map[string]*corev1.Secret{"creds": {ObjectMeta: metav1.ObjectMeta{Name: "creds"}, Data: map[string][]byte{"password": []byte("s3cret")}}},
	}
	sb, err := tr.RunPodSandbox(context.Background(), cfg)
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	t.Cleanup(func() {
		if err := tr.RemovePodSandbox(context.Background(), sb); err != nil {
			t.Errorf("RemovePodSandbox: %v", err)
		}
	})
	st := tr.wait(tr.run(sb, pod, "main"))
	want := []string{"stdout F hi", "stdout F s3cret", "stdout F api-pod", "stdout F hi api-pod"}
	if diff := cmp.Diff(want, logContent(t, st.LogPath)); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}

// TestE2EConfigErrors checks that a missing ConfigMap key and a subPath
// escaping its volume are CreateContainerConfigErrors.
func TestE2EConfigErrors(t *testing.T) {
	t.Parallel()
	tr := newTestRuntime(t)
	missing := sh("missing", "true")
	missing.Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Key: "k"}}}}
	escape := sh("escape", "true")
	escape.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data", SubPath: "../../etc"}}
	pod := testPod("config-error-pod", missing, escape)
	pod.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	sb := tr.sandbox(pod)
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		_, err := tr.CreateContainer(context.Background(), sb, runtime.ContainerConfig{
			Name: c.Name, Pod: pod, Container: c, Image: c.Image, LogPath: tr.logDir + "/" + c.Name + ".log"})
		var se *runtime.StartError
		if !errors.As(err, &se) || se.Reason != runtime.ReasonCreateContainerConfigError {
			t.Errorf("CreateContainer(%s) = %v, want a CreateContainerConfigError", c.Name, err)
		}
	}
	if cs, err := tr.ListContainers(context.Background(), sb); err != nil || len(cs) != 0 {
		t.Errorf("ListContainers = %v, %v; want none", cs, err)
	}
}

func corev1VolumeMount(name, path string) corev1.VolumeMount {
	return corev1.VolumeMount{Name: name, MountPath: path}
}

func emptyDirVolume(name string) []corev1.Volume {
	return []corev1.Volume{{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
}
