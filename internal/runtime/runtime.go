// Package runtime defines the seam between podrun's executor and a container
// runtime: a subset of the Kubernetes CRI (a pod sandbox, containers, exec,
// exits) with typed error kinds. Implementations live below it: runtime/oci
// drives runc or crun, runtime/fake follows a script on a fake clock, and
// runtime/runtimetest is the contract both must pass.
package runtime

import (
	"context"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Runtime runs the containers of pods. Every method is safe for concurrent
// use. Methods are idempotent where CRI's are: removing a removed object and
// signalling an exited container succeed.
type Runtime interface {
	// RunPodSandbox creates the pod's shared environment (network and UTS
	// namespaces, hosts files, cgroup parent, volumes) and returns its ID.
	RunPodSandbox(ctx context.Context, cfg SandboxConfig) (string, error)
	// RemovePodSandbox stops and removes every container of the sandbox
	// and then the sandbox itself, leaving nothing behind.
	RemovePodSandbox(ctx context.Context, sandboxID string) error
	// PodSandboxStatus reports a sandbox; ErrNotFound if it does not exist.
	PodSandboxStatus(ctx context.Context, sandboxID string) (SandboxStatus, error)
	// ListPodSandbox reports the sandboxes of the pod with UID podUID,
	// oldest first, including those another process using the same
	// runtime state created (a supervisor that died): a new executor
	// finds the pod's containers through them.
	ListPodSandbox(ctx context.Context, podUID string) ([]SandboxStatus, error)

	// CreateContainer prepares a container in a sandbox without starting
	// it. A configuration the runtime cannot honour is a *StartError with
	// reason CreateContainerConfigError or CreateContainerError.
	CreateContainer(ctx context.Context, sandboxID string, cfg ContainerConfig) (string, error)
	// StartContainer starts a created container; a failure is a
	// *StartError with reason RunContainerError and the container ends
	// Exited with reason StartError.
	StartContainer(ctx context.Context, containerID string) error
	// SignalContainer sends sig to the container's main process. Signalling
	// an exited container succeeds.
	SignalContainer(ctx context.Context, containerID string, sig syscall.Signal) error
	// RemoveContainer removes an exited container; its log file stays.
	RemoveContainer(ctx context.Context, containerID string) error
	// ContainerStatus reports one container; ErrNotFound if unknown.
	ContainerStatus(ctx context.Context, containerID string) (ContainerStatus, error)
	// ListContainers reports every container of a sandbox, oldest first.
	ListContainers(ctx context.Context, sandboxID string) ([]ContainerStatus, error)
	// WaitContainer blocks until the container has exited (or ctx ends)
	// and returns its final status. It learns of exits from the kernel or
	// the runtime's own clock, never by polling.
	WaitContainer(ctx context.Context, containerID string) (ContainerStatus, error)
	// ExecSync runs cmd inside a running container and waits for it, at
	// most timeout (0 = no limit).
	ExecSync(ctx context.Context, containerID string, cmd []string, timeout time.Duration) (ExecResult, error)
}

// ImageService makes images available to a Runtime, as CRI's image service.
type ImageService interface {
	// PullImage fetches ref with the given credentials and returns the
	// image's resolved reference (with digest).
	PullImage(ctx context.Context, ref string, auth []Credential) (string, error)
	// ImagePresent reports whether ref is in the local store.
	ImagePresent(ctx context.Context, ref string) (bool, error)
}

// Credential is a username/password pair for one registry host.
type Credential struct {
	Registry string
	Username string
	Password string
}

// SandboxConfig describes the pod a sandbox is created for.
type SandboxConfig struct {
	// Pod is the defaulted pod; its UID names the sandbox.
	Pod *corev1.Pod
	// Attempt counts sandboxes created for this pod before (0 first).
	Attempt int
	// LogDir is the directory that receives the containers' log files.
	LogDir string
	// ConfigMaps and Secrets are the objects of the same apply set,
	// by name, for configMap/secret volumes and env references.
	ConfigMaps map[string]*corev1.ConfigMap
	Secrets    map[string]*corev1.Secret
}

// SandboxStatus reports a sandbox.
type SandboxStatus struct {
	ID string
	// Attempt is SandboxConfig.Attempt of the sandbox.
	Attempt   int
	Ready     bool
	IP        string
	CreatedAt time.Time
}

// ContainerConfig describes one container instance (attempt) to create.
type ContainerConfig struct {
	// Name is the container's name in the pod spec.
	Name string
	// Attempt is the instance number: restartCount at creation.
	Attempt int
	// Pod is the defaulted pod; Container points into its spec.
	Pod       *corev1.Pod
	Container *corev1.Container
	// Image is the reference resolved by the image service.
	Image string
	// LogPath is the file receiving stdout and stderr in CRI format.
	LogPath string
}

// State is the runtime state of a container, as CRI's ContainerState.
type State int

// The container states a runtime reports.
const (
	StateUnknown State = iota
	StateCreated
	StateRunning
	StateExited
)

func (s State) String() string {
	switch s {
	case StateCreated:
		return "Created"
	case StateRunning:
		return "Running"
	case StateExited:
		return "Exited"
	default:
		return "Unknown"
	}
}

// ContainerStatus is what a runtime knows of one container instance.
type ContainerStatus struct {
	ID        string
	SandboxID string
	Name      string
	Attempt   int
	State     State
	// CreatedAt, StartedAt and FinishedAt are zero until they happened.
	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	// ExitCode is 128+signal for a signalled process (137, 143).
	ExitCode int32
	// Signal is the signal that ended the process, 0 if it exited.
	Signal syscall.Signal
	// Reason is the runtime's terminated reason: Completed, Error,
	// OOMKilled or StartError.
	Reason string
	// Message is the termination message (terminationMessagePath or the
	// log tail with FallbackToLogsOnError), or the start error.
	Message string
	// Image is the resolved image reference; ImageID its digest.
	Image   string
	ImageID string
	LogPath string
	PID     int
}

// ExecResult is the outcome of ExecSync.
type ExecResult struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int
}
