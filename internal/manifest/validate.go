package manifest

import (
	"fmt"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// InvalidError is one object the API server would reject, formatted as
// kubectl prints the server's answer:
//
//	The Pod "x" is invalid: spec.containers: Required value
//	The Job "y" is invalid: [e1, e2]
type InvalidError struct {
	// Kind is the object's kind ("Pod", "Job", "ConfigMap", "Secret").
	Kind string
	// Name is the object's name.
	Name string
	// Errs are the validation errors, in the API server's order.
	Errs field.ErrorList
}

// Error formats the failure as kubectl prints the API server's answer.
func (e *InvalidError) Error() string {
	return fmt.Sprintf("The %s %q is invalid: %v", e.Kind, e.Name, e.Errs.ToAggregate())
}

// ObjectError places an InvalidError (or any other per-object failure)
// in the input.
type ObjectError struct {
	// Object is the object that failed, with its source.
	Object Object
	// Err is an *InvalidError, or an error about the set (a duplicate).
	Err error
}

// Error returns the cause's message.
func (e *ObjectError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *ObjectError) Unwrap() error { return e.Err }

// ValidationError holds every object of a Set that failed validation.
type ValidationError struct {
	// Objects are the failures in input order.
	Objects []*ObjectError
}

// Error lists the failed objects, one per line, in input order.
func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Objects))
	for i, o := range e.Objects {
		msgs[i] = o.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap returns the per-object errors.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Objects))
	for i, o := range e.Objects {
		errs[i] = o
	}
	return errs
}

// Validate validates every object of the set as the API server would on
// create, and reports objects of one kind that share a namespace and name
// (the second would fail with AlreadyExists). It returns nil or a
// *ValidationError listing every failed object.
func (s *Set) Validate(opts Options) error {
	var out []*ObjectError
	seen := map[string]bool{}
	for _, o := range s.Objects {
		if errs := Validate(o.Object, opts); len(errs) > 0 {
			out = append(out, &ObjectError{Object: o, Err: &InvalidError{Kind: KindOf(o.Object), Name: nameOf(o.Object), Errs: errs}})
			continue
		}
		key := fmt.Sprintf("%s/%s/%s", KindOf(o.Object), namespaceOf(o.Object), nameOf(o.Object))
		if nameOf(o.Object) != "" && seen[key] {
			out = append(out, &ObjectError{Object: o, Err: fmt.Errorf("%s %q already exists", pluralOf(o.Object), nameOf(o.Object))})
			continue
		}
		seen[key] = true
	}
	if len(out) == 0 {
		return nil
	}
	return &ValidationError{Objects: out}
}

// Validate validates one decoded and defaulted object as the API server
// does on create. Unsupported types give an internal error.
func Validate(obj runtime.Object, opts Options) field.ErrorList {
	switch o := obj.(type) {
	case *corev1.Pod:
		return ValidatePod(o, opts)
	case *batchv1.Job:
		return ValidateJob(o, opts)
	case *corev1.ConfigMap:
		return ValidateConfigMap(o)
	case *corev1.Secret:
		return ValidateSecret(o)
	}
	return field.ErrorList{field.InternalError(nil, fmt.Errorf("unsupported object %T", obj))}
}

// KindOf returns the kind of a supported object ("Pod", "Job",
// "ConfigMap", "Secret").
func KindOf(obj runtime.Object) string {
	switch obj.(type) {
	case *corev1.Pod:
		return "Pod"
	case *batchv1.Job:
		return "Job"
	case *corev1.ConfigMap:
		return "ConfigMap"
	case *corev1.Secret:
		return "Secret"
	}
	return fmt.Sprintf("%T", obj)
}

// ResourceName returns kubectl's TYPE/NAME for an object: pod/x,
// job.batch/x, configmap/x, secret/x.
func ResourceName(obj runtime.Object) string {
	return resourceOf(obj) + "/" + nameOf(obj)
}

func resourceOf(obj runtime.Object) string {
	switch obj.(type) {
	case *batchv1.Job:
		return "job.batch"
	}
	return strings.ToLower(KindOf(obj))
}

// pluralOf is the resource as the API server's AlreadyExists names it.
func pluralOf(obj runtime.Object) string {
	if _, ok := obj.(*batchv1.Job); ok {
		return "jobs.batch"
	}
	return strings.ToLower(KindOf(obj)) + "s"
}

func nameOf(obj runtime.Object) string {
	if m, ok := obj.(metav1.Object); ok {
		return m.GetName()
	}
	return ""
}

func namespaceOf(obj runtime.Object) string {
	if m, ok := obj.(metav1.Object); ok {
		return m.GetNamespace()
	}
	return ""
}
