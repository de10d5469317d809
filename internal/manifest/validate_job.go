package manifest

import (
	"fmt"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	maxPodFailurePolicyRules     = 20
	maxPodFailurePolicyExitCodes = 255
	maxParallelismForIndexedJob  = 100000
)

// ValidateJob validates a defaulted Job as the API server does on create
// (pkg/apis/batch/validation ValidateJob): metadata, the generated
// selector and labels, the spec and its pod template — whose
// restartPolicy must be OnFailure or Never, and Never with a
// podFailurePolicy (SEMANTICS.md J1). A Job not yet stamped is validated
// as if Stamp had given it its (empty) UID.
func ValidateJob(job *batchv1.Job, opts Options) field.ErrorList {
	j := job.DeepCopy()
	if j.Name == "" && j.GenerateName != "" {
		j.Name = j.GenerateName + "xxxxx"
	}
	if !manualSelector(j) {
		generateSelector(j)
	}
	allErrs := apivalidation.ValidateObjectMeta(&j.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	allErrs = append(allErrs, validateGeneratedSelector(j)...)
	allErrs = append(allErrs, validateJobSpec(&j.Spec, field.NewPath("spec"), opts)...)
	if s := j.Spec; s.CompletionMode != nil && *s.CompletionMode == batchv1.IndexedCompletion && s.Completions != nil && *s.Completions > 0 {
		host := fmt.Sprintf("%s-%d", j.Name, *s.Completions-1)
		if len(validation.IsDNS1123Label(host)) > 0 {
			allErrs = append(allErrs, field.Invalid(field.NewPath("metadata", "name"), j.Name,
				fmt.Sprintf("will not able to create pod with invalid DNS label: %s", host)))
		}
	}
	return allErrs
}

func manualSelector(j *batchv1.Job) bool {
	return j.Spec.ManualSelector != nil && *j.Spec.ManualSelector
}

func validateGeneratedSelector(j *batchv1.Job) field.ErrorList {
	if manualSelector(j) {
		return nil
	}
	labelsPath := field.NewPath("spec", "template", "metadata", "labels")
	if j.Spec.Template.Labels == nil {
		return field.ErrorList{field.Required(labelsPath, "")}
	}
	var allErrs field.ErrorList
	want := map[string]string{
		LegacyControllerUIDLabel:   string(j.UID),
		LegacyJobNameLabel:         j.Name,
		batchv1.ControllerUidLabel: string(j.UID),
		batchv1.JobNameLabel:       j.Name,
	}
	for _, k := range []string{LegacyControllerUIDLabel, LegacyJobNameLabel, batchv1.ControllerUidLabel, batchv1.JobNameLabel} {
		if got := j.Spec.Template.Labels[k]; got != want[k] {
			allErrs = append(allErrs, field.Invalid(labelsPath.Key(k), got, fmt.Sprintf("must be '%s'", want[k])))
		}
	}
	if j.Spec.Selector != nil {
		if got := j.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel]; got != string(j.UID) {
			allErrs = append(allErrs, field.Invalid(field.NewPath("spec", "selector", "matchLabels").Key(batchv1.ControllerUidLabel), got,
				fmt.Sprintf("must be '%s'", j.UID)))
		}
	}
	return allErrs
}

