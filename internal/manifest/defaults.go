package manifest

import (
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

// Default values the API server fills in (pkg/apis/core/v1/defaults.go,
// pkg/apis/batch/v1/defaults.go and the admission plugins that run on
// every create).
const (
	DefaultNamespace                     = "default"
	DefaultSchedulerName                 = "default-scheduler"
	DefaultServiceAccountName            = "default"
	DefaultTerminationGracePeriodSeconds = int64(30)
	DefaultTerminationMessagePath        = "/dev/termination-log"
	DefaultBackoffLimit                  = int32(6)
	DefaultSecretVolumeMode              = int32(0o644)
	// DefaultTolerationSeconds is what the DefaultTolerationSeconds
	// admission plugin gives the not-ready and unreachable tolerations.
	DefaultTolerationSeconds = int64(300)
)

// applyDefaults defaults any supported object in place.
func applyDefaults(obj runtime.Object) {
	switch o := obj.(type) {
	case *corev1.Pod:
		DefaultPod(o)
	case *batchv1.Job:
		DefaultJob(o)
	case *corev1.ConfigMap:
		DefaultConfigMap(o)
	case *corev1.Secret:
		DefaultSecret(o)
	}
}

// DefaultPod applies in place what the API server fills in when a Pod is
// created: the namespace, the pod-spec and container defaults
// (DefaultPodSpec), requests copied from limits, enableServiceLinks, and
// what the admission plugins every cluster runs add — serviceAccountName
// "default" (ServiceAccount), priority 0 and preemptionPolicy
// PreemptLowerPriority (Priority), and the not-ready/unreachable NoExecute
// tolerations for 300 s (DefaultTolerationSeconds). It does not add the
// service-account token volume. Idempotent.
func DefaultPod(pod *corev1.Pod) {
	if pod.Namespace == "" {
		pod.Namespace = DefaultNamespace
	}
	DefaultPodSpec(&pod.Spec)
	for i := range pod.Spec.InitContainers {
		defaultRequestsFromLimits(&pod.Spec.InitContainers[i].Resources)
	}
	for i := range pod.Spec.Containers {
		defaultRequestsFromLimits(&pod.Spec.Containers[i].Resources)
	}
	if pod.Spec.EnableServiceLinks == nil {
		pod.Spec.EnableServiceLinks = ptr.To(corev1.DefaultEnableServiceLinks)
	}
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = pod.Spec.DeprecatedServiceAccount
	}
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = DefaultServiceAccountName
	}
	pod.Spec.DeprecatedServiceAccount = pod.Spec.ServiceAccountName
	if pod.Spec.Priority == nil && pod.Spec.PriorityClassName == "" {
		pod.Spec.Priority = ptr.To(int32(0))
	}
	if pod.Spec.PreemptionPolicy == nil {
		pod.Spec.PreemptionPolicy = ptr.To(corev1.PreemptLowerPriority)
	}
	defaultTolerations(&pod.Spec)
}

func defaultRequestsFromLimits(r *corev1.ResourceRequirements) {
	if len(r.Limits) == 0 {
		return
	}
	if r.Requests == nil {
		r.Requests = corev1.ResourceList{}
	}
	for name, q := range r.Limits {
		if _, ok := r.Requests[name]; !ok {
			r.Requests[name] = q.DeepCopy()
		}
	}
}

func defaultTolerations(spec *corev1.PodSpec) {
	for _, key := range []string{corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable} {
		found := false
		for _, t := range spec.Tolerations {
			keyMatches := t.Key == key || (t.Key == "" && t.Operator == corev1.TolerationOpExists)
			valueMatches := t.Operator == corev1.TolerationOpExists || t.Value == ""
			effectMatches := t.Effect == corev1.TaintEffectNoExecute || t.Effect == ""
			if keyMatches && valueMatches && effectMatches {
				found = true
			}
		}
		if !found {
			spec.Tolerations = append(spec.Tolerations, corev1.Toleration{
				Key:               key,
				Operator:          corev1.TolerationOpExists,
				Effect:            corev1.TaintEffectNoExecute,
				TolerationSeconds: ptr.To(DefaultTolerationSeconds),
			})
		}
	}
}

