package manifest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestImagePullPolicy(t *testing.T) {
	tests := []struct {
		image string
		want  corev1.PullPolicy
	}{
		{"busybox", corev1.PullAlways},
		{"busybox:latest", corev1.PullAlways},
		{"busybox:1.36", corev1.PullIfNotPresent},
		{"localhost:5000/busybox", corev1.PullAlways},
		{"localhost:5000/busybox:1.36", corev1.PullIfNotPresent},
		{"localhost:5000/team/busybox:latest", corev1.PullAlways},
		{"busybox@sha256:0dd02f79de2cf24dcb6a27b4679bd33b9a45b33a0416eb8721e475ff09667d61", corev1.PullIfNotPresent},
		{"busybox:latest@sha256:0dd02f79de2cf24dcb6a27b4679bd33b9a45b33a0416eb8721e475ff09667d61", corev1.PullAlways},
		{"busybox:1.36@sha256:0dd02f79de2cf24dcb6a27b4679bd33b9a45b33a0416eb8721e475ff09667d61", corev1.PullIfNotPresent},
	}
	for _, tt := range tests {
		if got := ImagePullPolicy(tt.image); got != tt.want {
			t.Errorf("ImagePullPolicy(%q) = %q, want %q", tt.image, got, tt.want)
		}
	}
}

