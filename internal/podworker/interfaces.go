package podworker

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/lifecycle"
)

// Store persists what the worker publishes. Implementations must be safe
// for use by one worker goroutine at a time; the worker calls them from
// its own goroutine only.
type Store interface {
	// SaveStatus stores the pod's latest status (pod is the worker's copy
	// of the spec and metadata, status the computed status).
	SaveStatus(ctx context.Context, pod *corev1.Pod, status corev1.PodStatus) error
	// AppendEvent stores an event. An event with the name of an earlier
	// one replaces it: a repeat aggregated into a higher count.
	AppendEvent(ctx context.Context, ev corev1.Event) error
	// SaveRecord stores the run record (the whole record each time).
	SaveRecord(ctx context.Context, rec *Record) error
	// SaveCheckpoint stores the worker's state (the whole of it each
	// time), for a worker that continues the pod later (Config.Resume).
	SaveCheckpoint(ctx context.Context, cp *Checkpoint) error
}

// Images makes a container's image available, as the kubelet's image
// manager does.
type Images interface {
	// EnsureImage makes ref present according to policy (Always pulls,
	// IfNotPresent pulls when missing, Never fails when missing) using the
	// pull secrets, and returns the resolved reference and whether a pull
	// happened. A failure should be a *runtime.StartError with reason
	// ErrImagePull, ErrImageNeverPull or InvalidImageName; any other error
	// counts as ErrImagePull.
	EnsureImage(ctx context.Context, ref string, policy corev1.PullPolicy, secrets []*corev1.Secret) (resolved string, pulled bool, err error)
}

// ImageSizer is an optional capability of Images: the size of a present
// image, for the Pulled event ("Image size: N bytes.").
type ImageSizer interface {
	ImageSize(ctx context.Context, ref string) (int64, error)
}

// HookTarget names the container instance a hook runs against.
type HookTarget struct {
	Pod         *corev1.Pod
	Container   *corev1.Container
	ContainerID string
	// StartedAt is when the hook first started. It is the current time
	// except for a preStop hook a resumed worker runs again (the kubelet
	// runs a container's preStop whenever it kills it, also after its
	// own restart): a sleep handler then sleeps only what is left of its
	// seconds counted from StartedAt.
	StartedAt time.Time
}

// Hooks runs lifecycle hook handlers (postStart, preStop).
type Hooks interface {
	// Run executes h against the target and blocks until it finished or
	// ctx ended. A failed handler returns an error whose text is the
	// kubelet's event message (FailedPostStartHook / FailedPreStopHook).
	Run(ctx context.Context, target HookTarget, h *corev1.LifecycleHandler) error
}

// ProbeTarget is one running container instance the prober should probe.
type ProbeTarget struct {
	Container   *corev1.Container
	ContainerID string
	StartedAt   time.Time
	// Killing is set once the instance is being killed: only its
	// readiness probe keeps running (SEMANTICS.md §4.2).
	Killing bool
	// Seed is set for an instance that predates the worker (it continues
	// a pod another worker drove, Config.Resume): its last Startup,
	// Liveness and Readiness results before the resume. A Prober that
	// sees the instance for the first time must start its cache from
	// them instead of the initial results (Startup Unknown, Liveness
	// Success, Readiness Failure) and keep its probe schedule aligned on
	// StartedAt. This is the kubelet's rule with
	// ChangeContainerStatusOnKubeletRestart off (1.37 default): a restart
	// changes no container's status, a started container stays started
	// and a ready one stays ready until a probe says otherwise
	// (kubernetes/kubernetes#137146 seeds the startup result from
	// status.started for the same reason).
	Seed *ProbeResults
}

// ProbeKind names a probe: Startup, Liveness or Readiness.
type ProbeKind string

// The three probes.
const (
	ProbeStartup   ProbeKind = "Startup"
	ProbeLiveness  ProbeKind = "Liveness"
	ProbeReadiness ProbeKind = "Readiness"
)

// ProbeResults are a container instance's cached probe results after
// thresholds (SEMANTICS.md §4.2); ProbeNone means no result yet.
type ProbeResults struct {
	Startup, Liveness, Readiness lifecycle.ProbeResult
	// Failed counts the failed probe runs of each kind since the instance
	// started, and Output holds the latest failure's output; the worker
	// emits one Unhealthy event per failed run ("Liveness probe failed:
	// OUTPUT"), aggregated like the kubelet's.
	Failed map[ProbeKind]int
	Output map[ProbeKind]string
}

// Prober runs probes outside the worker and caches their results. The
// worker tells it what to probe after every step, reads the cached
// results when it observes, and steps again when Updates fires.
type Prober interface {
	// Track replaces the set of container instances to probe.
	Track(pod *corev1.Pod, targets []ProbeTarget)
	// Results returns the cached results of one container instance.
	Results(containerID string) ProbeResults
	// Updates receives a value whenever a cached result changed; nil if
	// results never change.
	Updates() <-chan struct{}
}

// PlanFunc is the planner's Plan (lifecycle.Plan).
type PlanFunc func(pod *corev1.Pod, obs lifecycle.Observed, now time.Time) lifecycle.Decision

// StatusFunc is the planner's Status (lifecycle.Status).
type StatusFunc func(pod *corev1.Pod, obs lifecycle.Observed, now time.Time) corev1.PodStatus

// noProber is the Prober of a worker configured without one: no results.
type noProber struct{}

func (noProber) Track(*corev1.Pod, []ProbeTarget) {}
func (noProber) Results(string) ProbeResults      { return ProbeResults{} }
func (noProber) Updates() <-chan struct{}         { return nil }
