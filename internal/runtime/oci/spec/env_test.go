package spec

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

func cmRef(name string, optional *bool) *corev1.ConfigMapEnvSource {
	return &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Optional: optional}
}

func cmKey(name, key string, optional *bool) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key, Optional: optional}}
}

func secretKey(name, key string, optional *bool) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key, Optional: optional}}
}

func field(path string) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
}

func resField(res, divisor string) *corev1.EnvVarSource {
	s := &corev1.ResourceFieldSelector{Resource: res}
	if divisor != "" {
		s.Divisor = resource.MustParse(divisor)
	}
	return &corev1.EnvVarSource{ResourceFieldRef: s}
}

func TestEnv(t *testing.T) {
	cms := map[string]*corev1.ConfigMap{
		"cfg":   {Data: map[string]string{"b": "2", "a": "1", "bad=key": "x"}},
		"other": {Data: map[string]string{"a": "other-a"}},
	}
	secrets := map[string]*corev1.Secret{
		"sec": {Data: map[string][]byte{"password": []byte("s3cret")}, StringData: map[string]string{"token": "t"}},
	}
	for _, tc := range []struct {
		name    string
		c       corev1.Container
		want    []EnvVar
		wantErr string // ConfigError message
	}{
		{
			name: "values and expansion in order",
			c: corev1.Container{Env: []corev1.EnvVar{
				{Name: "A", Value: "a"},
				{Name: "B", Value: "$(A)-$(C)-$$(A)"},
				{Name: "C", Value: "c"},
				{Name: "EMPTY"},
				{Name: "A", Value: "again-$(A)"},
			}},
			want: []EnvVar{{"A", "again-a"}, {"B", "a-$(C)-$(A)"}, {"C", "c"}, {"EMPTY", ""}},
		},
		{
			name: "envFrom with prefix, keys sorted, invalid names skipped, env overrides",
			c: corev1.Container{
				EnvFrom: []corev1.EnvFromSource{
					{ConfigMapRef: cmRef("cfg", nil), Prefix: "CFG_"},
					{ConfigMapRef: cmRef("other", nil)},
					{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "sec"}}},
				},
				Env: []corev1.EnvVar{{Name: "CFG_a", Value: "override $(a)"}},
			},
			want: []EnvVar{{"CFG_a", "override other-a"}, {"CFG_b", "2"}, {"a", "other-a"}, {"password", "s3cret"}, {"token", "t"}},
		},
		{
			name: "optional missing sources are skipped",
			c: corev1.Container{
				EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: cmRef("nope", ptr.To(true))}},
				Env: []corev1.EnvVar{
					{Name: "X", ValueFrom: cmKey("nope", "k", ptr.To(true))},
					{Name: "Y", ValueFrom: cmKey("cfg", "nokey", ptr.To(true))},
					{Name: "Z", ValueFrom: secretKey("nope", "k", ptr.To(true))},
					{Name: "W", ValueFrom: secretKey("sec", "nokey", ptr.To(true))},
				},
			},
			want: nil,
		},
		{
			name: "valueFrom keys are not expanded",
			c: corev1.Container{Env: []corev1.EnvVar{
				{Name: "A", Value: "x"},
				{Name: "K", ValueFrom: cmKey("cfg", "a", nil)},
				{Name: "P", ValueFrom: secretKey("sec", "password", nil)},
			}},
			want: []EnvVar{{"A", "x"}, {"K", "1"}, {"P", "s3cret"}},
		},
		{
			name: "downward API fields",
			c: corev1.Container{Env: []corev1.EnvVar{
				{Name: "NAME", ValueFrom: field("metadata.name")},
				{Name: "NS", ValueFrom: field("metadata.namespace")},
				{Name: "UID", ValueFrom: field("metadata.uid")},
				{Name: "LABEL", ValueFrom: field("metadata.labels['app']")},
				{Name: "ANN", ValueFrom: field("metadata.annotations['note']")},
				{Name: "IP", ValueFrom: field("status.podIP")},
				{Name: "IPS", ValueFrom: field("status.podIPs")},
				{Name: "HOST", ValueFrom: field("status.hostIP")},
				{Name: "NODE", ValueFrom: field("spec.nodeName")},
				{Name: "SA", ValueFrom: field("spec.serviceAccountName")},
			}},
			want: []EnvVar{
				{"NAME", "web"}, {"NS", "default"}, {"UID", "0000-1111"}, {"LABEL", "web"}, {"ANN", "hi"},
				{"IP", "10.88.0.5"}, {"IPS", "10.88.0.5,fd00::5"}, {"HOST", "192.168.1.10"}, {"NODE", "node-1"}, {"SA", "default"},
			},
		},
		{
			name: "resource fields with divisors and node defaults",
			c: corev1.Container{
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("100Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1500m")},
				},
				Env: []corev1.EnvVar{
					{Name: "LIM_CPU", ValueFrom: resField("limits.cpu", "")},
					{Name: "LIM_CPU_M", ValueFrom: resField("limits.cpu", "1m")},
					{Name: "REQ_CPU", ValueFrom: resField("requests.cpu", "")},
					{Name: "REQ_MEM_MI", ValueFrom: resField("requests.memory", "1Mi")},
					{Name: "LIM_MEM_NODE", ValueFrom: resField("limits.memory", "1Gi")},
				},
			},
			want: []EnvVar{{"LIM_CPU", "2"}, {"LIM_CPU_M", "1500"}, {"REQ_CPU", "1"}, {"REQ_MEM_MI", "100"}, {"LIM_MEM_NODE", "8"}},
		},
		{name: "missing configmap", c: corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: cmKey("nope", "k", nil)}}}, wantErr: `configmap "nope" not found`},
		{name: "missing configmap key", c: corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: cmKey("cfg", "k", ptr.To(false))}}}, wantErr: `couldn't find key k in ConfigMap default/cfg`},
		{name: "missing secret", c: corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: secretKey("nope", "k", nil)}}}, wantErr: `secret "nope" not found`},
		{name: "missing secret key", c: corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: secretKey("sec", "k", nil)}}}, wantErr: `couldn't find key k in Secret default/sec`},
		{name: "missing envFrom configmap", c: corev1.Container{EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: cmRef("nope", nil)}}}, wantErr: `configmap "nope" not found`},
		{name: "missing envFrom secret", c: corev1.Container{EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}}}}}, wantErr: `secret "nope" not found`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := basePod()
			pod.Annotations = map[string]string{"note": "hi"}
			tc.c.Name = "main"
			pod.Spec.Containers[0] = tc.c
			in := baseInput(pod)
			in.ConfigMaps, in.Secrets = cms, secrets
			in.Info.PodIPs = []string{"10.88.0.5", "fd00::5"}
			in.Info.NodeAllocatable = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("8Gi"), corev1.ResourceCPU: resource.MustParse("4")}
			got, err := Env(&in)
			if tc.wantErr != "" {
				msg, ok := IsConfigError(err)
				if !ok || msg != tc.wantErr {
					t.Fatalf("Env error = %v, want ConfigError %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Env: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Env mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFieldRefWholeMaps(t *testing.T) {
	pod := basePod()
	pod.Labels = map[string]string{"b": "2", "a": `say "hi"`}
	got, err := FieldRefValue(pod, PodInfo{}, &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "a=\"say \\\"hi\\\"\"\nb=\"2\""; got != want {
		t.Errorf("labels = %q, want %q", got, want)
	}
	if _, err := FieldRefValue(pod, PodInfo{}, &corev1.ObjectFieldSelector{FieldPath: "spec.bogus"}); err == nil {
		t.Error("unsupported fieldPath accepted")
	}
	if _, err := FieldRefValue(pod, PodInfo{}, &corev1.ObjectFieldSelector{FieldPath: "metadata.name['x']"}); err == nil {
		t.Error("subscript on metadata.name accepted")
	}
}

func TestProcessEnvMerge(t *testing.T) {
	got := processEnv("web", []string{"PATH=/img/bin", "LANG=C", "X=image"}, []EnvVar{{"X", "pod"}, {"Y", "y"}})
	want := []string{"PATH=/img/bin", "HOSTNAME=web", "LANG=C", "X=pod", "Y=y"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("processEnv mismatch (-want +got):\n%s", diff)
	}
}
