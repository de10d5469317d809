package fake

import (
	"fmt"
	"strings"
	"time"

	"github.com/podrun/podrun/internal/runtime"
)

// Script scripts containers by name. A container without an entry runs its
// own command, interpreted by ParseCommand.
type Script map[string]Behavior

// Behavior is how a scripted container behaves. When RunFor, ExitCode,
// OnSIGTERM or Lines is set it replaces the container's command; FailCreate
// and FailStart apply either way.
type Behavior struct {
	// RunFor is how long the process runs before exiting by itself;
	// Forever for a server.
	RunFor time.Duration
	// ExitCode is the exit code after RunFor.
	ExitCode int
	// OnSIGTERM is what the process does on SIGTERM; nil ignores it, as
	// `sleep` does as PID 1, so the kill ends with SIGKILL (137).
	OnSIGTERM *TermAction
	// Lines are printed to stdout when the process starts.
	Lines []string
	// FailCreate makes CreateContainer fail with this error (for example
	// reason CreateContainerConfigError); FailStart makes StartContainer
	// fail (reason RunContainerError) and the container end with reason
	// StartError, exit code 128.
	FailCreate *runtime.StartError
	FailStart  *runtime.StartError
}

// TermAction is a reaction to SIGTERM: exit with Code After a delay.
type TermAction struct {
	After time.Duration
	Code  int
}

// ExitAfter returns a TermAction exiting with code d after SIGTERM.
func ExitAfter(d time.Duration, code int) *TermAction { return &TermAction{After: d, Code: code} }

// overridesCommand reports whether b replaces the container's command.
func (b Behavior) overridesCommand() bool {
	return b.RunFor != 0 || b.ExitCode != 0 || b.OnSIGTERM != nil || len(b.Lines) > 0
}

// Command renders b as the busybox command that behaves the same way, so a
// script can also run on a real runtime.
func (b Behavior) Command() []string {
	var parts []string
	if b.OnSIGTERM != nil {
		parts = append(parts, fmt.Sprintf("trap 'sleep %s; exit %d' TERM", seconds(b.OnSIGTERM.After), b.OnSIGTERM.Code))
	}
	for _, l := range b.Lines {
		parts = append(parts, "echo '"+strings.ReplaceAll(l, "'", "")+"'")
	}
	run := "sleep " + seconds(b.RunFor)
	if b.RunFor >= Forever {
		run = "sleep infinity"
	}
	if b.OnSIGTERM != nil {
		run += " & wait"
	}
	parts = append(parts, run, fmt.Sprintf("exit %d", b.ExitCode))
	return []string{"sh", "-c", strings.Join(parts, "; ")}
}

// seconds formats d as a sleep operand.
func seconds(d time.Duration) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", d.Seconds()), "0"), ".")
}
