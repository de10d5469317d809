package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// p4Result is the P4 measurement of one `podrun run -f` process driving
// Pods pods at once.
type p4Result struct {
	Pods int
	// HWM and RSS are VmHWM and VmRSS (bytes) at the end of the idle
	// window; Threads the process's thread count then.
	HWM, RSS int64
	Threads  int
	// Startup is how long until every main container ran.
	Startup time.Duration
	// Idle is the idle window; IdleCPU the process's utime+stime in it.
	Idle, IdleCPU time.Duration
	// Note says how podrun had to be stopped, if not by SIGINT alone.
	Note string
	// Shims counts podrun's podrun-shim children at the end of the idle
	// window; ShimHWM is the sum and ShimMaxHWM the largest of their
	// VmHWM, ShimCPU their utime+stime in the idle window.
	Shims               int
	ShimHWM, ShimMaxHWM int64
	ShimCPU             time.Duration
	// PSS is the proportional set size of podrun and its shims together
	// (shared pages counted once), from smaps_rollup.
	PSS int64
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat
// (100 on every Linux architecture Go supports).
const clockTicks = 100

// p4 starts one `podrun run -f` with pods pods (main sleeps until SIGTERM), waits until
// every main container runs, measures the process during idle, then
// interrupts it (a deletion: the pods terminate) and waits for its end.
func (e *env) p4(ctx context.Context, pods int, idle time.Duration) (p4Result, error) {
	prefix := fmt.Sprintf("bench-p4-%d", pods)
	var docs []string
	for i := 0; i < pods; i++ {
		docs = append(docs, benchPod(fmt.Sprintf("%s-%d", prefix, i), sidecarCmd))
	}
	manifest := filepath.Join(e.work, prefix+".yaml")
	if err := writeManifest(manifest, docs...); err != nil {
		return p4Result{}, err
	}
	logf, err := os.Create(filepath.Join(e.work, prefix+".log"))
	if err != nil {
		return p4Result{}, err
	}
	defer logf.Close()
	cmd := e.podrun("run", "-f", manifest, "--rm", "--timeout", "10m")
	cmd.Stdout, cmd.Stderr = logf, logf
	start := time.Now()
	p, err := startProc(cmd)
	if err != nil {
		return p4Result{}, err
	}
	res, err := e.p4Measure(ctx, p, prefix, pods, idle, start)
	note, stopErr := e.stopPodrun(p)
	res.Note = note
	if err == nil && stopErr != nil {
		err = fmt.Errorf("clean up after podrun: %w", stopErr)
	}
	return res, err
}

// p4Measure waits for the pods to run, then samples the process around
// the idle window.
func (e *env) p4Measure(ctx context.Context, p *proc, prefix string, pods int, idle time.Duration, start time.Time) (p4Result, error) {
	res := p4Result{Pods: pods, Idle: idle}
	pid := p.cmd.Process.Pid
	deadline := time.Now().Add(3 * time.Minute)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for running := 0; running < pods; {
		select {
		case <-p.exited:
			return res, fmt.Errorf("podrun ended before its pods ran: %v", p.err)
		case <-ctx.Done():
			return res, ctx.Err()
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("only %d of %d main containers ran after 3 minutes", running, pods)
		}
		running = 0
		for i := 0; i < pods; i++ {
			if rec, err := e.record(fmt.Sprintf("%s-%d", prefix, i)); err == nil {
				if a, err := firstAttempt(rec, "main"); err == nil && a.StartedAt != nil && a.FinishedAt == nil {
					running++
				}
			}
		}
	}
	res.Startup = time.Since(start)
	// Let the last status writes and log followers settle before idling.
	settle := time.NewTimer(time.Second)
	select {
	case <-settle.C:
	case <-ctx.Done():
		settle.Stop()
		return res, ctx.Err()
	}
	before, err := cpuTime(pid)
	if err != nil {
		return res, err
	}
	shims := shimChildren(pid)
	shimBefore := sumCPU(shims)
	window := time.NewTimer(idle)
	select {
	case <-window.C:
	case <-p.exited:
		window.Stop()
		return res, fmt.Errorf("podrun ended while idling: %v", p.err)
	case <-ctx.Done():
		window.Stop()
		return res, ctx.Err()
	}
	after, err := cpuTime(pid)
	if err != nil {
		return res, err
	}
	res.IdleCPU = after - before
	status, err := procStatus(pid)
	if err != nil {
		return res, err
	}
	res.HWM, res.RSS = status["VmHWM"], status["VmRSS"]
	res.Threads = int(status["Threads"])
	res.ShimCPU = sumCPU(shims) - shimBefore
	res.PSS = pss(pid)
	for _, s := range shimChildren(pid) {
		st, err := procStatus(s)
		if err != nil {
			continue
		}
		res.Shims++
		res.ShimHWM += st["VmHWM"]
		res.ShimMaxHWM = max(res.ShimMaxHWM, st["VmHWM"])
		res.PSS += pss(s)
	}
	return res, nil
}

// shimChildren lists pid's children that run podrun-shim (one per
// container).
func shimChildren(pid int) []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, t := range tasks {
		data, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			child, err := strconv.Atoi(f)
			if err != nil {
				continue
			}
			if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", child)); err == nil && strings.TrimSpace(string(comm)) == "podrun-shim" {
				out = append(out, child)
			}
		}
	}
	return out
}

