package manifest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func baseJob() *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "j"},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy:  corev1.RestartPolicyNever,
			InitContainers: []corev1.Container{{Name: "sidecar", Image: "busybox", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)}},
			Containers:     []corev1.Container{{Name: "main", Image: "busybox"}},
		}}},
	}
}

func TestValidateJob(t *testing.T) {
	rule := func(op batchv1.PodFailurePolicyOnExitCodesOperator, container *string, values ...int32) batchv1.PodFailurePolicyRule {
		return batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionFailJob,
			OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{ContainerName: container, Operator: op, Values: values}}
	}
	tests := []struct {
		name   string
		mutate func(*batchv1.Job)
		want   []string
	}{
		{name: "valid", mutate: func(*batchv1.Job) {}},
		{name: "template restartPolicy defaults to Always, which a Job refuses (J1)",
			mutate: func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = "" },
			want:   []string{`spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`}},
		{name: "OnFailure is fine", mutate: func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure }},
		{name: "podFailurePolicy needs Never (J1)", mutate: func(j *batchv1.Job) {
			j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{rule("In", ptr.To("main"), 42)}}
		}, want: []string{`spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified`}},
		{name: "podFailurePolicy rules", mutate: func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
				rule("In", ptr.To("nobody"), 0, 3, 2),
				{Action: "Panic"},
			}}
		}, want: []string{
			`spec.podFailurePolicy.rules[0].onExitCodes.containerName: Invalid value: "nobody": must be one of the container or initContainer names in the pod template`,
			"spec.podFailurePolicy.rules[0].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator",
			"spec.podFailurePolicy.rules[0].onExitCodes.values: Invalid value: [0,3,2]: must be ordered",
			`spec.podFailurePolicy.rules[1].action: Unsupported value: "Panic": supported values: "Count", "FailIndex", "FailJob", "Ignore"`,
			"spec.podFailurePolicy.rules[1]: Invalid value: specifying one of OnExitCodes and OnPodConditions is required",
		}},
		{name: "a sidecar name is a valid containerName", mutate: func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{rule("NotIn", ptr.To("sidecar"), 0)}}
		}},
		{name: "counts are non-negative", mutate: func(j *batchv1.Job) {
			j.Spec.Parallelism, j.Spec.Completions, j.Spec.BackoffLimit = ptr.To(int32(-1)), ptr.To(int32(-1)), ptr.To(int32(-1))
		}, want: []string{
			"spec.parallelism: Invalid value: -1: must be greater than or equal to 0",
			"spec.completions: Invalid value: -1: must be greater than or equal to 0",
			"spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0",
		}},
		{name: "Indexed needs completions", mutate: func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
			j.Spec.Parallelism = ptr.To(int32(2))
		}, want: []string{"spec.completions: Required value: when completion mode is Indexed"}},
		{name: "manual selector must match the template", mutate: func(j *batchv1.Job) {
			j.Spec.ManualSelector = ptr.To(true)
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}
			j.Spec.Template.Labels = map[string]string{"app": "y"}
		}, want: []string{"spec.template.metadata.labels: Invalid value: {\"app\":\"y\"}: `selector` does not match template `labels`"}},
		{name: "manual selector required", mutate: func(j *batchv1.Job) { j.Spec.ManualSelector = ptr.To(true) },
			want: []string{"spec.selector: Required value"}},
		{name: "a generated label set by the user must be right", mutate: func(j *batchv1.Job) {
			j.Spec.Template.Labels = map[string]string{"job-name": "other"}
		}, want: []string{"spec.template.metadata.labels[job-name]: Invalid value: \"other\": must be 'j'"}},
		{name: "the template is validated as a pod spec", mutate: func(j *batchv1.Job) {
			j.Spec.Template.Spec.InitContainers[0].RestartPolicy = nil
			j.Spec.Template.Spec.InitContainers[0].StartupProbe = probe()
		}, want: []string{"spec.template.spec.initContainers[0].startupProbe: Forbidden: may not be set for init containers without restartPolicy=Always"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := baseJob()
			tt.mutate(j)
			DefaultJob(j)
			if diff := cmp.Diff(tt.want, errorStrings(ValidateJob(j, Options{}))); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateConfigMapAndSecret(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"},
		Data: map[string]string{"ok.key": "", "bad/key": "", "both": ""}, BinaryData: map[string][]byte{"both": nil}}
	DefaultConfigMap(cm)
	want := []string{
		`data[bad/key]: Invalid value: "bad/key": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
		`data[both]: Invalid value: "both": duplicate of key present in binaryData`,
	}
	if diff := cmp.Diff(want, errorStrings(ValidateConfigMap(cm))); diff != "" {
		t.Errorf("ConfigMap errors (-want +got):\n%s", diff)
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Type: corev1.SecretTypeTLS, StringData: map[string]string{"tls.crt": "x"}}
	DefaultSecret(s)
	if diff := cmp.Diff([]string{"data[tls.key]: Required value"}, errorStrings(ValidateSecret(s))); diff != "" {
		t.Errorf("Secret errors (-want +got):\n%s", diff)
	}
	opaque := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "o"}, StringData: map[string]string{"a": "b"}}
	DefaultSecret(opaque)
	if errs := ValidateSecret(opaque); len(errs) > 0 {
		t.Errorf("Opaque secret rejected: %v", errs)
	}
}
