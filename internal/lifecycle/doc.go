// Package lifecycle is podrun's planner: the kubelet's container lifecycle
// (SEMANTICS.md §1–§10) as pure functions.
//
//	Plan(pod, observed, now)   -> Decision{Actions, WakeAt}
//	Status(pod, observed, now) -> corev1.PodStatus
//
// Observed holds everything the planner knows: each container's attempts
// (runtime state, exit, probe results, hook and kill progress), the pod's
// termination if it began, and the node settings (back-off ceiling, feature
// gates). The executor (internal/podworker) owns I/O and time: it observes,
// calls Plan, performs the actions in order, records their effects in
// Observed, and calls Plan again at WakeAt or on the next event.
//
// The package performs no I/O, reads no clock, starts no goroutines and
// imports no other podrun package; imports_test.go enforces it. Every rule
// names its SEMANTICS.md label.
package lifecycle
