package shim

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Names of the shim's files in a container's bundle.
const (
	ConfigFile = "shim.json"
	StateFile  = "shim-state.json"
	ExitFile   = "exit.json"
	LogFile    = "shim.log"
	// PidFile is the OCI runtime's --pid-file.
	PidFile = "pid"
)

// DefaultDrainTimeout bounds the wait for a container's output after its
// main process exited (a process outside its PID namespace may hold the
// pipes).
const DefaultDrainTimeout = 2 * time.Second

// Config is what a shim needs to run one container: shim.json.
type Config struct {
	// ID is the container's ID in the OCI runtime; Bundle its bundle
	// directory (config.json, rootfs).
	ID     string `json:"id"`
	Bundle string `json:"bundle"`
	// Runtime is the OCI runtime command line: binary, optional argv
	// prefix that runs it, and its --root.
	Runtime RuntimeCommand `json:"runtime"`
	// LogPath is the CRI log file; LogMaxSize and LogMaxFiles rotate it
	// (the crilog defaults when zero).
	LogPath     string `json:"logPath"`
	LogMaxSize  int64  `json:"logMaxSize,omitempty"`
	LogMaxFiles int    `json:"logMaxFiles,omitempty"`
	// KillAll kills every process of the container when its main
	// process exits (a shared PID namespace).
	KillAll bool `json:"killAll,omitempty"`
	// DrainTimeout bounds the wait for the output after the exit;
	// DefaultDrainTimeout when zero.
	DrainTimeout time.Duration `json:"drainTimeout,omitempty"`
}

// RuntimeCommand is the OCI runtime as runc.Client runs it.
type RuntimeCommand struct {
	Command string   `json:"command"`
	Wrapper []string `json:"wrapper,omitempty"`
	Root    string   `json:"root"`
}

// State identifies the shim and the container's main process:
// shim-state.json. Start times (field 22 of /proc/PID/stat) guard against
// a recycled PID.
type State struct {
	ShimPID   int    `json:"shimPid"`
	ShimStart string `json:"shimStart"`
	PID       int    `json:"pid"`
	PIDStart  string `json:"pidStart"`
}

// Exit is how the container's main process ended: exit.json.
type Exit struct {
	// Code is the exit code, 128+signal when signalled.
	Code int `json:"code"`
	// Signal is the signal that killed it, 0 if it exited.
	Signal int `json:"signal,omitempty"`
	// FinishedAt is when the shim reaped it.
	FinishedAt time.Time `json:"finishedAt"`
}

// report is what the shim writes on its report pipe once the container
// is created: its PID, or the error that prevented it.
type report struct {
	PID   int    `json:"pid,omitempty"`
	Error string `json:"error,omitempty"`
	// Stderr is the OCI runtime's own message, when it gave one.
	Stderr string `json:"stderr,omitempty"`
}

// WriteConfig writes cfg into its bundle.
func WriteConfig(cfg Config) error { return writeJSON(cfg.Bundle, ConfigFile, cfg) }

// ReadConfig reads a bundle's shim.json.
func ReadConfig(bundle string) (Config, error) {
	var cfg Config
	return cfg, readJSON(bundle, ConfigFile, &cfg)
}

// ReadState reads a bundle's shim-state.json; an error wrapping
// os.ErrNotExist when no shim reported a container.
func ReadState(bundle string) (State, error) {
	var st State
	return st, readJSON(bundle, StateFile, &st)
}

// ReadExit reads a bundle's exit.json; an error wrapping os.ErrNotExist
// while the container has not exited (or its shim died first).
func ReadExit(bundle string) (Exit, error) {
	var ex Exit
	return ex, readJSON(bundle, ExitFile, &ex)
}

// writeJSON writes v as dir/name atomically: a reader sees the old file or
// the whole new one, also if the writer is killed.
func writeJSON(dir, name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	tmp := filepath.Join(dir, "."+name+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	// No fsync: what these files describe does not survive a crash of
	// the machine either.
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// readJSON decodes dir/name into v.
func readJSON(dir, name string, v any) error {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s in %s: %w", name, dir, err)
	}
	return nil
}

// ProcessStart returns a process's start time (field 22 of /proc/PID/stat,
// clock ticks since boot), or "" when it does not exist. With the PID it
// names one process for the life of the machine.
func ProcessStart(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(data)
	// The command name (field 2) may contain spaces; fields restart
	// after its closing parenthesis.
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		fields := strings.Fields(s[i+1:])
		if len(fields) > 19 {
			return fields[19]
		}
	}
	return ""
}
