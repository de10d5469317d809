package runc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// State is the runtime's view of a container, as `runc state` prints it.
type State struct {
	Version     string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// CreateOpts are the options of Create.
type CreateOpts struct {
	// PidFile receives the container process's host PID.
	PidFile string
	// NoPivot and NoNewKeyring are runc's --no-pivot and --no-new-keyring.
	NoPivot      bool
	NoNewKeyring bool
	// Stdin, Stdout and Stderr become the container process's stdio; nil
	// means /dev/null. They must be files (see the package comment).
	Stdin, Stdout, Stderr *os.File
}

func (o CreateOpts) args() []string {
	var args []string
	if o.PidFile != "" {
		args = append(args, "--pid-file", o.PidFile)
	}
	if o.NoPivot {
		args = append(args, "--no-pivot")
	}
	if o.NoNewKeyring {
		args = append(args, "--no-new-keyring")
	}
	return args
}

// Create creates container id from the bundle directory without starting
// its process. It returns once the runtime has exited; the container
// process is then an orphan waiting for Start.
func (c *Client) Create(ctx context.Context, id, bundle string, opts CreateOpts) error {
	args := append([]string{"--bundle", bundle}, opts.args()...)
	cmd := c.command(ctx, "create", append(args, id)...)
	// Assign only non-nil files: a typed nil *os.File in an io.Writer
	// would not read as "no stdio".
	if opts.Stdin != nil {
		cmd.Stdin = opts.Stdin
	}
	var stderr *os.File
	if opts.Stdout != nil {
		cmd.Stdout = opts.Stdout
	}
	if opts.Stderr != nil {
		stderr = opts.Stderr
	}
	if stderr == nil {
		_, err := c.run(cmd, "create", id)
		return err
	}
	// The container's stderr is a file the runtime's own messages would
	// also go to; send those to --log instead so they can be reported.
	return c.createWithStderr(cmd, id, stderr)
}

// createWithStderr runs create with the container's stderr file as the
// runtime's stderr, reading the runtime's error messages from a private
// --log file.
func (c *Client) createWithStderr(cmd *exec.Cmd, id string, stderr *os.File) error {
	if c.Log != "" {
		cmd.Stderr = stderr
		_, err := c.run(cmd, "create", id)
		return err
	}
	dir, err := os.MkdirTemp("", "runc-create-")
	if err != nil {
		return fmt.Errorf("create %q: %w", id, err)
	}
	defer os.RemoveAll(dir)
	logFile := filepath.Join(dir, "log.json")
	// Insert --log and --log-format json before the subcommand.
	argv := append([]string{}, cmd.Args[:len(cmd.Args)-len(c.subArgs(cmd))]...)
	argv = append(argv, "--log", logFile, "--log-format", "json")
	argv = append(argv, c.subArgs(cmd)...)
	cmd.Args = argv
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return &Error{Op: "create", ID: id, Args: argv, Stderr: readJSONLog(logFile), Err: err}
	}
	return nil
}

// subArgs returns the part of cmd.Args from the subcommand on.
func (c *Client) subArgs(cmd *exec.Cmd) []string {
	n := len(c.Wrapper) + 1 + len(c.globalArgs())
	return cmd.Args[n:]
}

// readJSONLog returns the error-level messages of a runtime --log file in
// JSON format.
func readJSONLog(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var msgs []string
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		var rec struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			msgs = append(msgs, sc.Text())
			continue
		}
		if rec.Level == "error" || rec.Level == "fatal" || rec.Level == "warning" {
			msgs = append(msgs, rec.Msg)
		}
	}
	return strings.Join(msgs, "\n")
}

// Start starts the process of created container id.
func (c *Client) Start(ctx context.Context, id string) error {
	_, err := c.run(c.command(ctx, "start", id), "start", id)
	return err
}

// State reports container id.
func (c *Client) State(ctx context.Context, id string) (*State, error) {
	out, err := c.run(c.command(ctx, "state", id), "state", id)
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(out, &st); err != nil {
		return nil, fmt.Errorf("decode state of %q: %w", id, err)
	}
	return &st, nil
}