func validateJobSpec(spec *batchv1.JobSpec, fldPath *field.Path, opts Options) field.ErrorList {
	var allErrs field.ErrorList
	nonneg := func(v *int32, name string) {
		if v != nil {
			allErrs = append(allErrs, apivalidation.ValidateNonnegativeField(int64(*v), fldPath.Child(name))...)
		}
	}
	nonneg(spec.Parallelism, "parallelism")
	nonneg(spec.Completions, "completions")
	if spec.ActiveDeadlineSeconds != nil {
		allErrs = append(allErrs, apivalidation.ValidateNonnegativeField(*spec.ActiveDeadlineSeconds, fldPath.Child("activeDeadlineSeconds"))...)
	}
	nonneg(spec.BackoffLimit, "backoffLimit")
	nonneg(spec.TTLSecondsAfterFinished, "ttlSecondsAfterFinished")
	if spec.BackoffLimitPerIndex != nil {
		nonneg(spec.BackoffLimitPerIndex, "backoffLimitPerIndex")
		if spec.CompletionMode == nil || *spec.CompletionMode != batchv1.IndexedCompletion {
			allErrs = append(allErrs, field.Forbidden(fldPath.Child("backoffLimitPerIndex"), "requires indexed completion mode"))
		}
	}
	if spec.CompletionMode != nil {
		switch *spec.CompletionMode {
		case batchv1.NonIndexedCompletion:
		case batchv1.IndexedCompletion:
			if spec.Completions == nil {
				allErrs = append(allErrs, field.Required(fldPath.Child("completions"), fmt.Sprintf("when completion mode is %s", batchv1.IndexedCompletion)))
			}
			if spec.Parallelism != nil && *spec.Parallelism > maxParallelismForIndexedJob {
				allErrs = append(allErrs, field.Invalid(fldPath.Child("parallelism"), *spec.Parallelism,
					fmt.Sprintf("must be less than or equal to %d when completion mode is %s", maxParallelismForIndexedJob, batchv1.IndexedCompletion)))
			}
		default:
			allErrs = append(allErrs, field.NotSupported(fldPath.Child("completionMode"), *spec.CompletionMode,
				[]batchv1.CompletionMode{batchv1.NonIndexedCompletion, batchv1.IndexedCompletion}))
		}
	}
	if spec.PodFailurePolicy != nil {
		allErrs = append(allErrs, validatePodFailurePolicy(spec, fldPath.Child("podFailurePolicy"))...)
	}
	allErrs = append(allErrs, validatePodReplacementPolicy(spec, fldPath.Child("podReplacementPolicy"))...)
	allErrs = append(allErrs, ValidatePodTemplateSpec(&spec.Template, fldPath.Child("template"), opts)...)
	rp := spec.Template.Spec.RestartPolicy
	rpPath := fldPath.Child("template", "spec", "restartPolicy")
	switch {
	case rp == corev1.RestartPolicyAlways || rp == "":
		allErrs = append(allErrs, field.Required(rpPath, fmt.Sprintf("valid values: %q, %q", corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever)))
	case rp != corev1.RestartPolicyOnFailure && rp != corev1.RestartPolicyNever:
		allErrs = append(allErrs, field.NotSupported(rpPath, rp, []corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}))
	case spec.PodFailurePolicy != nil && rp != corev1.RestartPolicyNever:
		allErrs = append(allErrs, field.Invalid(rpPath, rp, fmt.Sprintf("only %q is supported when podFailurePolicy is specified", corev1.RestartPolicyNever)))
	}
	if spec.Selector == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("selector"), ""))
	} else {
		allErrs = append(allErrs, metavalidation.ValidateLabelSelector(spec.Selector, metavalidation.LabelSelectorValidationOptions{}, fldPath.Child("selector"))...)
		if sel, err := metav1.LabelSelectorAsSelector(spec.Selector); err == nil && !sel.Matches(labels.Set(spec.Template.Labels)) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("template", "metadata", "labels"), spec.Template.Labels, "`selector` does not match template `labels`"))
		}
	}
	return allErrs
}

var podFailurePolicyActions = []batchv1.PodFailurePolicyAction{
	batchv1.PodFailurePolicyActionCount, batchv1.PodFailurePolicyActionFailIndex, batchv1.PodFailurePolicyActionFailJob, batchv1.PodFailurePolicyActionIgnore,
}

