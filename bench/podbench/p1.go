package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// p1Result is the P1 measurement: whole-process wall times of `podrun
// run` (A) and of the raw runc sequence (B), run in turn, and the ratio
// A/B taken pair by pair so that a drift of the machine's speed cancels.
type p1Result struct {
	Podrun, Raw, Ratio summary
	// CPU is A's user+system seconds (summary over runs), RawCPU B's.
	CPU, RawCPU summary
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
	b := func() *exec.Cmd {
		return exec.Command(e.rawruncBin, "-templates", templates, "-lower", lower,
			"-root", filepath.Join(e.work, "raw"), "-main-cmd", "true")
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
	return p1Result{Podrun: summarize(wa), Raw: summarize(wb), Ratio: summarize(ratio),
		CPU: summarize(ca), RawCPU: summarize(cb)}, nil
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