// List reports every container under the client's root.
func (c *Client) List(ctx context.Context) ([]State, error) {
	out, err := c.run(c.command(ctx, "list", "--format", "json"), "list", "")
	if err != nil {
		return nil, err
	}
	var states []State
	if s := strings.TrimSpace(string(out)); s == "" || s == "null" {
		return nil, nil
	}
	if err := json.Unmarshal(out, &states); err != nil {
		return nil, fmt.Errorf("decode container list: %w", err)
	}
	return states, nil
}

// KillOpts are the options of Kill.
type KillOpts struct {
	// All signals every process of the container (--all).
	All bool
}

// Kill sends sig to the container's process (or all its processes).
func (c *Client) Kill(ctx context.Context, id string, sig syscall.Signal, opts KillOpts) error {
	var args []string
	if opts.All {
		args = append(args, "--all")
	}
	args = append(args, id, strconv.Itoa(int(sig)))
	_, err := c.run(c.command(ctx, "kill", args...), "kill", id)
	return err
}

// DeleteOpts are the options of Delete.
type DeleteOpts struct {
	// Force kills a running container first (--force).
	Force bool
}

// Delete removes container id and its runtime state.
func (c *Client) Delete(ctx context.Context, id string, opts DeleteOpts) error {
	var args []string
	if opts.Force {
		args = append(args, "--force")
	}
	_, err := c.run(c.command(ctx, "delete", append(args, id)...), "delete", id)
	return err
}

// ExecOpts are the options of Exec.
type ExecOpts struct {
	// Process replaces the container's process configuration entirely
	// (--process); when nil the new process inherits the container's
	// user, environment, capabilities and working directory, changed by
	// Env and Cwd.
	Process *specs.Process
	Env     []string
	Cwd     string
	// PidFile receives the exec'd process's host PID; a temporary file is
	// used when empty. Its presence tells a process exit from a failure
	// of the runtime itself.
	PidFile string
	// Stdin, Stdout and Stderr connect to the process.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// ExecWaitDelay bounds the wait for the exec'd process's output after it
// exited or the context ended (a background child may hold the pipes).
const ExecWaitDelay = 2 * time.Second

// Exec runs args in container id and waits for it. It returns the process's
// exit code (128+signal when signalled); an error means the process could
// not be run or ctx ended, in which case the process has been killed.
func (c *Client) Exec(ctx context.Context, id string, args []string, opts ExecOpts) (int, error) {
	pidFile := opts.PidFile
	if pidFile == "" {
		dir, err := os.MkdirTemp("", "runc-exec-")
		if err != nil {
			return -1, fmt.Errorf("exec in %q: %w", id, err)
		}
		defer os.RemoveAll(dir)
		pidFile = filepath.Join(dir, "pid")
	}
	cmdArgs := []string{"--pid-file", pidFile}
	if opts.Process != nil {
		f, err := os.CreateTemp("", "runc-process-*.json")
		if err != nil {
			return -1, fmt.Errorf("exec in %q: %w", id, err)
		}
		defer os.Remove(f.Name())
		if err := json.NewEncoder(f).Encode(opts.Process); err != nil {
			f.Close()
			return -1, fmt.Errorf("exec in %q: write process: %w", id, err)
		}
		if err := f.Close(); err != nil {
			return -1, fmt.Errorf("exec in %q: write process: %w", id, err)
		}
		cmdArgs = append(cmdArgs, "--process", f.Name())
	} else {
		for _, e := range opts.Env {
			cmdArgs = append(cmdArgs, "--env", e)
		}
		if opts.Cwd != "" {
			cmdArgs = append(cmdArgs, "--cwd", opts.Cwd)
		}
	}
	cmdArgs = append(cmdArgs, id)
	if opts.Process == nil {
		cmdArgs = append(cmdArgs, args...)
	}
	cmd := c.command(ctx, "exec", cmdArgs...)
	cmd.Stdin, cmd.Stdout = opts.Stdin, opts.Stdout
	cmd.Stderr = opts.Stderr
	cmd.WaitDelay = ExecWaitDelay
	cmd.Cancel = func() error {
		// Kill the exec'd process and let the runtime reap it and exit:
		// killing the runtime instead would leave the process running
		// in the container, or orphan its zombie. Only a runtime that
		// has not started the process yet is killed (and WaitDelay
		// kills one that does not exit).
		if pid, err := readPid(pidFile); err == nil {
			return syscall.Kill(pid, syscall.SIGKILL)
		}
		return cmd.Process.Kill()
	}
	var stderr strings.Builder
	if cmd.Stderr == nil {
		cmd.Stderr = &stderr
	} else {
		cmd.Stderr = io.MultiWriter(cmd.Stderr, &stderr)
	}
	err := cmd.Run()
	if ctx.Err() != nil {
		return -1, fmt.Errorf("exec in %q: %w", id, ctx.Err())
	}
	if _, perr := readPid(pidFile); perr != nil {
		// The process never started: the runtime failed.
		if err == nil {
			err = errors.New("no process started")
		}
		return -1, &Error{Op: "exec", ID: id, Args: cmd.Args, Stderr: cleanStderr(stderr.String()), Err: err}
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() >= 0:
		return exitErr.ExitCode(), nil
	case errors.Is(err, exec.ErrWaitDelay):
		return cmd.ProcessState.ExitCode(), nil
	default:
		return -1, &Error{Op: "exec", ID: id, Args: cmd.Args, Stderr: cleanStderr(stderr.String()), Err: err}
	}
}

// readPid reads a runtime pid file.
func readPid(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s: bad content %q", path, data)
	}
	return pid, nil
}

