package runc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// ErrNotExist is wrapped by the *Error of a call naming a container the
// runtime does not know.
var ErrNotExist = errors.New("container does not exist")

// Client runs an OCI runtime binary with a fixed set of global flags. The
// zero value runs "runc" with runc's default state root; podrun always sets
// Root to a private directory. A Client is safe for concurrent use.
type Client struct {
	// Command is the runtime binary: a name looked up in PATH or a path.
	// Empty means "runc".
	Command string
	// Wrapper, if set, is an argv prefix that runs Command: the client
	// executes Wrapper[0] with Wrapper[1:], then Command and its arguments
	// (e.g. a mount-namespace wrapper for crun).
	Wrapper []string
	// Root is the --root state directory.
	Root string
	// Log and LogFormat are --log and --log-format, when set.
	Log       string
	LogFormat string
	// Debug adds --debug.
	Debug bool
	// SystemdCgroup adds --systemd-cgroup.
	SystemdCgroup bool
}

// Error is a failed runtime invocation.
type Error struct {
	// Op is the subcommand ("create", "kill", ...) and ID the container.
	Op string
	ID string
	// Args is the full command line.
	Args []string
	// Stderr is what the runtime wrote to its standard error, trimmed.
	Stderr string
	// Err is the underlying error, usually an *exec.ExitError.
	Err error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s %s %q: %v", e.command(), e.Op, e.ID, e.Err)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

// Unwrap returns the underlying error and, when the runtime said the
// container does not exist, ErrNotExist.
func (e *Error) Unwrap() []error {
	errs := []error{e.Err}
	if notExist(e.Stderr) {
		errs = append(errs, ErrNotExist)
	}
	return errs
}

func (e *Error) command() string {
	if len(e.Args) == 0 {
		return "runtime"
	}
	return e.Args[0]
}

// notExist recognises the "unknown container" messages of runc and crun.
func notExist(stderr string) bool {
	s := strings.ToLower(stderr)
	return strings.Contains(s, "does not exist") || strings.Contains(s, "container not found") ||
		(strings.Contains(s, "error opening file") && strings.Contains(s, "no such file or directory"))
}

// binary returns the runtime binary name.
func (c *Client) binary() string {
	if c.Command == "" {
		return "runc"
	}
	return c.Command
}

// globalArgs renders the global flags.
func (c *Client) globalArgs() []string {
	var args []string
	if c.Root != "" {
		args = append(args, "--root", c.Root)
	}
	if c.Log != "" {
		args = append(args, "--log", c.Log)
	}
	if c.LogFormat != "" {
		args = append(args, "--log-format", c.LogFormat)
	}
	if c.Debug {
		args = append(args, "--debug")
	}
	if c.SystemdCgroup {
		args = append(args, "--systemd-cgroup")
	}
	return args
}

// command builds the exec.Cmd for one subcommand.
func (c *Client) command(ctx context.Context, sub string, args ...string) *exec.Cmd {
	argv := append([]string{}, c.Wrapper...)
	argv = append(argv, c.binary())
	argv = append(argv, c.globalArgs()...)
	argv = append(argv, sub)
	argv = append(argv, args...)
	return exec.CommandContext(ctx, argv[0], argv[1:]...)
}

// run executes cmd to completion, capturing stdout (unless the caller set
// cmd.Stdout) and stderr, and wraps a failure in an *Error.
func (c *Client) run(cmd *exec.Cmd, op, id string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	if cmd.Stdout == nil {
		cmd.Stdout = &stdout
	}
	if cmd.Stderr == nil {
		cmd.Stderr = &stderr
	} else {
		cmd.Stderr = io.MultiWriter(cmd.Stderr, &stderr)
	}
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), &Error{Op: op, ID: id, Args: cmd.Args, Stderr: cleanStderr(stderr.String()), Err: err}
	}
	return stdout.Bytes(), nil
}

// cleanStderr trims the runtime's stderr and, for runc's logrus text lines
// (time="..." level=error msg="..."), keeps only the messages.
func cleanStderr(s string) string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if i := strings.Index(line, `msg="`); i >= 0 && strings.HasPrefix(line, "time=") {
			msg := line[i+len(`msg="`):]
			msg = strings.TrimSuffix(msg, `"`)
			msg = strings.ReplaceAll(msg, `\"`, `"`)
			out = append(out, msg)
			continue
		}
		if line != "" {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
