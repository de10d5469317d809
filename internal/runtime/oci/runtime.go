package oci

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"k8s.io/utils/clock"

	"github.com/podrun/podrun/internal/runtime"
	"github.com/podrun/podrun/internal/runtime/oci/runc"
)

// ImageSource gives the runtime an image's unpacked layers and config. The
// image store implements it.
type ImageSource interface {
	// Lookup returns the directories of ref's unpacked layers, bottom
	// first, and its config; an unknown image is an error wrapping
	// runtime.ErrNotFound.
	Lookup(ctx context.Context, ref string) (layerDirs []string, config *v1.ConfigFile, err error)
}

// Options configure a Runtime.
type Options struct {
	// Root is podrun's state directory for this runtime: bundles,
	// sandboxes and the OCI runtime's private --root live below it.
	Root string
	// Runtime is "runc" (the default), "crun" or the path of a binary
	// with runc's command line.
	Runtime string
	// Images provides image layers and configs. Required.
	Images ImageSource
	// Logger receives debug and warning records; nil discards them.
	Logger *slog.Logger
	// CgroupParent is the cgroup (an absolute path in every hierarchy)
	// below which each pod gets its own cgroup; default "/podrun".
	CgroupParent string
	// LogMaxSize and LogMaxFiles rotate container logs like the
	// kubelet's containerLogMaxSize and containerLogMaxFiles; defaults
	// 10 MiB and 5.
	LogMaxSize  int64
	LogMaxFiles int
	// NoOverlay makes root filesystems copies of the layers instead of
	// overlay mounts.
	NoOverlay bool
	// Clock stamps container creation and start times; default the real
	// clock. Log lines and finishedAt are stamped by the shims with the
	// real clock.
	Clock clock.PassiveClock
	// SeccompDefault gives containers without a seccompProfile the
	// RuntimeDefault profile, as a kubelet with seccompDefault: true; by
	// default they are unconfined, as with the kubelet's default.
	SeccompDefault bool
	// SeccompRoot is the directory Localhost seccomp profiles are read
	// from (the kubelet's <root-dir>/seccomp); default Root/seccomp.
	SeccompRoot string
	// NodeName and NodeIP answer the downward API's spec.nodeName and
	// status.hostIP; NodeName defaults to the host name.
	NodeName string
	NodeIP   string
	// Reaper is the process's child subreaper, shared by all Runtimes of
	// the process; nil uses one created on first use and kept for the
	// life of the process (two Reapers in one process would reap each
	// other's orphans).
	Reaper *Reaper
	// Shim is the path of the podrun-shim binary; when empty, $PODRUN_SHIM,
	// then podrun-shim beside the running executable, then $PATH.
	Shim string
}

// ShimEnv is the environment variable naming the podrun-shim binary when
// Options.Shim is empty.
const ShimEnv = "PODRUN_SHIM"

// Runtime runs pods' containers as OCI containers under runc or crun. It
// implements runtime.Runtime; all methods are safe for concurrent use.
//
// Each container has a shim (podrun-shim, package shim) that is its
// parent, copies its output and records its exit; the Runtime learns of
// the exit from a pidfd of the shim that the Go netpoller watches, reaps
// the shim if it is its child (wait4 on that one PID), and reads the
// status the shim wrote. Container processes are never this process's
// children. Close stops watching; containers, shims and their logging go
// on, and a Runtime on the same Root takes them over (reattach.go).
type Runtime struct {
	opts    Options
	runc    *runc.Client
	log     *slog.Logger
	clock   clock.PassiveClock
	cgroups []cgroupMount
	// ownOOMScore is this process's oom_score_adj; containers are never
	// asked to go below it (lowering needs CAP_SYS_RESOURCE).
	ownOOMScore int

	// loadMu serialises loading sandboxes from disk.
	loadMu sync.Mutex
	// shimMu guards shimPath, resolved on first use.
	shimMu   sync.Mutex
	shimPath string

	mu         sync.Mutex
	closed     bool
	sandboxes  map[string]*sandbox
	containers map[string]*container
	seq        uint64
	// specVersion is the OCI runtime-spec version the runtime reports,
	// written as config.json's ociVersion (crun 1.8 refuses newer ones).
	specVersion string
	// reaper is shared by the process's Runtimes.
	reaper *Reaper

	// wg counts the goroutines the Runtime owns (the shim watchers);
	// Close waits for them.
	wg sync.WaitGroup
}