func TestDefaultPod(t *testing.T) {
	base := func() *corev1.Pod {
		return &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1.36"}}}}
	}
	tests := []struct {
		name   string
		mutate func(*corev1.Pod)
		check  func(*corev1.Pod) (got, want any)
	}{
		{"namespace", nil, func(p *corev1.Pod) (any, any) { return p.Namespace, "default" }},
		{"namespace kept", func(p *corev1.Pod) { p.Namespace = "ns" }, func(p *corev1.Pod) (any, any) { return p.Namespace, "ns" }},
		{"restartPolicy", nil, func(p *corev1.Pod) (any, any) { return p.Spec.RestartPolicy, corev1.RestartPolicyAlways }},
		{"restartPolicy kept", func(p *corev1.Pod) { p.Spec.RestartPolicy = corev1.RestartPolicyNever },
			func(p *corev1.Pod) (any, any) { return p.Spec.RestartPolicy, corev1.RestartPolicyNever }},
		{"terminationGracePeriodSeconds", nil, func(p *corev1.Pod) (any, any) { return *p.Spec.TerminationGracePeriodSeconds, int64(30) }},
		{"negative grace becomes 1", func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr.To(int64(-5)) },
			func(p *corev1.Pod) (any, any) { return *p.Spec.TerminationGracePeriodSeconds, int64(1) }},
		{"dnsPolicy", nil, func(p *corev1.Pod) (any, any) { return p.Spec.DNSPolicy, corev1.DNSClusterFirst }},
		{"schedulerName", nil, func(p *corev1.Pod) (any, any) { return p.Spec.SchedulerName, "default-scheduler" }},
		{"securityContext", nil, func(p *corev1.Pod) (any, any) { return p.Spec.SecurityContext, &corev1.PodSecurityContext{} }},
		{"enableServiceLinks", nil, func(p *corev1.Pod) (any, any) { return *p.Spec.EnableServiceLinks, true }},
		{"serviceAccountName", nil, func(p *corev1.Pod) (any, any) {
			return [2]string{p.Spec.ServiceAccountName, p.Spec.DeprecatedServiceAccount}, [2]string{"default", "default"}
		}},
		{"serviceAccountName kept", func(p *corev1.Pod) { p.Spec.ServiceAccountName = "robot" },
			func(p *corev1.Pod) (any, any) { return p.Spec.DeprecatedServiceAccount, "robot" }},
		{"priority and preemptionPolicy", nil, func(p *corev1.Pod) (any, any) {
			return [2]any{*p.Spec.Priority, *p.Spec.PreemptionPolicy}, [2]any{int32(0), corev1.PreemptLowerPriority}
		}},
		{"default tolerations", nil, func(p *corev1.Pod) (any, any) {
			return p.Spec.Tolerations, []corev1.Toleration{
				{Key: "node.kubernetes.io/not-ready", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: ptr.To(int64(300))},
				{Key: "node.kubernetes.io/unreachable", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: ptr.To(int64(300))},
			}
		}},
		{"a toleration of everything suppresses the defaults",
			func(p *corev1.Pod) { p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}} },
			func(p *corev1.Pod) (any, any) { return len(p.Spec.Tolerations), 1 }},
		{"imagePullPolicy from tag", nil, func(p *corev1.Pod) (any, any) { return p.Spec.Containers[0].ImagePullPolicy, corev1.PullIfNotPresent }},
		{"imagePullPolicy kept", func(p *corev1.Pod) { p.Spec.Containers[0].ImagePullPolicy = corev1.PullNever },
			func(p *corev1.Pod) (any, any) { return p.Spec.Containers[0].ImagePullPolicy, corev1.PullNever }},
		{"terminationMessagePath and Policy", nil, func(p *corev1.Pod) (any, any) {
			c := p.Spec.Containers[0]
			return [2]any{c.TerminationMessagePath, c.TerminationMessagePolicy}, [2]any{"/dev/termination-log", corev1.TerminationMessageReadFile}
		}},
		{"port protocol", func(p *corev1.Pod) { p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80}} },
			func(p *corev1.Pod) (any, any) { return p.Spec.Containers[0].Ports[0].Protocol, corev1.ProtocolTCP }},
		{"hostNetwork hostPort", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80}}
		}, func(p *corev1.Pod) (any, any) { return p.Spec.Containers[0].Ports[0].HostPort, int32(80) }},
		{"probe defaults", func(p *corev1.Pod) {
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(8080)}}}
		}, func(p *corev1.Pod) (any, any) {
			return p.Spec.Containers[0].ReadinessProbe, &corev1.Probe{
				ProbeHandler:   corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080), Scheme: corev1.URISchemeHTTP}},
				TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3,
			}
		}},
		{"probe values kept", func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}},
				PeriodSeconds: 1, FailureThreshold: 1}
		}, func(p *corev1.Pod) (any, any) {
			lp := p.Spec.Containers[0].LivenessProbe
			return [4]int32{lp.PeriodSeconds, lp.FailureThreshold, lp.TimeoutSeconds, lp.SuccessThreshold}, [4]int32{1, 1, 1, 1}
		}},
		{"httpGet hook defaults", func(p *corev1.Pod) {
			p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("http")}}}
		}, func(p *corev1.Pod) (any, any) {
			h := p.Spec.Containers[0].Lifecycle.PreStop.HTTPGet
			return [2]any{h.Path, h.Scheme}, [2]any{"/", corev1.URISchemeHTTP}
		}},
		{"requests from limits", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")}
			p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}
		}, func(p *corev1.Pod) (any, any) {
			r := p.Spec.Containers[0].Resources.Requests
			return [2]string{r.Cpu().String(), r.Memory().String()}, [2]string{"500m", "1Gi"}
		}},
		{"fieldRef apiVersion", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "N", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}
		}, func(p *corev1.Pod) (any, any) { return p.Spec.Containers[0].Env[0].ValueFrom.FieldRef.APIVersion, "v1" }},
		{"volume without source is an emptyDir", func(p *corev1.Pod) { p.Spec.Volumes = []corev1.Volume{{Name: "v"}} },
			func(p *corev1.Pod) (any, any) { return p.Spec.Volumes[0].EmptyDir, &corev1.EmptyDirVolumeSource{} }},
		{"configMap and secret volume modes", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{
				{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}}}},
				{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}},
			}
		}, func(p *corev1.Pod) (any, any) {
			return [2]int32{*p.Spec.Volumes[0].ConfigMap.DefaultMode, *p.Spec.Volumes[1].Secret.DefaultMode}, [2]int32{0o644, 0o644}
		}},
		{"init containers defaulted too", func(p *corev1.Pod) { p.Spec.InitContainers = []corev1.Container{{Name: "i", Image: "busybox"}} },
			func(p *corev1.Pod) (any, any) {
				return [2]any{p.Spec.InitContainers[0].ImagePullPolicy, p.Spec.InitContainers[0].TerminationMessagePolicy},
					[2]any{corev1.PullAlways, corev1.TerminationMessageReadFile}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base()
			if tt.mutate != nil {
				tt.mutate(p)
			}
			DefaultPod(p)
			got, want := tt.check(p)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			again := p.DeepCopy()
			DefaultPod(again)
			if diff := cmp.Diff(p, again); diff != "" {
				t.Errorf("DefaultPod is not idempotent (-once +twice):\n%s", diff)
			}
		})
	}
}

