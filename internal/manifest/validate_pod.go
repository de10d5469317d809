package manifest

import (
	"fmt"
	"math"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podrun/podrun/internal/features"
)

// ValidatePod validates a defaulted Pod as the API server does on create
// (ValidatePodCreate in pkg/apis/core/validation): metadata, the pod
// spec, and the rules that hold only for pods. Errors come in the API
// server's order and shapes.
func ValidatePod(pod *corev1.Pod, opts Options) field.ErrorList {
	meta := pod.ObjectMeta
	if meta.Name == "" && meta.GenerateName != "" {
		// The API server generates the name before it validates.
		meta.Name = meta.GenerateName + "xxxxx"
	}
	specPath := field.NewPath("spec")
	allErrs := apivalidation.ValidateObjectMeta(&meta, true, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	allErrs = append(allErrs, validatePodSpec(&pod.Spec, specPath, opts)...)
	if pod.Spec.ServiceAccountName == "" {
		for vi, v := range pod.Spec.Volumes {
			if v.Projected == nil {
				continue
			}
			for si, src := range v.Projected.Sources {
				if src.ServiceAccountToken != nil {
					allErrs = append(allErrs, field.Forbidden(specPath.Child("volumes").Index(vi).Child("projected", "sources").Index(si).Child("serviceAccountToken"),
						"must not be specified when serviceAccountName is not set"))
				}
			}
		}
	}
	if len(pod.Spec.EphemeralContainers) > 0 {
		allErrs = append(allErrs, field.Forbidden(specPath.Child("ephemeralContainers"), "cannot be set on create"))
	}
	if pod.Spec.NodeName != "" && len(pod.Spec.SchedulingGates) != 0 {
		allErrs = append(allErrs, field.Forbidden(specPath.Child("nodeName"), "cannot be set until all schedulingGates have been cleared"))
	}
	return allErrs
}

// ValidatePodTemplateSpec validates a defaulted pod template (as in a
// Job) at fldPath, as ValidatePodTemplateSpec upstream does.
func ValidatePodTemplateSpec(t *corev1.PodTemplateSpec, fldPath *field.Path, opts Options) field.ErrorList {
	metaPath := fldPath.Child("metadata")
	allErrs := metavalidation.ValidateLabels(t.Labels, metaPath.Child("labels"))
	allErrs = append(allErrs, apivalidation.ValidateAnnotations(t.Annotations, metaPath.Child("annotations"))...)
	allErrs = append(allErrs, validatePodSpec(&t.Spec, fldPath.Child("spec"), opts)...)
	if len(t.Spec.EphemeralContainers) > 0 {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("spec", "ephemeralContainers"), "ephemeral containers not allowed in pod template"))
	}
	return allErrs
}