var _ runtime.Runtime = (*Runtime)(nil)

// New checks the machine (root, the OCI runtime binary, cgroup mounts)
// and returns a Runtime keeping its state under opts.Root. Without
// opts.Reaper it uses the process's default Reaper, making this process a
// child subreaper.
func New(opts Options) (*Runtime, error) {
	if opts.Root == "" {
		return nil, errors.New("oci runtime: no root directory")
	}
	if opts.Images == nil {
		return nil, errors.New("oci runtime: no image source")
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("oci runtime needs root: %w", runtime.ErrNotSupported)
	}
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, fmt.Errorf("oci runtime root: %w", err)
	}
	opts.Root = root
	if opts.CgroupParent == "" {
		opts.CgroupParent = "/podrun"
	}
	if !strings.HasPrefix(opts.CgroupParent, "/") {
		return nil, fmt.Errorf("oci runtime: cgroup parent %q is not absolute", opts.CgroupParent)
	}
	if opts.SeccompRoot == "" {
		opts.SeccompRoot = filepath.Join(root, "seccomp")
	}
	if opts.NodeName == "" {
		opts.NodeName, _ = os.Hostname()
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	client, err := newClient(opts.Runtime, filepath.Join(root, "runtime"))
	if err != nil {
		return nil, err
	}
	for _, d := range []string{client.Root, filepath.Join(root, "sandboxes"), filepath.Join(root, "containers")} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return nil, fmt.Errorf("oci runtime state: %w", err)
		}
	}
	vctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	version, err := client.Version(vctx)
	cancel()
	if err != nil {
		// A runtime that cannot say its version (a test script) gets
		// config.json with the spec version podrun was built with.
		logger.Warn("oci runtime version unknown", "runtime", client.Command, "err", err)
	}
	mounts, err := cgroupMounts()
	if err != nil {
		return nil, err
	}
	if len(mounts) == 0 {
		return nil, fmt.Errorf("oci runtime: no cgroup hierarchy mounted: %w", runtime.ErrNotSupported)
	}
	reaper := opts.Reaper
	if reaper == nil {
		if reaper, err = processReaper(); err != nil {
			return nil, fmt.Errorf("oci runtime: %w", err)
		}
	}
	return &Runtime{
		opts: opts, runc: client, log: logger.With("runtime", filepath.Base(client.Command)), clock: opts.Clock,
		cgroups: mounts, ownOOMScore: readOOMScoreAdj(), reaper: reaper, specVersion: version.Spec,
		sandboxes: map[string]*sandbox{}, containers: map[string]*container{},
	}, nil
}

// newClient resolves Options.Runtime to a client whose state root is
// stateRoot. crun runs inside a private mount namespace that hides the
// cgroup2 mount of a hybrid v1 host, which crun refuses.
func newClient(name, stateRoot string) (*runc.Client, error) {
	if name == "" {
		name = "runc"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return nil, fmt.Errorf("oci runtime %q: %w: %w", name, runtime.ErrNotSupported, err)
	}
	c := &runc.Client{Command: path, Root: stateRoot}
	if filepath.Base(path) == "crun" && hybridCgroups() {
		c.Wrapper = crunWrapper()
	}
	return c, nil
}

// Close stops the shim watchers and waits for them. Containers and their
// shims keep running, logging and recording their exits; a Runtime on the
// same Root re-attaches to them.
func (r *Runtime) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	for _, c := range r.containers {
		c.detach()
	}
	r.mu.Unlock()
	r.wg.Wait()
	return nil
}

