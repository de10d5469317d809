package spec

import (
	"errors"
	"fmt"
)

// ConfigError is a container configuration the kubelet refuses before
// anything is created: a missing ConfigMap, Secret or key that is not
// optional, or a runAsNonRoot violation. Its message is the kubelet's, word
// for word; the runtime reports it as a *runtime.StartError with reason
// CreateContainerConfigError and this message.
type ConfigError struct {
	// Message is the kubelet's text, e.g. `configmap "x" not found`.
	Message string
}

// Error returns the kubelet's message.
func (e *ConfigError) Error() string { return e.Message }

func configErrorf(format string, args ...any) error {
	return &ConfigError{Message: fmt.Sprintf(format, args...)}
}

// IsConfigError reports whether err is, or wraps, a *ConfigError and
// returns the kubelet's message.
func IsConfigError(err error) (string, bool) {
	var ce *ConfigError
	if errors.As(err, &ce) {
		return ce.Message, true
	}
	return "", false
}

// ErrNoCommand: neither the container nor the image names a command. The
// runtime reports it as CreateContainerError, as containerd does.
var ErrNoCommand = errors.New("no command specified")
