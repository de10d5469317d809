package shim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/internal/runtime/oci/crilog"
	"github.com/podrun/podrun/internal/runtime/oci/runc"
)

// reportFD is the descriptor of the report pipe in the shim.
const reportFD = 3

// killAllTimeout bounds `runc kill --all` after the main process exited.
const killAllTimeout = 10 * time.Second

// Main is the shim's program: args is its command line after the program
// name, the bundle directory. It returns the exit status: 0 once
// exit.json is written, 1 on any failure (explained on stderr, shim.log).
func Main(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: podrun-shim BUNDLE (started by podrun, not by hand)")
		return 2
	}
	cfg, err := ReadConfig(args[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "podrun-shim: %v\n", err)
		return 1
	}
	// Inherited without close-on-exec: the OCI runtime and the container
	// must not hold the report pipe open.
	unix.CloseOnExec(reportFD)
	if err := Run(cfg, os.NewFile(reportFD, "report")); err != nil {
		fmt.Fprintf(os.Stderr, "podrun-shim: container %s: %v\n", cfg.ID, err)
		return 1
	}
	return 0
}

// Run monitors one container (see the package comment) and returns when
// its main process has exited and exit.json is written. It makes the
// calling process a child subreaper that reaps every child: it is meant
// for the shim process alone. The report is closed once written.
func Run(cfg Config, rep io.WriteCloser) error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return reportFailure(rep, fmt.Errorf("become child subreaper: %w", err))
	}
	// The shim outlives the podrun process that started it and ignores
	// what a terminal or a session leader sends; SIGPIPE turns into EPIPE
	// on a report pipe whose reader died.
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)

	logs, err := crilog.Open(cfg.LogPath, cfg.LogMaxSize, cfg.LogMaxFiles, time.Now)
	if err != nil {
		return reportFailure(rep, err)
	}
	streams, drained, err := copyOutput(logs)
	if err != nil {
		logs.Close()
		return reportFailure(rep, err)
	}
	client := &runc.Client{Command: cfg.Runtime.Command, Wrapper: cfg.Runtime.Wrapper, Root: cfg.Runtime.Root}
	pidFile := filepath.Join(cfg.Bundle, PidFile)
	err = client.Create(context.Background(), cfg.ID, cfg.Bundle,
		runc.CreateOpts{PidFile: pidFile, Stdout: streams[0], Stderr: streams[1]})
	streams[0].Close()
	streams[1].Close()
	if err != nil {
		<-drained // the pipes are closed: no container process holds them
		return reportFailure(rep, err)
	}
	pid, err := runc.ReadPidFile(pidFile)
	if err != nil {
		return reportFailure(rep, err)
	}
	st := State{ShimPID: os.Getpid(), ShimStart: ProcessStart(os.Getpid()), PID: pid, PIDStart: ProcessStart(pid)}
	if err := writeJSON(cfg.Bundle, StateFile, st); err != nil {
		return reportFailure(rep, err)
	}
	// The runtime may have died meanwhile: the container goes on, and a
	// later runtime finds it through the state file.
	_ = writeReport(rep, report{PID: pid})

	ex, err := reapUntil(pid)
	if err != nil {
		return err
	}
	if cfg.KillAll {
		ctx, cancel := context.WithTimeout(context.Background(), killAllTimeout)
		err := client.Kill(ctx, cfg.ID, syscall.SIGKILL, runc.KillOpts{All: true})
		cancel()
		if err != nil && !errors.Is(err, runc.ErrNotExist) {
			fmt.Fprintf(os.Stderr, "podrun-shim: kill the rest of container %s: %v\n", cfg.ID, err)
		}
	}
	drain := cfg.DrainTimeout
	if drain <= 0 {
		drain = DefaultDrainTimeout
	}
	timer := time.NewTimer(drain)
	select {
	case <-drained:
	case <-timer.C:
		fmt.Fprintf(os.Stderr, "podrun-shim: output of container %s still open %v after its exit\n", cfg.ID, drain)
	}
	timer.Stop()
	return writeJSON(cfg.Bundle, ExitFile, ex)
}

// copyOutput creates the stdout and stderr pipes and copies their read
// ends into logs until EOF; it returns the write ends and a channel
// closed, with logs closed, when both copies ended. The copiers end with
// the shim process if the output never ends.
func copyOutput(logs *crilog.Writer) ([2]*os.File, <-chan struct{}, error) {
	var writers [2]*os.File
	var readers [2]*os.File
	for i := range writers {
		r, w, err := os.Pipe()
		if err != nil {
			for _, f := range append(readers[:i], writers[:i]...) {
				f.Close()
			}
			return writers, nil, fmt.Errorf("output pipe: %w", err)
		}
		readers[i], writers[i] = r, w
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i, name := range []string{"stdout", "stderr"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := logs.CopyStream(readers[i], name); err != nil {
				fmt.Fprintf(os.Stderr, "podrun-shim: copy %s: %v\n", name, err)
			}
			readers[i].Close()
		}()
	}
	go func() {
		wg.Wait()
		logs.Close()
		close(done)
	}()
	return writers, done, nil
}

// reapUntil reaps every child of the shim (the OCI runtime's orphans,
// re-parented to the subreaper) until pid exits, and returns its status.
func reapUntil(pid int) (Exit, error) {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return Exit{}, fmt.Errorf("wait for container process %d: %w", pid, err)
		}
		if got != pid {
			continue
		}
		ex := Exit{FinishedAt: time.Now()}
		switch {
		case ws.Exited():
			ex.Code = ws.ExitStatus()
		case ws.Signaled():
			ex.Signal = int(ws.Signal())
			ex.Code = 128 + ex.Signal
		}
		return ex, nil
	}
}

// reportFailure reports err to the runtime and returns it.
func reportFailure(rep io.WriteCloser, err error) error {
	r := report{Error: err.Error()}
	var rerr *runc.Error
	if errors.As(err, &rerr) {
		r.Stderr = rerr.Stderr
	}
	_ = writeReport(rep, r)
	return err
}

// writeReport writes r on the report pipe and closes it.
func writeReport(rep io.WriteCloser, r report) error {
	data, err := json.Marshal(r)
	if err == nil {
		_, err = rep.Write(data)
	}
	if cerr := rep.Close(); err == nil {
		err = cerr
	}
	return err
}