// DefaultPodSpec applies in place the defaults of a pod spec, also used
// for pod templates: restartPolicy Always, terminationGracePeriodSeconds
// 30, dnsPolicy ClusterFirst, schedulerName, an empty securityContext,
// host ports under hostNetwork, and every container, volume, probe and
// handler default. Idempotent.
func DefaultPodSpec(spec *corev1.PodSpec) {
	if spec.DNSPolicy == "" {
		spec.DNSPolicy = corev1.DNSClusterFirst
	}
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	if spec.HostNetwork {
		defaultHostNetworkPorts(spec.InitContainers)
		defaultHostNetworkPorts(spec.Containers)
	}
	if spec.SecurityContext == nil {
		spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	if spec.TerminationGracePeriodSeconds == nil {
		spec.TerminationGracePeriodSeconds = ptr.To(DefaultTerminationGracePeriodSeconds)
	} else if *spec.TerminationGracePeriodSeconds < 0 {
		// The API server turns a negative grace period into 1.
		spec.TerminationGracePeriodSeconds = ptr.To(int64(1))
	}
	if spec.SchedulerName == "" {
		spec.SchedulerName = DefaultSchedulerName
	}
	for i := range spec.Volumes {
		defaultVolume(&spec.Volumes[i])
	}
	for i := range spec.InitContainers {
		DefaultContainer(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		DefaultContainer(&spec.Containers[i])
	}
}

func defaultHostNetworkPorts(cs []corev1.Container) {
	for i := range cs {
		for j := range cs[i].Ports {
			if cs[i].Ports[j].HostPort == 0 {
				cs[i].Ports[j].HostPort = cs[i].Ports[j].ContainerPort
			}
		}
	}
}

// DefaultContainer applies in place the defaults of one container:
// imagePullPolicy from the image reference (ImagePullPolicy), the
// termination message path and policy, port protocols, fieldRef API
// versions, and probe and lifecycle-handler defaults. Idempotent.
func DefaultContainer(c *corev1.Container) {
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = ImagePullPolicy(c.Image)
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = DefaultTerminationMessagePath
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = corev1.ProtocolTCP
		}
	}
	for i := range c.Env {
		if vf := c.Env[i].ValueFrom; vf != nil && vf.FieldRef != nil && vf.FieldRef.APIVersion == "" {
			vf.FieldRef.APIVersion = "v1"
		}
	}
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		if p != nil {
			defaultProbe(p)
		}
	}
	if c.Lifecycle != nil {
		for _, h := range []*corev1.LifecycleHandler{c.Lifecycle.PostStart, c.Lifecycle.PreStop} {
			if h != nil && h.HTTPGet != nil {
				defaultHTTPGet(h.HTTPGet)
			}
		}
	}
}

