package runtime

import (
	"errors"
	"fmt"
)

// Error kinds every Runtime returns, checked with errors.Is.
var (
	// ErrNotFound: the sandbox, container or image does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: the object to create exists already.
	ErrAlreadyExists = errors.New("already exists")
	// ErrNotSupported: the runtime cannot do this on this machine.
	ErrNotSupported = errors.New("not supported")
)

// Reasons a failed start reports in a container's Waiting state, as the
// kubelet's (pkg/kubelet/container/sync_result.go, pkg/kubelet/images).
const (
	ReasonCreateContainerConfigError = "CreateContainerConfigError"
	ReasonCreateContainerError       = "CreateContainerError"
	ReasonRunContainerError          = "RunContainerError"
	ReasonErrImagePull               = "ErrImagePull"
	ReasonImagePullBackOff           = "ImagePullBackOff"
	ReasonErrImageNeverPull          = "ErrImageNeverPull"
	ReasonInvalidImageName           = "InvalidImageName"
	ReasonPostStartHookError         = "PostStartHookError"
)

// StartError is a failed attempt to pull, create or start a container. Its
// Reason becomes the container's Waiting reason.
type StartError struct {
	Reason  string
	Message string
	Err     error
}

func (e *StartError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Reason, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Reason, e.Message)
}

func (e *StartError) Unwrap() error { return e.Err }
