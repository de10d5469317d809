package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// table collects the printed rows: figure, measurement, goal, and whether
// the measurement is within the goal (reported, never enforced).
type table struct {
	rows [][4]string
	// raw holds the raw runc sequence's latencies once P1 ran.
	raw *rawLatencies
}

func (t *table) add(figure, measured, goal, within string) {
	t.rows = append(t.rows, [4]string{figure, measured, goal, within})
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

// dist prints min / median / max.
func dist(s summary, unit func(float64) string) string {
	return fmt.Sprintf("%s / %s / %s", unit(s.Min), unit(s.P50), unit(s.Max))
}

// pct prints p50 / p99 / max.
func pct(s summary) string {
	return fmt.Sprintf("%s / %s / %s", fmtMs(s.P50), fmtMs(s.P99), fmtMs(s.Max))
}

func ratio(x float64) string { return fmt.Sprintf("%.2f", x) }

func (t *table) p1(r p1Result, runs int) {
	t.add(fmt.Sprintf("P1 podrun run ÷ raw runc, wall (min / median / max, %d pairs)", runs),
		dist(r.Ratio, ratio), "≤ 1.2 (median)", yesNo(r.Ratio.P50 <= 1.2))
	t.add("   podrun run, wall", dist(r.Podrun, fmtMs), "", "")
	t.add("   raw runc sequence, wall", dist(r.Raw, fmtMs), "", "")
	t.add("   podrun run, user+sys", dist(r.CPU, fmtMs), "", "")
	t.add("   raw runc sequence, user+sys", dist(r.RawCPU, fmtMs), "", "")
	t.raw = &r.RawLatencies
}

func (t *table) p3(r p3Result, runs int) {
	t.add(fmt.Sprintf("P3 main exit → sidecar Killing event (p50 / p99 / max, %d runs)", runs),
		pct(r.ExitToKill), "≤ 10 ms p99", yesNo(r.ExitToKill.P99 <= 10))
	if t.raw != nil {
		t.add("   raw runc: main reaped → SIGTERM sent", pct(t.raw.ExitToSignal), "", "")
	}
	t.add("   main exit → sidecar exited (trap exits at once)", pct(r.ExitToSidecarExit), "(upper bound)", "")
	if t.raw != nil {
		t.add("   raw runc: main reaped → sidecar reaped", pct(t.raw.ExitToSidecarExit), "", "")
	}
	t.add("P3 sidecar started → main started", pct(r.SidecarToMainStarted), "≤ 10 ms p99", yesNo(r.SidecarToMainStarted.P99 <= 10))
	if t.raw != nil {
		t.add("   raw runc: sidecar started → main started", pct(t.raw.SidecarToMainStarted), "", "")
	}
	t.add("   sidecar started → main created (podrun's reaction)", pct(r.SidecarToMainCreate), "", "")
}

func (t *table) p4(one, many p4Result) {
	const mib = 1 << 20
	per := float64(many.HWM) / float64(many.Pods) / mib
	t.add(fmt.Sprintf("P4 VmHWM of one podrun run ÷ %d pods", many.Pods),
		fmt.Sprintf("%.1f MiB/pod (%.1f MiB total)", per, float64(many.HWM)/mib), "≤ 10 MiB/pod", yesNo(per <= 10))
	if many.Pods > one.Pods {
		slope := float64(many.HWM-one.HWM) / float64(many.Pods-one.Pods) / mib
		t.add("   VmHWM with 1 pod; added per further pod",
			fmt.Sprintf("%.1f MiB; %.2f MiB", float64(one.HWM)/mib, slope), "", "")
	}
	if many.Shims > 0 {
		all := float64(many.HWM+many.ShimHWM) / float64(many.Pods) / mib
		t.add(fmt.Sprintf("P4 VmHWM of podrun + its %d shims ÷ %d pods", many.Shims, many.Pods),
			fmt.Sprintf("%.1f MiB/pod (%.1f MiB total)", all, float64(many.HWM+many.ShimHWM)/mib), "≤ 10 MiB/pod", yesNo(all <= 10))
		t.add("   VmHWM of a shim (mean / max)",
			fmt.Sprintf("%.2f MiB / %.2f MiB", float64(many.ShimHWM)/float64(many.Shims)/mib, float64(many.ShimMaxHWM)/mib), "", "")
		t.add(fmt.Sprintf("   PSS of podrun + shims ÷ %d pods (shared pages once)", many.Pods),
			fmt.Sprintf("%.1f MiB/pod (%.1f MiB total)", float64(many.PSS)/float64(many.Pods)/mib, float64(many.PSS)/mib), "", "")
	}
	t.add(fmt.Sprintf("   VmRSS, threads (%d pods, idle)", many.Pods),
		fmt.Sprintf("%.1f MiB, %d", float64(many.RSS)/mib, many.Threads), "", "")
	t.add(fmt.Sprintf("   time until all %d main containers ran", many.Pods), fmt.Sprintf("%.1f s", many.Startup.Seconds()), "", "")
	idle := many.IdleCPU + many.ShimCPU
	cpu := idle.Seconds() / many.Idle.Seconds() * 100
	t.add(fmt.Sprintf("P4 CPU while %d pods idle (podrun + shims, utime+stime over %s)", many.Pods, many.Idle),
		fmt.Sprintf("%s (%.2f%% of a core)", idle.Round(time.Millisecond), cpu), "≈ 0 (no polling)",
		yesNo(idle <= 2*time.Second/clockTicks))
	for _, r := range []p4Result{one, many} {
		if r.Note != "" {
			t.add(fmt.Sprintf("   note (%d pods)", r.Pods), r.Note, "", "")
		}
	}
}

func (t *table) print(out io.Writer) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "figure\tmeasured\tgoal\twithin goal")
	for _, r := range t.rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r[0], r[1], r[2], r[3])
	}
	w.Flush()
}
