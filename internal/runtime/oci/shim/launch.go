package shim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/podrun/podrun/internal/runtime/oci/runc"
)

// Launched is a shim that created its container.
type Launched struct {
	// ShimPID is the shim's PID: a child of the caller until it exits,
	// which the caller reaps through ShimPidfd when it learns of it.
	ShimPID int
	// ShimPidfd is a pidfd of the shim (close-on-exec, blocking), owned
	// by the caller: unlike the PID it cannot name another process.
	ShimPidfd int
	// PID is the container's main process (created, not yet started).
	PID int
}

// Launch writes cfg into the bundle, starts the shim binary for it and
// waits until the shim reports the container created. A failure of the
// OCI runtime's create is a *runc.Error carrying the runtime's message;
// the shim has then exited and been reaped. When ctx ends first, the shim
// is killed; the container, if created, is left to the caller's delete.
func Launch(ctx context.Context, binary string, cfg Config) (Launched, error) {
	if err := WriteConfig(cfg); err != nil {
		return Launched{}, err
	}
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		return Launched{}, err
	}
	defer devNull.Close()
	logf, err := os.OpenFile(filepath.Join(cfg.Bundle, LogFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return Launched{}, fmt.Errorf("shim log: %w", err)
	}
	defer logf.Close()
	repR, repW, err := os.Pipe()
	if err != nil {
		return Launched{}, fmt.Errorf("shim report pipe: %w", err)
	}
	defer repR.Close()
	pidfd := -1
	proc, err := os.StartProcess(binary, []string{binary, cfg.Bundle}, &os.ProcAttr{
		Dir:   "/",
		Files: []*os.File{devNull, logf, logf, repW},
		Sys:   &syscall.SysProcAttr{Setsid: true, PidFD: &pidfd},
	})
	repW.Close()
	if err != nil {
		return Launched{}, fmt.Errorf("start shim %s: %w", binary, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = repR.SetReadDeadline(time.Now()) })
	data, rerr := io.ReadAll(repR)
	stop()
	var rep report
	switch {
	case ctx.Err() != nil:
		rerr = ctx.Err()
	case rerr == nil && len(data) == 0:
		rerr = errors.New("shim exited without reporting")
	case rerr == nil:
		rerr = json.Unmarshal(data, &rep)
	}
	if rerr == nil && rep.PID > 0 {
		// The caller watches and reaps it from now on.
		pid := proc.Pid
		_ = proc.Release()
		return Launched{ShimPID: pid, ShimPidfd: pidfd, PID: rep.PID}, nil
	}
	if pidfd >= 0 {
		_ = syscall.Close(pidfd)
	}
	if rerr != nil {
		_ = proc.Kill()
	}
	_, _ = proc.Wait()
	if rerr != nil {
		return Launched{}, fmt.Errorf("shim for container %s: %w%s", cfg.ID, rerr, shimLog(cfg.Bundle))
	}
	return Launched{}, &runc.Error{Op: "create", ID: cfg.ID, Args: []string{cfg.Runtime.Command, "create"},
		Stderr: rep.Stderr, Err: errors.New(rep.Error)}
}

// shimLog returns the shim's log, for an error message.
func shimLog(bundle string) string {
	data, err := os.ReadFile(filepath.Join(bundle, LogFile))
	if err != nil || len(data) == 0 {
		return ""
	}
	return ": " + strings.TrimSpace(string(data))
}
