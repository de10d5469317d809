// Command podbench measures podrun's performance figures P1, P3 and P4 and
// prints them as a table beside their goals. bench/run.sh builds and calls
// it; it measures and never judges (its exit status says only whether the
// measurements could be taken).
//
//	podbench -podrun BIN -rawrunc BIN -root DIR -work DIR [-runs 10] [-p3-runs 20] [-pods 20] [-idle 10s]
//
// P1: wall time of `podrun run --rm` of a pod with an init container, a
// native sidecar and a main container, all trivial, against rawrunc doing
// the same container operations with podrun's own bundles; runs in turn,
// ratio pair by pair. P3: latencies from the run records of sequential
// runs. P4: one `podrun run -f` driving many such pods at once (main
// containers sleeping): VmHWM per pod and CPU while idle.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// env is where the benchmarks run.
type env struct {
	podrunBin, rawruncBin string
	// root is podrun's private state directory (the busybox image is
	// loaded in it); work holds manifests, logs and rawrunc's scratch.
	root, work string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "podbench: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var e env
	fs := flag.NewFlagSet("podbench", flag.ContinueOnError)
	fs.StringVar(&e.podrunBin, "podrun", "", "the podrun binary")
	fs.StringVar(&e.rawruncBin, "rawrunc", "", "the rawrunc binary (the P1 baseline)")
	fs.StringVar(&e.root, "root", "", "podrun's private state directory, with the busybox image loaded")
	fs.StringVar(&e.work, "work", "", "scratch directory for manifests and logs")
	runs := fs.Int("runs", 10, "P1: timed runs of each command (after one warm-up)")
	p3Runs := fs.Int("p3-runs", 20, "P3: runs of the pod")
	pods := fs.Int("pods", 20, "P4: pods at once")
	idle := fs.Duration("idle", 10*time.Second, "P4: idle window")
	only := fs.String("only", "p1,p3,p4", "which figures to measure")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, f := range []struct{ name, val string }{{"-podrun", e.podrunBin}, {"-rawrunc", e.rawruncBin}, {"-root", e.root}, {"-work", e.work}} {
		if f.val == "" {
			return fmt.Errorf("%s is required", f.name)
		}
	}
	for _, p := range []*string{&e.podrunBin, &e.rawruncBin, &e.root, &e.work} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = abs
	}
	want := map[string]bool{}
	for _, w := range strings.Split(*only, ",") {
		want[strings.TrimSpace(w)] = true
	}

	host, _ := os.Hostname()
	fmt.Fprintf(out, "podrun bench — %s, %s, %d CPUs, %s, load average %s at the start\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), host, runtime.NumCPU(), kernel(), loadavg())
	t := &table{}
	if want["p1"] {
		fmt.Fprintf(os.Stderr, "P1: %d runs each of podrun run and rawrunc, in turn...\n", *runs)
		r, err := e.p1(ctx, *runs)
		if err != nil {
			return fmt.Errorf("P1: %w", err)
		}
		t.p1(r, *runs)
	}
	if want["p3"] {
		fmt.Fprintf(os.Stderr, "P3: %d runs of the pod...\n", *p3Runs)
		r, err := e.p3(ctx, *p3Runs)
		if err != nil {
			return fmt.Errorf("P3: %w", err)
		}
		t.p3(r, *p3Runs)
	}
	if want["p4"] {
		fmt.Fprintf(os.Stderr, "P4: 1 pod, then %d pods at once...\n", *pods)
		one, err := e.p4(ctx, 1, *idle)
		if err != nil {
			return fmt.Errorf("P4 (1 pod): %w", err)
		}
		many, err := e.p4(ctx, *pods, *idle)
		if err != nil {
			return fmt.Errorf("P4 (%d pods): %w", *pods, err)
		}
		t.p4(one, many)
	}
	t.print(out)
	fmt.Fprintf(out, "\nload average %s at the end (%d CPUs): above the CPU count, wall times are inflated by other work\n", loadavg(), runtime.NumCPU())
	return nil
}

// loadavg returns the 1-minute load average, "?" if unreadable.
func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(data)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// kernel returns the running kernel's release.
func kernel() string {
	data, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "linux"
	}
	return "linux " + strings.TrimSpace(string(data))
}