// validatePodSpec follows ValidatePodSpec upstream, in its order.
func validatePodSpec(spec *corev1.PodSpec, fldPath *field.Path, opts Options) field.ErrorList {
	gracePeriod := spec.TerminationGracePeriodSeconds
	vols, allErrs := validateVolumes(spec.Volumes, fldPath.Child("volumes"))
	allErrs = append(allErrs, validateContainers(spec.Containers, vols, gracePeriod, fldPath.Child("containers"), opts, spec.RestartPolicy)...)
	allErrs = append(allErrs, validateInitContainers(spec.InitContainers, spec.Containers, vols, gracePeriod, fldPath.Child("initContainers"), opts, spec.RestartPolicy)...)
	allErrs = append(allErrs, validateHostNetworkPorts(spec, fldPath)...)
	allErrs = append(allErrs, validateRestartPolicy(spec.RestartPolicy, fldPath.Child("restartPolicy"))...)
	allErrs = append(allErrs, validateDNSPolicy(spec.DNSPolicy, fldPath.Child("dnsPolicy"))...)
	allErrs = append(allErrs, metavalidation.ValidateLabels(spec.NodeSelector, fldPath.Child("nodeSelector"))...)
	allErrs = append(allErrs, validatePodSecurityContext(spec.SecurityContext, fldPath.Child("securityContext"))...)
	for i, s := range spec.ImagePullSecrets {
		if s.Name == "" {
			allErrs = append(allErrs, field.Required(fldPath.Child("imagePullSecrets").Index(i).Child("name"), ""))
		}
	}
	if spec.ServiceAccountName != "" {
		for _, msg := range apivalidation.NameIsDNSSubdomain(spec.ServiceAccountName, false) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("serviceAccountName"), spec.ServiceAccountName, msg))
		}
	}
	if spec.NodeName != "" {
		for _, msg := range apivalidation.NameIsDNSSubdomain(spec.NodeName, false) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("nodeName"), spec.NodeName, msg))
		}
	}
	if spec.ActiveDeadlineSeconds != nil {
		if v := *spec.ActiveDeadlineSeconds; v < 1 || v > math.MaxInt32 {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("activeDeadlineSeconds"), v, validation.InclusiveRangeError(1, math.MaxInt32)))
		}
	}
	if spec.Hostname != "" {
		allErrs = append(allErrs, validateDNS1123Label(spec.Hostname, fldPath.Child("hostname"))...)
	}
	if spec.Subdomain != "" {
		allErrs = append(allErrs, validateDNS1123Label(spec.Subdomain, fldPath.Child("subdomain"))...)
	}
	allErrs = append(allErrs, validateTolerations(spec.Tolerations, fldPath.Child("tolerations"))...)
	if spec.PreemptionPolicy != nil {
		switch *spec.PreemptionPolicy {
		case corev1.PreemptLowerPriority, corev1.PreemptNever:
		default:
			allErrs = append(allErrs, field.NotSupported(fldPath.Child("preemptionPolicy"), *spec.PreemptionPolicy,
				[]corev1.PreemptionPolicy{corev1.PreemptLowerPriority, corev1.PreemptNever}))
		}
	}
	if spec.OS != nil {
		switch spec.OS.Name {
		case corev1.Linux, corev1.Windows:
		case "":
			allErrs = append(allErrs, field.Required(fldPath.Child("os", "name"), ""))
		default:
			allErrs = append(allErrs, field.NotSupported(fldPath.Child("os", "name"), spec.OS.Name, []corev1.OSName{corev1.Linux, corev1.Windows}))
		}
	}
	allErrs = append(allErrs, validateStopSignals(spec, fldPath, opts)...)
	return allErrs
}

func validateDNS1123Label(value string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(value) {
		errs = append(errs, field.Invalid(fldPath, value, msg))
	}
	return errs
}

