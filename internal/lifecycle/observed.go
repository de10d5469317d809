package lifecycle

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Settings are the node-level inputs the kubelet reads from its
// configuration and feature gates. The zero value is not valid: start from
// DefaultSettings.
type Settings struct {
	// MaxContainerRestartPeriod is the crash-loop back-off ceiling
	// (kubelet crashLoopBackOff.maxContainerRestartPeriod), 300 s by
	// default. The initial delay is min(10 s, this).
	MaxContainerRestartPeriod time.Duration
	// ContainerRestartRules enables container-level restartPolicy and
	// restartPolicyRules (KEP-5307; on in 1.37).
	ContainerRestartRules bool
	// RestartAllContainersOnContainerExits enables the
	// RestartAllContainers rule action (KEP-5532; off in 1.37).
	RestartAllContainersOnContainerExits bool
	// SidecarsRestartableDuringPodTermination lets sidecars restart while
	// the pod terminates (KEP-4438; off in 1.37).
	SidecarsRestartableDuringPodTermination bool
	// NodeIP is the node's address (the kubelet's --node-ip), reported
	// as status.hostIP and, for hostNetwork pods, as the pod IP; empty
	// until the executor knows it.
	NodeIP string
	// RuntimeName is the container runtime's name, the scheme of
	// status containerIDs ("runc" gives runc://ID); empty means "runc".
	RuntimeName string
}

// DefaultSettings returns the kubelet 1.37 defaults.
func DefaultSettings() Settings {
	return Settings{
		MaxContainerRestartPeriod: 300 * time.Second,
		ContainerRestartRules:     true,
	}
}

// Observed is everything known about one pod at a moment: what the runtime
// reported and what the executor recorded while acting on earlier
// decisions. It is also the basis of the run record, so it survives a
// supervisor restart.
type Observed struct {
	// Settings are the node settings in force.
	Settings Settings
	// Sandbox is the pod sandbox, nil before it was created.
	Sandbox *SandboxObservation
	// StartTime is when the pod was first seen by its executor
	// (status.startTime); activeDeadlineSeconds counts from it.
	StartTime time.Time
	// Termination is set once the pod's termination began (§6.1).
	Termination *Termination
	// Containers holds every container of the spec that has ever had an
	// attempt or a failed start, by name (init and regular names are
	// unique within a pod).
	Containers map[string]*ContainerObservation
	// LastPhase is the phase last reported; a terminal phase is sticky
	// (§7 post-processing).
	LastPhase corev1.PodPhase
	// Reason and Message are the pod-level status reason and message once
	// set (DeadlineExceeded).
	Reason  string
	Message string
	// LastConditions are the pod conditions last reported; Status keeps
	// a condition's lastTransitionTime while its status is unchanged, as
	// the kubelet does against the previous API status. The executor
	// stores the conditions of every status it publishes here.
	LastConditions []corev1.PodCondition
}

// SandboxObservation is the pod sandbox as observed.
type SandboxObservation struct {
	ID        string
	Ready     bool
	IP        string
	CreatedAt time.Time
}

// TerminationReason says why the whole pod is being terminated.
type TerminationReason string

// Why a pod terminates (SEMANTICS.md §6.1).
const (
	// TerminationCompleted: every regular container exited and none will
	// restart (T1).
	TerminationCompleted TerminationReason = "Completed"
	// TerminationInitFailed: a regular init container failed and will not
	// be retried (T2, S8).
	TerminationInitFailed TerminationReason = "InitFailed"
	// TerminationDeleted: the pod was deleted (T3); the pod's
	// DeletionTimestamp and DeletionGracePeriodSeconds are set.
	TerminationDeleted TerminationReason = "Deleted"
	// TerminationDeadlineExceeded: activeDeadlineSeconds passed (T3).
	TerminationDeadlineExceeded TerminationReason = "DeadlineExceeded"
)

// Termination records the start of a pod's termination: one start time and
// one grace budget shared by every container (T9).
type Termination struct {
	Reason    TerminationReason
	StartedAt time.Time
	// Grace is the budget: the deletion grace period, else the pod's
	// terminationGracePeriodSeconds (§6.3).
	Grace time.Duration
}

// ContainerObservation is the history of one container of the spec.
type ContainerObservation struct {
	// Attempts are the container's instances, oldest first; the last one
	// is the current instance. restartCount = len(Attempts)-1.
	Attempts []Attempt
	// StartFailure is the last failed attempt to start a new instance
	// (pull, create or start error), cleared by the next success. It
	// becomes the Waiting reason (§9).
	StartFailure *StartFailure
	// ImagePullBackoff is the image-pull back-off entry, if any pull failed.
	ImagePullBackoff *BackoffEntry
}

