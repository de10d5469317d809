package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// p1Result is the P1 measurement: whole-process wall times of `podrun
// run` (A) and of the raw runc sequence (B), run in turn, and the ratio
// A/B taken pair by pair so that a drift of the machine's speed cancels.
type p1Result struct {
	Podrun, Raw, Ratio summary
	// CPU is A's user+system seconds (summary over runs), RawCPU B's.
	CPU, RawCPU summary
	// RawLatencies are the P3 latencies of the raw runs, for comparison.
	RawLatencies rawLatencies
}

// rawLatencies are the P3 figures of the raw runc sequence (ms), from the
// moments rawrunc records: the floor an executor on runc cannot go below.
type rawLatencies struct {
	ExitToSignal, ExitToSidecarExit, SidecarToMainStarted summary
}

// rawTimings is one line of rawrunc -timings.
type rawTimings struct {
	SidecarStarted  time.Time `json:"sidecarStarted"`
	MainStarted     time.Time `json:"mainStarted"`
	MainExited      time.Time `json:"mainExited"`
	SidecarSignaled time.Time `json:"sidecarSignaled"`
	SidecarExited   time.Time `json:"sidecarExited"`
}

// readRawTimings summarises the timings file, skipping the first skip
// lines (warm-up runs).
func readRawTimings(path string, skip int) (rawLatencies, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return rawLatencies{}, err
	}
	var sig, exit, started []float64
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if i < skip {
			continue
		}
		var t rawTimings
		if err := json.Unmarshal([]byte(line), &t); err != nil {
			return rawLatencies{}, fmt.Errorf("%s line %d: %w", path, i+1, err)
		}
		sig = append(sig, ms(t.SidecarSignaled.Sub(t.MainExited)))
		exit = append(exit, ms(t.SidecarExited.Sub(t.MainExited)))
		started = append(started, ms(t.MainStarted.Sub(t.SidecarStarted)))
	}
	return rawLatencies{ExitToSignal: summarize(sig), ExitToSidecarExit: summarize(exit),
		SidecarToMainStarted: summarize(started)}, nil
}

// p1 times `podrun run --rm` of the benchmark pod against rawrunc with
// podrun's own bundles, after one untimed warm-up of each.
func (e *env) p1(ctx context.Context, runs int) (p1Result, error) {
	manifest := filepath.Join(e.work, "p1.yaml")
	if err := writeManifest(manifest, benchPod("bench-p1", `["true"]`)); err != nil {
		return p1Result{}, err
	}
	templates := filepath.Join(e.work, "templates")
	lower, err := e.capture(ctx, templates)
	if err != nil {
		return p1Result{}, err
	}
	a := func() *exec.Cmd { return e.podrun("run", "-f", manifest, "--rm") }
	timings := filepath.Join(e.work, "raw-timings.jsonl")
	b := func() *exec.Cmd {
		return exec.Command(e.rawruncBin, "-templates", templates, "-lower", lower,
			"-root", filepath.Join(e.work, "raw"), "-main-cmd", "true", "-timings", timings)
	}
	logf, err := os.Create(filepath.Join(e.work, "p1.log"))
	if err != nil {
		return p1Result{}, err
	}
	defer logf.Close()

	var wa, wb, ratio, ca, cb []float64
	for i := -1; i < runs; i++ { // i == -1 is the warm-up
		ta, cpuA, err := timeRun(ctx, a(), logf)
		if err != nil {
			return p1Result{}, fmt.Errorf("podrun run: %w (see %s)", err, logf.Name())
		}
		tb, cpuB, err := timeRun(ctx, b(), logf)
		if err != nil {
			return p1Result{}, fmt.Errorf("rawrunc: %w (see %s)", err, logf.Name())
		}
		if i < 0 {
			continue
		}
		wa, wb, ratio = append(wa, ms(ta)), append(wb, ms(tb)), append(ratio, float64(ta)/float64(tb))
		ca, cb = append(ca, ms(cpuA)), append(cb, ms(cpuB))
	}
	raw, err := readRawTimings(timings, 1)
	if err != nil {
		return p1Result{}, err
	}
	return p1Result{Podrun: summarize(wa), Raw: summarize(wb), Ratio: summarize(ratio),
		CPU: summarize(ca), RawCPU: summarize(cb), RawLatencies: raw}, nil
}

// timeRun runs cmd to its end with its output appended to log and returns
// its wall time (monotonic, start to reap) and its user+system time.
func timeRun(ctx context.Context, cmd *exec.Cmd, log *os.File) (wall, cpu time.Duration, err error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	fmt.Fprintf(log, "$ %s\n", cmd.String())
	cmd.Stdout, cmd.Stderr = log, log
	start := time.Now()
	err = cmd.Run()
	wall = time.Since(start)
	if cmd.ProcessState != nil {
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	return wall, cpu, err
}
