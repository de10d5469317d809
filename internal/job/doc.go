// Package job holds the Job controller's rules (SEMANTICS.md §11) as a pure
// planner (the pods it asks for come from manifest.PodFromJobTemplate):
//
//	Plan(job, pods, now) -> Decision{CreatePods, DeletePods, Status, Events, WakeAt}
//
// It covers NonIndexed Jobs: completions and parallelism, backoffLimit (pod
// failures, and restarts of OnFailure pods including sidecars, J4), the
// pod-failure back-off (J5), activeDeadlineSeconds (J6), podFailurePolicy
// (J7) and the condition pairs SuccessCriteriaMet/Complete and
// FailureTarget/Failed (J3, J8). Like internal/lifecycle it performs no I/O
// and reads no clock.
package job
