// Package local is podrun's back-end on this machine: the state directory
// (internal/store), the image store (internal/image), the OCI runtime
// (internal/runtime/oci) and one podworker per pod, plus the Job
// controller's loop (internal/job) for Jobs.
//
//	RunPod(ctx, pod, opts) -> the pod, terminal
//	RunJob(ctx, job, opts) -> the Job, finished, and its pods
//
// A run drives its pods in the calling process and reports progress to a
// Watcher: every status change, and every line the containers print, read
// from their CRI log files as they grow. Deletion requests (Ctrl-C, a
// timeout) arrive on a channel and terminate the pods the way the kubelet
// does; cancelling ctx kills them at once (grace 0). Either way nothing is
// left running when a run returns.
//
// In the background (podrun apply) a detached supervisor per pod or Job
// does the same (Supervise, "Background pods" in supervise.go). A
// supervisor or run that dies leaves its containers running; the next
// podrun command starts a new supervisor, which continues the pods from
// their checkpoints (resume.go) — or, for what cannot be continued, ends
// them as the kubelet ends containers it cannot locate (adopt.go).
package local