func validatePodFailurePolicy(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	rulesPath := fldPath.Child("rules")
	rules := spec.PodFailurePolicy.Rules
	if len(rules) > maxPodFailurePolicyRules {
		allErrs = append(allErrs, field.TooMany(rulesPath, len(rules), maxPodFailurePolicyRules))
	}
	names := sets.New[string]()
	for _, c := range spec.Template.Spec.Containers {
		names.Insert(c.Name)
	}
	for _, c := range spec.Template.Spec.InitContainers {
		names.Insert(c.Name)
	}
	for i := range rules {
		rule := &rules[i]
		rp := rulesPath.Index(i)
		ap := rp.Child("action")
		switch {
		case rule.Action == "":
			allErrs = append(allErrs, field.Required(ap, fmt.Sprintf("valid values: %q", podFailurePolicyActions)))
		case rule.Action == batchv1.PodFailurePolicyActionFailIndex:
			if spec.BackoffLimitPerIndex == nil {
				allErrs = append(allErrs, field.Invalid(ap, rule.Action, "requires the backoffLimitPerIndex to be set"))
			}
		case !slices.Contains(podFailurePolicyActions, rule.Action):
			allErrs = append(allErrs, field.NotSupported(ap, rule.Action, podFailurePolicyActions))
		}
		if rule.OnExitCodes != nil {
			allErrs = append(allErrs, validateOnExitCodes(rule.OnExitCodes, rp.Child("onExitCodes"), names)...)
		}
		for j, pc := range rule.OnPodConditions {
			cp := rp.Child("onPodConditions").Index(j)
			switch pc.Status {
			case corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown:
			default:
				allErrs = append(allErrs, field.NotSupported(cp.Child("status"), pc.Status,
					[]corev1.ConditionStatus{corev1.ConditionFalse, corev1.ConditionTrue, corev1.ConditionUnknown}))
			}
			for _, msg := range validation.IsQualifiedName(string(pc.Type)) {
				allErrs = append(allErrs, field.Invalid(cp.Child("type"), pc.Type, msg))
			}
		}
		if rule.OnExitCodes != nil && len(rule.OnPodConditions) > 0 {
			allErrs = append(allErrs, field.Invalid(rp, field.OmitValueType{}, "specifying both OnExitCodes and OnPodConditions is not supported"))
		}
		if rule.OnExitCodes == nil && len(rule.OnPodConditions) == 0 {
			allErrs = append(allErrs, field.Invalid(rp, field.OmitValueType{}, "specifying one of OnExitCodes and OnPodConditions is required"))
		}
	}
	return allErrs
}

func validateOnExitCodes(req *batchv1.PodFailurePolicyOnExitCodesRequirement, fldPath *field.Path, names sets.Set[string]) field.ErrorList {
	var allErrs field.ErrorList
	ops := []batchv1.PodFailurePolicyOnExitCodesOperator{batchv1.PodFailurePolicyOnExitCodesOpIn, batchv1.PodFailurePolicyOnExitCodesOpNotIn}
	op := fldPath.Child("operator")
	switch {
	case req.Operator == "":
		allErrs = append(allErrs, field.Required(op, fmt.Sprintf("valid values: %q", ops)))
	case !slices.Contains(ops, req.Operator):
		allErrs = append(allErrs, field.NotSupported(op, req.Operator, ops))
	}
	if req.ContainerName != nil && !names.Has(*req.ContainerName) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("containerName"), *req.ContainerName,
			"must be one of the container or initContainer names in the pod template"))
	}
	vp := fldPath.Child("values")
	if len(req.Values) == 0 {
		allErrs = append(allErrs, field.Invalid(vp, req.Values, "at least one value is required"))
	} else if len(req.Values) > maxPodFailurePolicyExitCodes {
		allErrs = append(allErrs, field.TooMany(vp, len(req.Values), maxPodFailurePolicyExitCodes))
	}
	ordered := true
	seen := sets.New[int32]()
	for j, v := range req.Values {
		if req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && v == 0 {
			allErrs = append(allErrs, field.Invalid(vp.Index(j), v, "must not be 0 for the In operator"))
		}
		if seen.Has(v) {
			allErrs = append(allErrs, field.Duplicate(vp.Index(j), v))
		}
		seen.Insert(v)
		if j > 0 && req.Values[j-1] > v {
			ordered = false
		}
	}
	if !ordered {
		allErrs = append(allErrs, field.Invalid(vp, req.Values, "must be ordered"))
	}
	return allErrs
}

func validatePodReplacementPolicy(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	if spec.PodReplacementPolicy == nil {
		return nil
	}
	valid := []batchv1.PodReplacementPolicy{batchv1.Failed, batchv1.TerminatingOrFailed}
	if spec.PodFailurePolicy != nil {
		valid = []batchv1.PodReplacementPolicy{batchv1.Failed}
	}
	if slices.Contains(valid, *spec.PodReplacementPolicy) {
		return nil
	}
	return field.ErrorList{field.NotSupported(fldPath, *spec.PodReplacementPolicy, valid)}
}