// sumCPU is the utime+stime of the processes still there.
func sumCPU(pids []int) time.Duration {
	var sum time.Duration
	for _, p := range pids {
		if d, err := cpuTime(p); err == nil {
			sum += d
		}
	}
	return sum
}

// pss returns the Pss of pid's smaps_rollup in bytes, 0 if unreadable.
func pss(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0
	}
	return parseStatus(string(data))["Pss"]
}

// stopPodrun interrupts podrun (Ctrl-C: the pods are deleted gracefully)
// and waits for it. If it has not ended 20 s later it is killed and the
// pods' containers and mounts are removed with runc and umount; the
// returned note says so. Its exit status is not an error: an interrupted
// run exits 1.
func (e *env) stopPodrun(p *proc) (note string, err error) {
	select {
	case <-p.exited:
		return "podrun ended by itself", nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	t := time.NewTimer(20 * time.Second)
	defer t.Stop()
	select {
	case <-p.exited:
		return "", nil
	case <-t.C:
	}
	p.kill()
	return "podrun did not end within 20 s of SIGINT: killed, its containers removed with runc", e.forceCleanup()
}

// forceCleanup removes what a killed podrun left: the containers in its
// private runc root, the overlay and namespace mounts below its runtime
// directory, the bundles, sandboxes and pod cgroups, and the pods in the
// state directory.
func (e *env) forceCleanup() error {
	rt := filepath.Join(e.root, "runtime")
	runcRoot := filepath.Join(rt, "runtime")
	var errs []error
	out, err := exec.Command("runc", "--root", runcRoot, "list", "-q").Output()
	if err != nil {
		errs = append(errs, fmt.Errorf("runc list: %w", err))
	}
	for _, id := range strings.Fields(string(out)) {
		if b, err := exec.Command("runc", "--root", runcRoot, "delete", "--force", id).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("runc delete %s: %w: %s", id, err, b))
		}
	}
	mounts, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return err
	}
	var targets []string
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], rt+"/") {
			targets = append(targets, f[1])
		}
	}
	slices.Sort(targets)
	for _, m := range slices.Backward(targets) {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
			errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
		}
	}
	sandboxes, _ := os.ReadDir(filepath.Join(rt, "sandboxes"))
	for _, sb := range sandboxes {
		errs = append(errs, removeCgroup("/podrun/pod-"+sb.Name()))
	}
	for _, d := range []string{"containers", "sandboxes"} {
		errs = append(errs, os.RemoveAll(filepath.Join(rt, d)), os.MkdirAll(filepath.Join(rt, d), 0o711))
	}
	errs = append(errs, os.RemoveAll(filepath.Join(e.root, "namespaces")))
	return errors.Join(errs...)
}

// removeCgroup removes the cgroup path in every hierarchy (v1
// controllers, or the v2 mount); one that does not exist is fine.
func removeCgroup(path string) error {
	const base = "/sys/fs/cgroup"
	dirs := []string{base}
	if _, err := os.Stat(filepath.Join(base, "cgroup.controllers")); err != nil {
		entries, err := os.ReadDir(base)
		if err != nil {
			return err
		}
		dirs = dirs[:0]
		for _, e := range entries {
			if e.IsDir() {
				dirs = append(dirs, filepath.Join(base, e.Name()))
			}
		}
	}
	var errs []error
	for _, d := range dirs {
		if err := syscall.Rmdir(filepath.Join(d, path)); err != nil && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("remove cgroup %s: %w", filepath.Join(d, path), err))
		}
	}
	return errors.Join(errs...)
}

// cpuTime returns utime+stime of pid (all its threads) from
// /proc/PID/stat.
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	d, err := parseStatCPU(string(data))
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return d, nil
}

// parseStatCPU returns utime+stime (fields 14 and 15) of a /proc/PID/stat
// line.
func parseStatCPU(s string) (time.Duration, error) {
	// The command name may hold spaces and ')': fields start after the
	// last ')'.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("no ')' after the command name")
	}
	// fields[0] is field 3 (state), so utime is fields[11], stime [12].
	fields := strings.Fields(s[i+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("%d fields after the command name, want at least 13", len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// procStatus reads the numeric fields of /proc/PID/status.
func procStatus(pid int) (map[string]int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	return parseStatus(string(data)), nil
}

// parseStatus returns the numeric fields of a /proc/PID/status text; sizes
// in kB are returned in bytes.
func parseStatus(text string) map[string]int64 {
	out := map[string]int64{}
	for _, line := range strings.Split(text, "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(val)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		if len(f) > 1 && f[1] == "kB" {
			n *= 1024
		}
		out[key] = n
	}
	return out
}