// validateContainers validates spec.containers (validateContainers).
func validateContainers(containers []corev1.Container, vols map[string]corev1.VolumeSource, gracePeriod *int64, fldPath *field.Path, opts Options, podRestartPolicy corev1.RestartPolicy) field.ErrorList {
	if len(containers) == 0 {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	var allErrs field.ErrorList
	names := sets.New[string]()
	for i := range containers {
		ctr := &containers[i]
		path := fldPath.Index(i)
		allErrs = append(allErrs, validateContainerCommon(ctr, vols, path, podRestartPolicy)...)
		if names.Has(ctr.Name) {
			allErrs = append(allErrs, field.Duplicate(path.Child("name"), ctr.Name))
		} else {
			names.Insert(ctr.Name)
		}
		if ctr.Lifecycle != nil {
			allErrs = append(allErrs, validateLifecycle(ctr.Lifecycle, gracePeriod, path.Child("lifecycle"))...)
		}
		allErrs = append(allErrs, validateLivenessProbe(ctr.LivenessProbe, gracePeriod, path.Child("livenessProbe"))...)
		allErrs = append(allErrs, validateReadinessProbe(ctr.ReadinessProbe, gracePeriod, path.Child("readinessProbe"))...)
		allErrs = append(allErrs, validateStartupProbe(ctr.StartupProbe, gracePeriod, path.Child("startupProbe"))...)
		allErrs = append(allErrs, validateRegularRestartPolicy(ctr, path, opts)...)
	}
	return append(allErrs, checkHostPortConflicts(containers, fldPath)...)
}

// validateInitContainers validates spec.initContainers
// (validateInitContainers): sidecars (restartPolicy: Always) may carry
// probes and lifecycle hooks, other init containers may not (SEMANTICS.md
// §4.1, §13).
func validateInitContainers(containers, regular []corev1.Container, vols map[string]corev1.VolumeSource, gracePeriod *int64, fldPath *field.Path, opts Options, podRestartPolicy corev1.RestartPolicy) field.ErrorList {
	var allErrs field.ErrorList
	names := sets.New[string]()
	for _, c := range regular {
		names.Insert(c.Name)
	}
	const forbidden = "may not be set for init containers without restartPolicy=Always"
	for i := range containers {
		ctr := &containers[i]
		path := fldPath.Index(i)
		allErrs = append(allErrs, validateContainerCommon(ctr, vols, path, podRestartPolicy)...)
		restartAlways := false
		if ctr.RestartPolicy != nil {
			allErrs = append(allErrs, validateInitContainerRestartPolicy(*ctr.RestartPolicy, path.Child("restartPolicy"), opts)...)
			restartAlways = *ctr.RestartPolicy == corev1.ContainerRestartPolicyAlways
		}
		if len(ctr.RestartPolicyRules) > 0 {
			if restartAlways && !opts.Gates.Enabled(features.RestartAllContainersOnContainerExits) {
				// Only the RestartAllContainers action makes sense on a
				// sidecar, which restarts anyway.
				allErrs = append(allErrs, field.Forbidden(path.Child("restartPolicyRules"), "may not be set for init containers with restartPolicy=Always"))
			} else {
				allErrs = append(allErrs, validateRestartPolicyRules(ctr, path, opts)...)
			}
		}
		if names.Has(ctr.Name) {
			allErrs = append(allErrs, field.Duplicate(path.Child("name"), ctr.Name))
		} else if ctr.Name != "" {
			names.Insert(ctr.Name)
		}
		// Each init container is checked alone: they run one by one
		// (upstream passes a one-element slice, so the index is always 0).
		allErrs = append(allErrs, checkHostPortConflicts([]corev1.Container{*ctr}, fldPath)...)
		if restartAlways {
			if ctr.Lifecycle != nil {
				allErrs = append(allErrs, validateLifecycle(ctr.Lifecycle, gracePeriod, path.Child("lifecycle"))...)
			}
			allErrs = append(allErrs, validateLivenessProbe(ctr.LivenessProbe, gracePeriod, path.Child("livenessProbe"))...)
			allErrs = append(allErrs, validateReadinessProbe(ctr.ReadinessProbe, gracePeriod, path.Child("readinessProbe"))...)
			allErrs = append(allErrs, validateStartupProbe(ctr.StartupProbe, gracePeriod, path.Child("startupProbe"))...)
		} else {
			if ctr.Lifecycle != nil {
				allErrs = append(allErrs, field.Forbidden(path.Child("lifecycle"), forbidden))
			}
			if ctr.LivenessProbe != nil {
				allErrs = append(allErrs, field.Forbidden(path.Child("livenessProbe"), forbidden))
			}
			if ctr.ReadinessProbe != nil {
				allErrs = append(allErrs, field.Forbidden(path.Child("readinessProbe"), forbidden))
			}
			if ctr.StartupProbe != nil {
				allErrs = append(allErrs, field.Forbidden(path.Child("startupProbe"), forbidden))
			}
		}
		// InPlacePodVerticalScaling is GA: init containers may carry a
		// resizePolicy, but one that is never resized cannot ask for a
		// restart on resize (kubernetes/kubernetes#137458; message ours).
		if !restartAlways {
			for j, rp := range ctr.ResizePolicy {
				if rp.RestartPolicy == corev1.RestartContainer {
					allErrs = append(allErrs, field.Invalid(path.Child("resizePolicy").Index(j).Child("restartPolicy"), rp.RestartPolicy,
						"must be 'NotRequired' for init containers without restartPolicy=Always"))
				}
			}
		}
	}
	return allErrs
}

var containerRestartPolicies = []corev1.ContainerRestartPolicy{
	corev1.ContainerRestartPolicyAlways, corev1.ContainerRestartPolicyOnFailure, corev1.ContainerRestartPolicyNever,
}

// validateInitContainerRestartPolicy: only Always without
// ContainerRestartRules; Always, OnFailure or Never with it.
func validateInitContainerRestartPolicy(p corev1.ContainerRestartPolicy, fldPath *field.Path, opts Options) field.ErrorList {
	valid := []corev1.ContainerRestartPolicy{corev1.ContainerRestartPolicyAlways}
	if opts.Gates.Enabled(features.ContainerRestartRules) {
		valid = containerRestartPolicies
	}
	if slices.Contains(valid, p) {
		return nil
	}
	return field.ErrorList{field.NotSupported(fldPath, p, valid)}
}

// validateRegularRestartPolicy checks a regular container's restartPolicy
// and restartPolicyRules (KEP-5307, SEMANTICS.md §3.2). With the gate off
// both were dropped before validation (§17), so the Forbidden branch only
// fires for objects that bypassed Load.
func validateRegularRestartPolicy(ctr *corev1.Container, path *field.Path, opts Options) field.ErrorList {
	var allErrs field.ErrorList
	if !opts.Gates.Enabled(features.ContainerRestartRules) {
		if ctr.RestartPolicy != nil {
			allErrs = append(allErrs, field.Forbidden(path.Child("restartPolicy"), "may not be set for non-init containers"))
		}
		if len(ctr.RestartPolicyRules) > 0 {
			allErrs = append(allErrs, field.Forbidden(path.Child("restartPolicyRules"), "may not be set for non-init containers"))
		}
		return allErrs
	}
	if ctr.RestartPolicy != nil && !slices.Contains(containerRestartPolicies, *ctr.RestartPolicy) {
		allErrs = append(allErrs, field.NotSupported(path.Child("restartPolicy"), *ctr.RestartPolicy, containerRestartPolicies))
	}
	if len(ctr.RestartPolicyRules) > 0 {
		allErrs = append(allErrs, validateRestartPolicyRules(ctr, path, opts)...)
	}
	return allErrs
}

const (
	maxRestartPolicyRules = 20
	maxRuleExitCodes      = 255
)

// validateRestartPolicyRules checks restartPolicyRules (KEP-5307): at
// most 20 rules, action Restart, exitCodes required with operator In or
// NotIn and at most 255 values (duplicates are not an error upstream).
func validateRestartPolicyRules(ctr *corev1.Container, path *field.Path, opts Options) field.ErrorList {
	rulesPath := path.Child("restartPolicyRules")
	if !opts.Gates.Enabled(features.ContainerRestartRules) {
		return field.ErrorList{field.Forbidden(rulesPath, "may not be set when the ContainerRestartRules feature gate is disabled")}
	}
	var allErrs field.ErrorList
	if ctr.RestartPolicy == nil {
		allErrs = append(allErrs, field.Required(path.Child("restartPolicy"), "must be specified when restartPolicyRules are used"))
	}
	if n := len(ctr.RestartPolicyRules); n > maxRestartPolicyRules {
		allErrs = append(allErrs, field.TooMany(rulesPath, n, maxRestartPolicyRules))
	}
	actions := []corev1.ContainerRestartRuleAction{corev1.ContainerRestartRuleActionRestart}
	if opts.Gates.Enabled(features.RestartAllContainersOnContainerExits) {
		actions = append(actions, corev1.ContainerRestartRuleAction("RestartAllContainers"))
	}
	for i, rule := range ctr.RestartPolicyRules {
		rp := rulesPath.Index(i)
		if !slices.Contains(actions, rule.Action) {
			if rule.Action == "" {
				allErrs = append(allErrs, field.Required(rp.Child("action"), ""))
			} else {
				allErrs = append(allErrs, field.NotSupported(rp.Child("action"), rule.Action, actions))
			}
		}
		if rule.ExitCodes == nil {
			allErrs = append(allErrs, field.Required(rp.Child("exitCodes"), "must be specified"))
			continue
		}
		ops := []corev1.ContainerRestartRuleOnExitCodesOperator{corev1.ContainerRestartRuleOnExitCodesOpIn, corev1.ContainerRestartRuleOnExitCodesOpNotIn}
		if !slices.Contains(ops, rule.ExitCodes.Operator) {
			allErrs = append(allErrs, field.NotSupported(rp.Child("exitCodes", "operator"), rule.ExitCodes.Operator, ops))
		}
		vp := rp.Child("exitCodes", "values")
		if n := len(rule.ExitCodes.Values); n > maxRuleExitCodes {
			allErrs = append(allErrs, field.TooMany(vp, n, maxRuleExitCodes))
		}
	}
	return allErrs
}

func validateRestartPolicy(p corev1.RestartPolicy, fldPath *field.Path) field.ErrorList {
	switch p {
	case corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever:
		return nil
	case "":
		return field.ErrorList{field.Required(fldPath, "")}
	}
	return field.ErrorList{field.NotSupported(fldPath, p, []corev1.RestartPolicy{
		corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever})}
}

func validateDNSPolicy(p corev1.DNSPolicy, fldPath *field.Path) field.ErrorList {
	switch p {
	case corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone:
		return nil
	case "":
		return field.ErrorList{field.Required(fldPath, "")}
	}
	return field.ErrorList{field.NotSupported(fldPath, p, []corev1.DNSPolicy{
		corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone})}
}

// validateHostNetworkPorts: under hostNetwork a hostPort must equal its
// containerPort (validatePodHostNetworkDeps).
func validateHostNetworkPorts(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	if !spec.HostNetwork {
		return nil
	}
	var allErrs field.ErrorList
	check := func(cs []corev1.Container, p *field.Path) {
		for i, c := range cs {
			for j, port := range c.Ports {
				if port.HostPort != port.ContainerPort {
					allErrs = append(allErrs, field.Invalid(p.Index(i).Child("ports").Index(j).Child("containerPort"),
						port.ContainerPort, "must match `hostPort` when `hostNetwork` is true"))
				}
			}
		}
	}
	check(spec.Containers, fldPath.Child("containers"))
	check(spec.InitContainers, fldPath.Child("initContainers"))
	return allErrs
}

func validateTolerations(ts []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i, t := range ts {
		p := fldPath.Index(i)
		if t.Key != "" {
			allErrs = append(allErrs, metavalidation.ValidateLabelName(t.Key, p.Child("key"))...)
		}
		if t.Key == "" && t.Operator != corev1.TolerationOpExists {
			allErrs = append(allErrs, field.Invalid(p.Child("operator"), t.Operator, "operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
		}
		if t.TolerationSeconds != nil && t.Effect != corev1.TaintEffectNoExecute {
			allErrs = append(allErrs, field.Invalid(p.Child("effect"), t.Effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
		switch t.Operator {
		case corev1.TolerationOpEqual, "":
			for _, msg := range validation.IsValidLabelValue(t.Value) {
				allErrs = append(allErrs, field.Invalid(p.Child("operator"), t.Value, msg))
			}
		case corev1.TolerationOpExists:
			if t.Value != "" {
				allErrs = append(allErrs, field.Invalid(p.Child("operator"), t, "value must be empty when `operator` is 'Exists'"))
			}
		default:
			allErrs = append(allErrs, field.NotSupported(p.Child("operator"), t.Operator, []corev1.TolerationOperator{corev1.TolerationOpEqual, corev1.TolerationOpExists}))
		}
		switch t.Effect {
		case "", corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		default:
			allErrs = append(allErrs, field.NotSupported(p.Child("effect"), t.Effect, []corev1.TaintEffect{
				corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute}))
		}
	}
	return allErrs
}

// validateStopSignals: lifecycle.stopSignal needs spec.os.name and a
// signal of that OS (ContainerStopSignals; dropped while the gate is off).
func validateStopSignals(spec *corev1.PodSpec, fldPath *field.Path, opts Options) field.ErrorList {
	var allErrs field.ErrorList
	for _, group := range []struct {
		cs   []corev1.Container
		path *field.Path
	}{{spec.InitContainers, fldPath.Child("initContainers")}, {spec.Containers, fldPath.Child("containers")}} {
		for i, c := range group.cs {
			if c.Lifecycle == nil || c.Lifecycle.StopSignal == nil {
				continue
			}
			p := group.path.Index(i).Child("lifecycle", "stopSignal")
			if !opts.Gates.Enabled(features.ContainerStopSignals) {
				allErrs = append(allErrs, field.Forbidden(p, "may not be set when the ContainerStopSignals feature gate is disabled"))
				continue
			}
			if spec.OS == nil || spec.OS.Name == "" {
				allErrs = append(allErrs, field.Forbidden(p, "may not be set for containers with empty `spec.os.name`"))
				continue
			}
			if spec.OS.Name == corev1.Windows {
				if s := *c.Lifecycle.StopSignal; s != corev1.SIGTERM && s != corev1.SIGKILL {
					allErrs = append(allErrs, field.NotSupported(p, s, []corev1.Signal{corev1.SIGKILL, corev1.SIGTERM}))
				}
			} else if !isLinuxSignal(*c.Lifecycle.StopSignal) {
				allErrs = append(allErrs, field.NotSupported(p, *c.Lifecycle.StopSignal, []string{"a Linux signal name such as SIGTERM or SIGRTMIN+1"}))
			}
		}
	}
	return allErrs
}

func isLinuxSignal(s corev1.Signal) bool {
	switch s {
	case corev1.SIGABRT, corev1.SIGALRM, corev1.SIGBUS, corev1.SIGCHLD, corev1.SIGCLD, corev1.SIGCONT, corev1.SIGFPE,
		corev1.SIGHUP, corev1.SIGILL, corev1.SIGINT, corev1.SIGIO, corev1.SIGIOT, corev1.SIGKILL, corev1.SIGPIPE,
		corev1.SIGPOLL, corev1.SIGPROF, corev1.SIGPWR, corev1.SIGQUIT, corev1.SIGSEGV, corev1.SIGSTKFLT,
		corev1.SIGSTOP, corev1.SIGSYS, corev1.SIGTERM, corev1.SIGTRAP, corev1.SIGTSTP, corev1.SIGTTIN,
		corev1.SIGTTOU, corev1.SIGURG, corev1.SIGUSR1, corev1.SIGUSR2, corev1.SIGVTALRM, corev1.SIGWINCH,
		corev1.SIGXCPU, corev1.SIGXFSZ, corev1.SIGRTMIN, corev1.SIGRTMAX:
		return true
	}
	for i := 1; i <= 14; i++ {
		if s == corev1.Signal(fmt.Sprintf("SIGRTMIN+%d", i)) || s == corev1.Signal(fmt.Sprintf("SIGRTMAX-%d", i)) {
			return true
		}
	}
	return s == "SIGRTMIN+15" || s == "SIGRTMAX-15"
}