// ImagePullPolicy is the policy the API server gives a container that
// sets none: Always for a ":latest" tag or no tag at all, IfNotPresent
// for any other tag or a digest-only reference.
func ImagePullPolicy(image string) corev1.PullPolicy {
	ref, _, hasDigest := strings.Cut(image, "@")
	tag := ""
	if i := strings.LastIndex(ref, ":"); i >= 0 && !strings.Contains(ref[i+1:], "/") {
		tag = ref[i+1:]
	}
	if tag == "" && !hasDigest {
		tag = "latest"
	}
	if tag == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

func defaultProbe(p *corev1.Probe) {
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	if p.HTTPGet != nil {
		defaultHTTPGet(p.HTTPGet)
	}
	if p.GRPC != nil && p.GRPC.Service == nil {
		p.GRPC.Service = ptr.To("")
	}
}

func defaultHTTPGet(h *corev1.HTTPGetAction) {
	if h.Path == "" {
		h.Path = "/"
	}
	if h.Scheme == "" {
		h.Scheme = corev1.URISchemeHTTP
	}
}

func defaultVolume(v *corev1.Volume) {
	vs := &v.VolumeSource
	if *vs == (corev1.VolumeSource{}) {
		vs.EmptyDir = &corev1.EmptyDirVolumeSource{}
	}
	mode := ptr.To(DefaultSecretVolumeMode)
	switch {
	case vs.ConfigMap != nil && vs.ConfigMap.DefaultMode == nil:
		vs.ConfigMap.DefaultMode = mode
	case vs.Secret != nil && vs.Secret.DefaultMode == nil:
		vs.Secret.DefaultMode = mode
	case vs.DownwardAPI != nil && vs.DownwardAPI.DefaultMode == nil:
		vs.DownwardAPI.DefaultMode = mode
	case vs.Projected != nil && vs.Projected.DefaultMode == nil:
		vs.Projected.DefaultMode = mode
	case vs.HostPath != nil && vs.HostPath.Type == nil:
		vs.HostPath.Type = ptr.To(corev1.HostPathUnset)
	}
	if vs.DownwardAPI != nil {
		for i := range vs.DownwardAPI.Items {
			if fr := vs.DownwardAPI.Items[i].FieldRef; fr != nil && fr.APIVersion == "" {
				fr.APIVersion = "v1"
			}
		}
	}
}

// DefaultJob applies in place the defaults of a Job and its pod template
// (completions and parallelism 1 when both are unset, parallelism 1,
// backoffLimit 6, completionMode NonIndexed, suspend false,
// manualSelector false, podReplacementPolicy TerminatingOrFailed — Failed
// with a podFailurePolicy —, pod-condition rule status True, the
// namespace, and DefaultPodSpec on the template). The selector and the
// controller labels depend on the Job's UID and come from Stamp.
// Idempotent.
func DefaultJob(job *batchv1.Job) {
	if job.Namespace == "" {
		job.Namespace = DefaultNamespace
	}
	s := &job.Spec
	if s.Completions == nil && s.Parallelism == nil {
		s.Completions = ptr.To(int32(1))
		s.Parallelism = ptr.To(int32(1))
	}
	if s.Parallelism == nil {
		s.Parallelism = ptr.To(int32(1))
	}
	if s.BackoffLimit == nil {
		if s.BackoffLimitPerIndex != nil {
			s.BackoffLimit = ptr.To(int32(1<<31 - 1))
		} else {
			s.BackoffLimit = ptr.To(DefaultBackoffLimit)
		}
	}
	if s.CompletionMode == nil {
		s.CompletionMode = ptr.To(batchv1.NonIndexedCompletion)
	}
	if s.Suspend == nil {
		s.Suspend = ptr.To(false)
	}
	if s.ManualSelector == nil {
		s.ManualSelector = ptr.To(false)
	}
	if s.PodFailurePolicy != nil {
		for _, rule := range s.PodFailurePolicy.Rules {
			for i := range rule.OnPodConditions {
				if rule.OnPodConditions[i].Status == "" {
					rule.OnPodConditions[i].Status = corev1.ConditionTrue
				}
			}
		}
	}
	if s.PodReplacementPolicy == nil {
		if s.PodFailurePolicy != nil {
			s.PodReplacementPolicy = ptr.To(batchv1.Failed)
		} else {
			s.PodReplacementPolicy = ptr.To(batchv1.TerminatingOrFailed)
		}
	}
	if len(job.Labels) == 0 && len(s.Template.Labels) > 0 {
		job.Labels = copyMap(s.Template.Labels)
	}
	DefaultPodSpec(&s.Template.Spec)
}

// DefaultConfigMap applies the namespace default in place.
func DefaultConfigMap(cm *corev1.ConfigMap) {
	if cm.Namespace == "" {
		cm.Namespace = DefaultNamespace
	}
}

// DefaultSecret applies in place what the API server does to a Secret:
// the namespace, type Opaque, and stringData merged into data (a key in
// both takes the stringData value), after which stringData is cleared.
func DefaultSecret(s *corev1.Secret) {
	if s.Namespace == "" {
		s.Namespace = DefaultNamespace
	}
	if s.Type == "" {
		s.Type = corev1.SecretTypeOpaque
	}
	if len(s.StringData) > 0 {
		if s.Data == nil {
			s.Data = map[string][]byte{}
		}
		for k, v := range s.StringData {
			s.Data[k] = []byte(v)
		}
	}
	s.StringData = nil
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