// ReadPidFile reads a pid file written by Create or Exec.
func ReadPidFile(path string) (int, error) { return readPid(path) }

// Event is one record of `runc events`: "oom", "stats", ...
type Event struct {
	Type string          `json:"type"`
	ID   string          `json:"id"`
	Data json.RawMessage `json:"data,omitempty"`
}

// EventsOpts are the options of Events.
type EventsOpts struct {
	// Interval is the stats interval (--interval); zero is the default.
	Interval time.Duration
	// Stats prints one stats record and exits (--stats).
	Stats bool
}

// Events streams the events of container id to fn until the runtime exits
// (the container is gone) or ctx ends; it blocks meanwhile and returns nil
// when ctx ended. fn runs on the calling goroutine.
func (c *Client) Events(ctx context.Context, id string, opts EventsOpts, fn func(Event)) error {
	var args []string
	if opts.Interval > 0 {
		args = append(args, "--interval", opts.Interval.String())
	}
	if opts.Stats {
		args = append(args, "--stats")
	}
	cmd := c.command(ctx, "events", append(args, id)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("events of %q: %w", id, err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return &Error{Op: "events", ID: id, Args: cmd.Args, Err: err}
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		var ev Event
		if json.Unmarshal(sc.Bytes(), &ev) == nil {
			fn(ev)
		}
	}
	err = cmd.Wait()
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return &Error{Op: "events", ID: id, Args: cmd.Args, Stderr: cleanStderr(stderr.String()), Err: err}
	}
	return nil
}

// VersionInfo is what `runtime --version` reports.
type VersionInfo struct {
	// Version is the first line, e.g. "runc version 1.1.5".
	Version string
	// Spec is the OCI runtime-spec version the runtime implements (the
	// "spec:" line), e.g. "1.0.2-dev"; empty if not reported.
	Spec string
}

// Version runs `runtime --version`.
func (c *Client) Version(ctx context.Context) (VersionInfo, error) {
	cmd := exec.CommandContext(ctx, c.binary(), "--version")
	out, err := c.run(cmd, "version", "")
	if err != nil {
		return VersionInfo{}, err
	}
	return parseVersion(string(out)), nil
}

// parseVersion parses `runtime --version` output.
func parseVersion(out string) VersionInfo {
	var v VersionInfo
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if i == 0 {
			v.Version = strings.TrimSpace(line)
		}
		if rest, ok := strings.CutPrefix(line, "spec:"); ok {
			v.Spec = strings.TrimSpace(rest)
		}
	}
	return v
}
