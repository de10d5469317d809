package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// containerNames are the benchmark pod's containers, in start order.
var containerNames = []string{"init", "sidecar", "main"}

// capture runs the benchmark pod once with a main container that sleeps,
// and while all three bundles exist copies podrun's config.json of each
// into out (init.json, sidecar.json, main.json). It returns the overlay
// lowerdir podrun mounted, so the baseline uses the very same layers.
func (e *env) capture(ctx context.Context, out string) (lower string, err error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	manifest := filepath.Join(e.work, "capture.yaml")
	if err := writeManifest(manifest, benchPod("bench-capture", `["sleep", "3"]`)); err != nil {
		return "", err
	}
	cmd := e.podrun("run", "-f", manifest, "--rm")
	logf, err := os.Create(filepath.Join(e.work, "capture.log"))
	if err != nil {
		return "", err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	p, err := startProc(cmd)
	if err != nil {
		return "", fmt.Errorf("capture: start podrun: %w", err)
	}
	defer p.kill() // on early returns; a no-op once it ended

	bundles := filepath.Join(e.root, "runtime", "containers")
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	found := map[string]string{}
	for len(found) < len(containerNames) {
		select {
		case <-p.exited:
			return "", fmt.Errorf("capture: podrun ended before the three bundles were seen (%v); see %s", p.err, logf.Name())
		case <-ctx.Done():
			return "", ctx.Err()
		case <-tick.C:
		}
		found, err = findBundles(bundles)
		if err != nil {
			return "", err
		}
	}
	for _, name := range containerNames {
		data, err := os.ReadFile(filepath.Join(found[name], "config.json"))
		if err != nil {
			return "", fmt.Errorf("capture %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(out, name+".json"), data, 0o644); err != nil {
			return "", err
		}
	}
	lower, err = overlayLower(filepath.Join(found["main"], "rootfs"))
	if err != nil {
		return "", err
	}
	<-p.exited
	if p.err != nil {
		return "", fmt.Errorf("capture: podrun: %w; see %s", p.err, logf.Name())
	}
	return lower, nil
}

// findBundles maps each container name to its bundle directory (named
// NAME-ATTEMPT-SUFFIX) once its config.json exists.
func findBundles(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	found := map[string]string{}
	for _, e := range entries {
		for _, name := range containerNames {
			if !strings.HasPrefix(e.Name(), name+"-0-") {
				continue
			}
			b := filepath.Join(dir, e.Name())
			if _, err := os.Stat(filepath.Join(b, "config.json")); err == nil {
				found[name] = b
			}
		}
	}
	return found, nil
}

// overlayLower returns the lowerdir option of the overlay mounted on
// target, from /proc/self/mounts.
func overlayLower(target string) (string, error) {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || fields[1] != target || fields[2] != "overlay" {
			continue
		}
		for _, opt := range strings.Split(fields[3], ",") {
			if v, ok := strings.CutPrefix(opt, "lowerdir="); ok {
				return v, nil
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("no overlay mounted on %s (podrun copied the layers?)", target)
}

// podrun returns a command running podrun with the private state root.
func (e *env) podrun(args ...string) *exec.Cmd {
	return exec.Command(e.podrunBin, append([]string{"--root", e.root}, args...)...)
}

// proc is a started child process and its end.
type proc struct {
	cmd *exec.Cmd
	// exited is closed once the process has been reaped; err is then
	// its Wait error.
	exited chan struct{}
	err    error
}

// startProc starts cmd and a goroutine that reaps it; the goroutine ends
// with the process (see stop).
func startProc(cmd *exec.Cmd) (*proc, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// kill kills the process if it still runs and waits for it.
func (p *proc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
}
