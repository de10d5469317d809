// Package manifest turns Kubernetes manifests into validated k8s.io/api
// objects the way the API server would accept them:
//
//	files, dirs, "-"  --Load-->  Set (decoded strictly, defaulted,
//	                              disabled fields dropped)
//	Set               --Validate-->  nil | *ValidationError
//	                                      (field.ErrorList per object)
//
// Load decodes multi-document YAML and JSON into v1 Pod, batch/v1 Job, v1
// ConfigMap and v1 Secret (a v1 List is expanded), rejecting unknown and
// duplicated fields with their paths as `kubectl --validate=strict` does,
// then applies the API server's defaults (DefaultPod, DefaultJob, ...).
// Validate runs the API server's validation (pkg/apis/core/validation,
// pkg/apis/batch/validation, re-implemented here) and reports errors in
// its shapes: `The Pod "x" is invalid: spec.containers: Required value`.
//
// What the API server assigns at creation — UID, creationTimestamp, a
// generated name, a Job's selector and controller labels — is the caller's
// to request with Stamp, because it needs an identity the caller chooses.
// PodFromJobTemplate builds the pod the Job controller would create.
//
// Feature gates (features.Gates in Options) decide what the API server of
// the emulated release keeps and accepts; a field whose gate is off is
// dropped before validation, as the API server's registry strategy does.
package manifest