// StartFailure is a failed pull, create or start.
type StartFailure struct {
	// Reason is a Waiting reason: ErrImagePull, ImagePullBackOff,
	// ErrImageNeverPull, CreateContainerConfigError, RunContainerError...
	Reason  string
	Message string
	At      time.Time
}

// AttemptState is the runtime state of one container instance.
type AttemptState string

// The states of an attempt, as CRI reports them.
const (
	AttemptCreated AttemptState = "Created"
	AttemptRunning AttemptState = "Running"
	AttemptExited  AttemptState = "Exited"
	AttemptUnknown AttemptState = "Unknown"
)

// ProbeResult is a probe's cached result after thresholds (§4.2).
type ProbeResult string

// Probe results. The zero value means no result yet.
const (
	ProbeNone    ProbeResult = ""
	ProbeSuccess ProbeResult = "Success"
	ProbeFailure ProbeResult = "Failure"
	ProbeUnknown ProbeResult = "Unknown"
)

// Attempt is one container instance.
type Attempt struct {
	// ID is the runtime's container ID.
	ID    string
	State AttemptState
	// Image and ImageID are the resolved image of this instance.
	Image   string
	ImageID string
	// CreatedAt, StartedAt, FinishedAt are zero until they happened.
	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	// ExitCode, Signal, Reason and Message describe the exit (§9, T10).
	ExitCode int32
	Signal   int
	Reason   string
	Message  string

	// PostStart is the postStart hook's progress (H1, H2).
	PostStart HookProgress
	// Startup, Liveness and Readiness are the cached probe results for
	// this instance; ProbeNone until the prober reported.
	Startup   ProbeResult
	Liveness  ProbeResult
	Readiness ProbeResult
	// StartedTrueAt is when status.started first became true, and
	// ReadyTransitions every change of status.ready, for the run record.
	StartedTrueAt    time.Time
	ReadyTransitions []ReadyTransition

	// Kill is set once the executor began killing this instance.
	Kill *Kill
}

// HookState is the progress of a lifecycle hook.
type HookState string

// Hook states; the zero value means the hook has not run (or there is none).
const (
	HookNotRun    HookState = ""
	HookRunning   HookState = "Running"
	HookSucceeded HookState = "Succeeded"
	HookFailed    HookState = "Failed"
)

// HookProgress records one hook run.
type HookProgress struct {
	State     HookState
	StartedAt time.Time
	DoneAt    time.Time
	Message   string
}

// ReadyTransition is one change of a container's ready flag.
type ReadyTransition struct {
	At    time.Time
	Ready bool
}

// KillReason says why a single container is being killed.
type KillReason string

// Why a container is killed (H3).
const (
	KillPodTermination KillReason = "PodTermination"
	KillLivenessProbe  KillReason = "LivenessProbe"
	KillStartupProbe   KillReason = "StartupProbe"
	KillPostStartHook  KillReason = "PostStartHook"
	KillUnknownState   KillReason = "UnknownState"
)

// Kill is the progress of killing one container instance (§6.3): preStop,
// the turn in the termination order, the stop signal, then SIGKILL.
type Kill struct {
	Reason    KillReason
	StartedAt time.Time
	// Grace is the container's budget before preStop and waiting are
	// subtracted.
	Grace time.Duration
	// PreStop is the preStop hook's progress; DoneAt is also set when the
	// executor gave up waiting for it at the end of the grace.
	PreStop HookProgress
	// SignaledAt is when the stop signal was sent, KillAt when SIGKILL is
	// due, KilledAt when SIGKILL was sent.
	SignaledAt time.Time
	KillAt     time.Time
	KilledAt   time.Time
}

// Current returns the newest attempt, or nil.
func (c *ContainerObservation) Current() *Attempt {
	if c == nil || len(c.Attempts) == 0 {
		return nil
	}
	return &c.Attempts[len(c.Attempts)-1]
}

// Previous returns the attempt before the newest, or nil.
func (c *ContainerObservation) Previous() *Attempt {
	if c == nil || len(c.Attempts) < 2 {
		return nil
	}
	return &c.Attempts[len(c.Attempts)-2]
}

// RestartCount is the number of instances before the current one.
func (c *ContainerObservation) RestartCount() int32 {
	if c == nil || len(c.Attempts) == 0 {
		return 0
	}
	return int32(len(c.Attempts) - 1)
}

// Container returns the observation of name, or nil.
func (o *Observed) Container(name string) *ContainerObservation {
	if o == nil || o.Containers == nil {
		return nil
	}
	return o.Containers[name]
}