func TestDefaultJob(t *testing.T) {
	base := func() *batchv1.Job {
		return &batchv1.Job{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}}}
	}
	tests := []struct {
		name   string
		mutate func(*batchv1.Job)
		check  func(*batchv1.Job) (got, want any)
	}{
		{"completions and parallelism", nil, func(j *batchv1.Job) (any, any) {
			return [2]int32{*j.Spec.Completions, *j.Spec.Parallelism}, [2]int32{1, 1}
		}},
		{"parallelism only: completions stay unset", func(j *batchv1.Job) { j.Spec.Parallelism = ptr.To(int32(3)) },
			func(j *batchv1.Job) (any, any) { return j.Spec.Completions == nil, true }},
		{"completions only: parallelism 1", func(j *batchv1.Job) { j.Spec.Completions = ptr.To(int32(5)) },
			func(j *batchv1.Job) (any, any) { return *j.Spec.Parallelism, int32(1) }},
		{"backoffLimit", nil, func(j *batchv1.Job) (any, any) { return *j.Spec.BackoffLimit, int32(6) }},
		{"backoffLimit with backoffLimitPerIndex", func(j *batchv1.Job) { j.Spec.BackoffLimitPerIndex = ptr.To(int32(1)) },
			func(j *batchv1.Job) (any, any) { return *j.Spec.BackoffLimit, int32(1<<31 - 1) }},
		{"completionMode", nil, func(j *batchv1.Job) (any, any) { return *j.Spec.CompletionMode, batchv1.NonIndexedCompletion }},
		{"suspend and manualSelector", nil, func(j *batchv1.Job) (any, any) {
			return [2]bool{*j.Spec.Suspend, *j.Spec.ManualSelector}, [2]bool{false, false}
		}},
		{"podReplacementPolicy", nil, func(j *batchv1.Job) (any, any) { return *j.Spec.PodReplacementPolicy, batchv1.TerminatingOrFailed }},
		{"podReplacementPolicy with podFailurePolicy", func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: "DisruptionTarget"}}}}}
		}, func(j *batchv1.Job) (any, any) {
			return [2]any{*j.Spec.PodReplacementPolicy, j.Spec.PodFailurePolicy.Rules[0].OnPodConditions[0].Status},
				[2]any{batchv1.Failed, corev1.ConditionTrue}
		}},
		{"template spec defaulted, pod-only fields not", nil, func(j *batchv1.Job) (any, any) {
			s := j.Spec.Template.Spec
			return [4]any{*s.TerminationGracePeriodSeconds, s.SchedulerName, s.EnableServiceLinks == nil, s.ServiceAccountName},
				[4]any{int64(30), "default-scheduler", true, ""}
		}},
		{"job labels from template labels", func(j *batchv1.Job) { j.Spec.Template.Labels = map[string]string{"app": "x"} },
			func(j *batchv1.Job) (any, any) { return j.Labels, map[string]string{"app": "x"} }},
		{"namespace", nil, func(j *batchv1.Job) (any, any) { return j.Namespace, "default" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := base()
			if tt.mutate != nil {
				tt.mutate(j)
			}
			DefaultJob(j)
			got, want := tt.check(j)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultSecretMergesStringData(t *testing.T) {
	s := &corev1.Secret{
		Data:       map[string][]byte{"a": []byte("old"), "b": []byte("keep")},
		StringData: map[string]string{"a": "new", "c": "added"},
	}
	DefaultSecret(s)
	want := map[string][]byte{"a": []byte("new"), "b": []byte("keep"), "c": []byte("added")}
	if diff := cmp.Diff(want, s.Data); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
	if s.StringData != nil || s.Type != corev1.SecretTypeOpaque || s.Namespace != "default" {
		t.Errorf("stringData=%v type=%q namespace=%q, want nil, Opaque, default", s.StringData, s.Type, s.Namespace)
	}
}
