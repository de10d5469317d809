package manifest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podrun/podrun/internal/features"
)

// basePod is a valid pod with one init container, one sidecar and one
// regular container, before defaulting.
func basePod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1ObjectMeta("p"),
		Spec: corev1.PodSpec{
			Volumes: []corev1.Volume{{Name: "shared", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			InitContainers: []corev1.Container{
				{Name: "init", Image: "busybox"},
				{Name: "sidecar", Image: "busybox", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)},
			},
			Containers: []corev1.Container{{Name: "main", Image: "busybox",
				VolumeMounts: []corev1.VolumeMount{{Name: "shared", MountPath: "/shared"}}}},
		},
	}
}

var exec = corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}

func probe() *corev1.Probe { return &corev1.Probe{ProbeHandler: exec} }

func errorStrings(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func TestValidatePod(t *testing.T) {
	gateOff := features.Default()
	gateOff, _ = gateOff.With(features.ContainerRestartRules, false)
	tests := []struct {
		name   string
		gates  *features.Gates
		mutate func(*corev1.Pod)
		want   []string
	}{
		{name: "valid", mutate: func(*corev1.Pod) {}},
		{name: "name required", mutate: func(p *corev1.Pod) { p.Name = "" },
			want: []string{"metadata.name: Required value: name or generateName is required"}},
		{name: "generateName is enough", mutate: func(p *corev1.Pod) { p.Name, p.GenerateName = "", "p-" }},
		{name: "name must be a DNS subdomain", mutate: func(p *corev1.Pod) { p.Name = "Bad_Name" },
			want: []string{`metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`}},
		{name: "at least one container", mutate: func(p *corev1.Pod) { p.Spec.Containers = nil },
			want: []string{"spec.containers: Required value"}},
		{name: "pod restartPolicy", mutate: func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" },
			want: []string{`spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`}},
		{name: "probes and hooks forbidden on a regular init container", mutate: func(p *corev1.Pod) {
			c := &p.Spec.InitContainers[0]
			c.Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Exec: exec.Exec}}
			c.LivenessProbe, c.ReadinessProbe, c.StartupProbe = probe(), probe(), probe()
		}, want: []string{
			"spec.initContainers[0].lifecycle: Forbidden: may not be set for init containers without restartPolicy=Always",
			"spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
			"spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
			"spec.initContainers[0].startupProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
		}},
		{name: "sidecars may have probes and hooks", mutate: func(p *corev1.Pod) {
			c := &p.Spec.InitContainers[1]
			c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 5}}}
			c.LivenessProbe, c.ReadinessProbe, c.StartupProbe = probe(), probe(), probe()
		}},
		{name: "sidecar probes are validated", mutate: func(p *corev1.Pod) {
			p.Spec.InitContainers[1].LivenessProbe = &corev1.Probe{ProbeHandler: exec, SuccessThreshold: 2}
		}, want: []string{"spec.initContainers[1].livenessProbe.successThreshold: Invalid value: 2: must be 1"}},
		{name: "init restartPolicy Never accepted with ContainerRestartRules (1.37 default)",
			mutate: func(p *corev1.Pod) {
				p.Spec.InitContainers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyNever)
			}},
		{name: "init restartPolicy Never without ContainerRestartRules", gates: &gateOff,
			mutate: func(p *corev1.Pod) {
				p.Spec.InitContainers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyNever)
			},
			want: []string{`spec.initContainers[0].restartPolicy: Unsupported value: "Never": supported values: "Always"`}},
		{name: "init restartPolicy unknown value", mutate: func(p *corev1.Pod) {
			p.Spec.InitContainers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicy("Maybe"))
		},
			want: []string{`spec.initContainers[0].restartPolicy: Unsupported value: "Maybe": supported values: "Always", "OnFailure", "Never"`}},
		{name: "regular restartPolicy accepted with ContainerRestartRules",
			mutate: func(p *corev1.Pod) { p.Spec.Containers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways) }},
		{name: "regular restartPolicy without ContainerRestartRules", gates: &gateOff,
			mutate: func(p *corev1.Pod) { p.Spec.Containers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways) },
			want:   []string{"spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers"}},
		{name: "restartPolicyRules need a container restartPolicy and exitCodes", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].RestartPolicyRules = []corev1.ContainerRestartRule{{Action: "Restart"}, {Action: "Explode",
				ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: "Has", Values: []int32{1, 1}}}}
		}, want: []string{
			"spec.containers[0].restartPolicy: Required value: must be specified when restartPolicyRules are used",
			"spec.containers[0].restartPolicyRules[0].exitCodes: Required value: must be specified",
			`spec.containers[0].restartPolicyRules[1].action: Unsupported value: "Explode": supported values: "Restart"`,
			`spec.containers[0].restartPolicyRules[1].exitCodes.operator: Unsupported value: "Has": supported values: "In", "NotIn"`,
		}},
		{name: "at most 255 exit codes, duplicates allowed", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyNever)
			p.Spec.Containers[0].RestartPolicyRules = []corev1.ContainerRestartRule{{Action: "Restart",
				ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: "In", Values: make([]int32, 256)}}}
		}, want: []string{"spec.containers[0].restartPolicyRules[0].exitCodes.values: Too many: 256: must have at most 255 items"}},
		{name: "restartPolicyRules on an init container", mutate: func(p *corev1.Pod) {
			p.Spec.InitContainers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyNever)
			p.Spec.InitContainers[0].RestartPolicyRules = []corev1.ContainerRestartRule{{Action: "Restart",
				ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: "In", Values: []int32{42}}}}
		}},
		{name: "no restartPolicyRules on a sidecar without RestartAllContainersOnContainerExits", mutate: func(p *corev1.Pod) {
			p.Spec.InitContainers[1].RestartPolicyRules = []corev1.ContainerRestartRule{{Action: "Restart",
				ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: "In", Values: []int32{42}}}}
		}, want: []string{"spec.initContainers[1].restartPolicyRules: Forbidden: may not be set for init containers with restartPolicy=Always"}},
		{name: "at most 20 restartPolicyRules", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyNever)
			for i := 0; i < 21; i++ {
				p.Spec.Containers[0].RestartPolicyRules = append(p.Spec.Containers[0].RestartPolicyRules, corev1.ContainerRestartRule{
					Action: "Restart", ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: "In", Values: []int32{int32(i + 1)}}})
			}
		}, want: []string{"spec.containers[0].restartPolicyRules: Too many: 21: must have at most 20 items"}},
		{name: "init name collides with a regular container", mutate: func(p *corev1.Pod) { p.Spec.InitContainers[0].Name = "main" },
			want: []string{`spec.initContainers[0].name: Duplicate value: "main"`}},
		{name: "init names unique among init containers", mutate: func(p *corev1.Pod) { p.Spec.InitContainers[1].Name = "init" },
			want: []string{`spec.initContainers[1].name: Duplicate value: "init"`}},
		{name: "regular names unique", mutate: func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "main", Image: "busybox"})
		}, want: []string{`spec.containers[1].name: Duplicate value: "main"`}},
		{name: "container name is a DNS label", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Name = "Main" },
			want: []string{`spec.containers[0].name: Invalid value: "Main": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`}},
		{name: "container name and image required", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Name, p.Spec.Containers[0].Image = "", "" },
			want: []string{"spec.containers[0].name: Required value", "spec.containers[0].image: Required value"}},
		{name: "ports", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{
				{Name: "http", ContainerPort: 80},
				{Name: "http", ContainerPort: 70000},
				{ContainerPort: 0, Protocol: "ICMP"},
				{Name: "Not_Valid", ContainerPort: 81},
			}
		}, want: []string{
			`spec.containers[0].ports[1].name: Duplicate value: "http"`,
			"spec.containers[0].ports[1].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
			"spec.containers[0].ports[2].containerPort: Required value",
			`spec.containers[0].ports[2].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"`,
			`spec.containers[0].ports[3].name: Invalid value: "Not_Valid": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)`,
		}},
		{name: "hostPort unique among regular containers", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "two", Image: "busybox",
				Ports: []corev1.ContainerPort{{ContainerPort: 81, HostPort: 8080}}})
		}, want: []string{`spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080"`}},
		{name: "a sidecar may share a hostPort with a regular container (§13)", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
			p.Spec.InitContainers[1].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
		}},
		{name: "hostNetwork: hostPort must equal containerPort", mutate: func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 81}}
		}, want: []string{"spec.containers[0].ports[0].containerPort: Invalid value: 80: must match `hostPort` when `hostNetwork` is true"}},
		{name: "env names", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: ""}, {Name: "A=B"}, {Name: "dotted.name-ok", Value: "x"}}
		}, want: []string{
			"spec.containers[0].env[0].name: Required value",
			`spec.containers[0].env[1].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='`,
		}},
		{name: "env valueFrom", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{
				{Name: "A", ValueFrom: &corev1.EnvVarSource{}},
				{Name: "B", Value: "x", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "k"}}},
				{Name: "C", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{}}},
			}
		}, want: []string{
			"spec.containers[0].env[0].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
			"spec.containers[0].env[1].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty",
			"spec.containers[0].env[2].valueFrom.secretKeyRef.name: Required value",
			"spec.containers[0].env[2].valueFrom.secretKeyRef.key: Required value",
		}},
		{name: "a missing ConfigMap is not a validation error (scenario 070)", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "does-not-exist"}, Key: "k"}}}}
		}},
		{name: "volumes and mounts", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "shared", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
			p.Spec.Containers[0].VolumeMounts = append(p.Spec.Containers[0].VolumeMounts,
				corev1.VolumeMount{Name: "nope", MountPath: "/x"}, corev1.VolumeMount{Name: "shared", MountPath: "/shared"},
				corev1.VolumeMount{Name: "shared"})
		}, want: []string{
			`spec.volumes[1].name: Duplicate value: "shared"`,
			`spec.containers[0].volumeMounts[1].name: Not found: "nope"`,
			`spec.containers[0].volumeMounts[2].mountPath: Invalid value: "/shared": must be unique`,
			"spec.containers[0].volumeMounts[3].mountPath: Required value",
		}},
		{name: "volume with two sources", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes[0].HostPath = &corev1.HostPathVolumeSource{Path: "/tmp"}
		}, want: []string{
			"spec.volumes[0].emptyDir: Forbidden: may not specify more than 1 volume type",
			`spec.containers[0].volumeMounts[0].name: Not found: "shared"`,
		}},
		{name: "requests must not exceed limits", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
			}
		}, want: []string{`spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1`}},
		{name: "quantities and resource names", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("-1"), "gpu": resource.MustParse("1")},
			}
		}, want: []string{
			`spec.containers[0].resources.requests[gpu]: Invalid value: "gpu": must be a standard resource for containers`,
			`spec.containers[0].resources.requests[memory]: Invalid value: "-1": must be greater than or equal to 0`,
		}},
		{name: "probe needs exactly one handler", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{}
			p.Spec.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: exec.Exec,
				TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}}, SuccessThreshold: 1}
		}, want: []string{
			"spec.containers[0].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type",
			"spec.containers[0].readinessProbe: Required value: must specify a handler type",
		}},
		{name: "probe handler details", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: "/", Port: intstr.FromInt32(0), Scheme: "FTP"}}, TerminationGracePeriodSeconds: ptr.To(int64(5))}
			p.Spec.Containers[0].StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{}}, SuccessThreshold: 3}
		}, want: []string{
			"spec.containers[0].readinessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive",
			`spec.containers[0].readinessProbe.httpGet.scheme: Unsupported value: "FTP": supported values: "HTTP", "HTTPS"`,
			"spec.containers[0].readinessProbe.terminationGracePeriodSeconds: Invalid value: 5: must not be set for readinessProbes",
			"spec.containers[0].startupProbe.exec.command: Required value",
			"spec.containers[0].startupProbe.successThreshold: Invalid value: 3: must be 1",
		}},
		{name: "sleep within the grace period, zero allowed", mutate: func(p *corev1.Pod) {
			p.Spec.TerminationGracePeriodSeconds = ptr.To(int64(10))
			p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{
				PostStart: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 0}},
				PreStop:   &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 11}},
			}
			p.Spec.InitContainers[1].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: -1}}}
		}, want: []string{
			"spec.containers[0].lifecycle.preStop.sleep: Invalid value: 11: must be non-negative and less than terminationGracePeriodSeconds (10)",
			"spec.initContainers[1].lifecycle.preStop.sleep: Invalid value: -1: must be non-negative and less than terminationGracePeriodSeconds (10)",
		}},
		{name: "resizePolicy", mutate: func(p *corev1.Pod) {
			p.Spec.RestartPolicy = corev1.RestartPolicyNever
			p.Spec.Containers[0].ResizePolicy = []corev1.ContainerResizePolicy{{ResourceName: "cpu", RestartPolicy: corev1.RestartContainer},
				{ResourceName: "cpu", RestartPolicy: corev1.NotRequired}, {ResourceName: "gpu", RestartPolicy: "Later"}}
			p.Spec.InitContainers[0].ResizePolicy = []corev1.ContainerResizePolicy{{ResourceName: "memory", RestartPolicy: corev1.NotRequired}}
		}, want: []string{
			`spec.containers[0].resizePolicy: Invalid value: "RestartContainer": must be 'NotRequired' when ` + "`restartPolicy`" + ` is 'Never'`,
			`spec.containers[0].resizePolicy[1].resourceName: Duplicate value: "cpu"`,
			`spec.containers[0].resizePolicy[2].resourceName: Unsupported value: "gpu": supported values: "cpu", "memory"`,
			`spec.containers[0].resizePolicy[2].restartPolicy: Unsupported value: "Later": supported values: "NotRequired", "RestartContainer"`,
		}},
		{name: "activeDeadlineSeconds", mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To(int64(0)) },
			want: []string{"spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"}},
		{name: "stopSignal dropped-field check without the gate", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{StopSignal: ptr.To(corev1.SIGUSR1)}
		}, want: []string{"spec.containers[0].lifecycle.stopSignal: Forbidden: may not be set when the ContainerStopSignals feature gate is disabled"}},
		{name: "ephemeral containers cannot be set on create", mutate: func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "e", Image: "busybox"}}}
		}, want: []string{"spec.ephemeralContainers: Forbidden: cannot be set on create"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := basePod()
			tt.mutate(p)
			DefaultPod(p)
			opts := Options{}
			if tt.gates != nil {
				opts.Gates = *tt.gates
			}
			got := errorStrings(ValidatePod(p, opts))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStopSignalWithGate(t *testing.T) {
	on, err := features.Parse("ContainerStopSignals=true")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		os   *corev1.PodOS
		sig  corev1.Signal
		want []string
	}{
		{"linux signal", &corev1.PodOS{Name: corev1.Linux}, corev1.SIGUSR1, nil},
		{"realtime signal", &corev1.PodOS{Name: corev1.Linux}, "SIGRTMIN+3", nil},
		{"needs spec.os.name", nil, corev1.SIGUSR1, []string{"spec.containers[0].lifecycle.stopSignal: Forbidden: may not be set for containers with empty `spec.os.name`"}},
		{"windows only TERM and KILL", &corev1.PodOS{Name: corev1.Windows}, corev1.SIGUSR1,
			[]string{`spec.containers[0].lifecycle.stopSignal: Unsupported value: "SIGUSR1": supported values: "SIGKILL", "SIGTERM"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := basePod()
			p.Spec.OS = tt.os
			p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{StopSignal: ptr.To(tt.sig)}
			DefaultPod(p)
			if diff := cmp.Diff(tt.want, errorStrings(ValidatePod(p, Options{Gates: on}))); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInvalidErrorFormat(t *testing.T) {
	one := &InvalidError{Kind: "Pod", Name: "x", Errs: field.ErrorList{
		field.Forbidden(field.NewPath("spec", "initContainers").Index(0).Child("readinessProbe"), "may not be set for init containers without restartPolicy=Always")}}
	if got, want := one.Error(), `The Pod "x" is invalid: spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always`; got != want {
		t.Errorf("one error:\n got %s\nwant %s", got, want)
	}
	two := &InvalidError{Kind: "Job", Name: "j", Errs: field.ErrorList{
		field.Required(field.NewPath("spec", "containers"), ""), field.Required(field.NewPath("spec", "selector"), "")}}
	if got, want := two.Error(), `The Job "j" is invalid: [spec.containers: Required value, spec.selector: Required value]`; got != want {
		t.Errorf("two errors:\n got %s\nwant %s", got, want)
	}
}

func TestSetValidate(t *testing.T) {
	in := pod("a") + "---\n" + pod("a") + "---\n" + strings.Replace(pod("b"), "image: busybox", "image: \"\"", 1)
	objs, err := Decode("in.yaml", []byte(in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = (&Set{Objects: objs}).Validate(Options{})
	if err == nil {
		t.Fatal("Validate accepted a duplicate and an invalid pod")
	}
	want := "pods \"a\" already exists\nThe Pod \"b\" is invalid: spec.containers[0].image: Required value"
	if err.Error() != want {
		t.Errorf("Validate:\n got %s\nwant %s", err, want)
	}
	ve, ok := err.(*ValidationError)
	if !ok || len(ve.Objects) != 2 || ve.Objects[1].Object.Document != 3 {
		t.Errorf("ValidationError does not locate the objects: %#v", err)
	}
}

func metav1ObjectMeta(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }
