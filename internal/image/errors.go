package image

import (
	"errors"
	"fmt"
)

// Error kinds, checked with errors.Is. The three pull kinds name the
// container Waiting reasons the kubelet reports for them.
var (
	// ErrNotFound: the store holds no image by that name.
	ErrNotFound = errors.New("image not found")
	// ErrInvalidImageName: the name cannot be parsed (reason
	// InvalidImageName).
	ErrInvalidImageName = errors.New("InvalidImageName")
	// ErrImagePull: pulling the image failed (reason ErrImagePull).
	ErrImagePull = errors.New("ErrImagePull")
	// ErrImageNeverPull: the image is absent and the pull policy is Never
	// (reason ErrImageNeverPull).
	ErrImageNeverPull = errors.New("ErrImageNeverPull")
)

// Reason returns the container Waiting reason the kubelet reports for err
// ("ErrImagePull", "InvalidImageName", "ErrImageNeverPull"), or "" when err
// is none of the pull kinds.
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrInvalidImageName):
		return "InvalidImageName"
	case errors.Is(err, ErrImageNeverPull):
		return "ErrImageNeverPull"
	case errors.Is(err, ErrImagePull):
		return "ErrImagePull"
	}
	return ""
}

// kindError is an error of a kind with a message of its own (the
// kubelet's wording) and an optional cause.
type kindError struct {
	kind error
	msg  string
	err  error
}

func (e *kindError) Error() string {
	if e.err == nil {
		return e.msg
	}
	return e.msg + ": " + e.err.Error()
}

func (e *kindError) Is(target error) bool { return target == e.kind }

func (e *kindError) Unwrap() error { return e.err }

func newKindError(kind error, err error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...), err: err}
}