// now reads the runtime's clock.
func (r *Runtime) now() time.Time { return r.opts.Clock.Now() }

// readOOMScoreAdj reads this process's oom_score_adj (0 if unreadable).
func readOOMScoreAdj() int {
	data, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		return 0
	}
	var n int
	_, _ = fmt.Sscan(strings.TrimSpace(string(data)), &n)
	return n
}

// ShimPath returns the podrun-shim binary the Runtime starts for each
// container: Options.Shim when set, else $PODRUN_SHIM when set, else
// podrun-shim beside the running executable, else podrun-shim in $PATH. A
// path given explicitly (option or variable) that is not an executable
// file is an error, not passed over. The error, wrapping
// runtime.ErrNotSupported, names what was tried; a caller may check it
// before starting anything (StartContainer fails with it otherwise).
func (r *Runtime) ShimPath() (string, error) { return r.shimBinary() }

// shimBinary finds the podrun-shim binary (ShimPath) once.
func (r *Runtime) shimBinary() (string, error) {
	r.shimMu.Lock()
	defer r.shimMu.Unlock()
	if r.shimPath != "" {
		return r.shimPath, nil
	}
	path, err := findShim(r.opts.Shim)
	if err != nil {
		return "", err
	}
	r.shimPath = path
	return path, nil
}

// findShim looks for podrun-shim in ShimPath's order, explicit being
// Options.Shim.
func findShim(explicit string) (string, error) {
	var tried []string
	for _, c := range []struct{ what, path string }{
		{"Options.Shim", explicit}, {"$" + ShimEnv, os.Getenv(ShimEnv)},
	} {
		if c.path == "" {
			continue
		}
		if isExecutable(c.path) {
			return c.path, nil
		}
		return "", fmt.Errorf("podrun-shim: %s %q is not an executable file: %w", c.what, c.path, runtime.ErrNotSupported)
	}
	if exe, err := os.Executable(); err == nil {
		beside := filepath.Join(filepath.Dir(exe), "podrun-shim")
		if isExecutable(beside) {
			return beside, nil
		}
		tried = append(tried, fmt.Sprintf("%q beside %s", beside, filepath.Base(exe)))
	}
	if path, err := exec.LookPath("podrun-shim"); err == nil && isExecutable(path) {
		return path, nil
	}
	tried = append(tried, "podrun-shim in $PATH")
	return "", fmt.Errorf("podrun-shim not found (Options.Shim and $%s unset; tried %s); build it with `go build -o bin/ ./cmd/podrun ./cmd/podrun-shim`: %w",
		ShimEnv, strings.Join(tried, ", "), runtime.ErrNotSupported)
}

// Check reports, without creating or starting anything, whether New and
// StartContainer would find what they need on this machine: root, the
// OCI runtime binary opts.Runtime names (one given as a path must answer
// --version) and podrun-shim (ShimPath). Its errors wrap
// runtime.ErrNotSupported; callers check before they store or start a
// pod, so that a missing part is an error up front, not a pod that ends
// in StartError.
func Check(opts Options) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("oci runtime needs root: %w", runtime.ErrNotSupported)
	}
	client, err := newClient(opts.Runtime, "")
	if err != nil {
		return err
	}
	// A runtime given as a path must answer --version, so that some
	// other program there is refused before it is asked to run
	// containers. runc and crun found in $PATH are spared the extra
	// process on every run.
	if strings.Contains(opts.Runtime, "/") {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, client.Command, "--version").CombinedOutput(); err != nil {
			first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
			return fmt.Errorf("oci runtime %q: %s --version failed (%v): %s: %w",
				opts.Runtime, client.Command, err, first, runtime.ErrNotSupported)
		}
	}
	_, err = findShim(opts.Shim)
	return err
}

// isExecutable reports whether path is a regular file with an execute bit.
func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
