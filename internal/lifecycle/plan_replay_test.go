package lifecycle_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// s is a number of seconds as a duration.
func s(n float64) time.Duration {
	return time.Duration(n * float64(time.Second))
}

// TestReplay011InterleavedStartOrder replays conformance 011 (S1–S4, T5):
// init/sidecar interleaving, then the sidecars stopped after main in
// reverse order, pod done.
func TestReplay011InterleavedStartOrder(t *testing.T) {
	pod := planPod(corev1.RestartPolicyNever,
		[]corev1.Container{
			planContainer("init-1"), planContainer("sidecar-1", asSidecar),
			planContainer("init-2"), planContainer("sidecar-2", asSidecar),
			planContainer("init-3"),
		},
		planContainer("main"),
	)
	pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](10)
	r := newReplay(t, pod, func(name string, _ int) behaviour {
		switch name {
		case "init-1", "init-2", "init-3":
			return behaviour{runFor: s(1)}
		case "main":
			return behaviour{runFor: s(2)}
		}
		return behaviour{} // sidecars: trap 'exit 0' TERM
	})
	r.run(at(120))
	want := []string{
		"start init-1#1", "exit init-1#1",
		"start sidecar-1#1", "start init-2#1", "exit init-2#1",
		"start sidecar-2#1", "start init-3#1", "exit init-3#1",
		"start main#1", "exit main#1",
		"signal sidecar-2#1", "exit sidecar-2#1",
		"signal sidecar-1#1", "exit sidecar-1#1",
	}
	if diff := cmp.Diff(want, r.seq("start", "exit", "signal")); diff != "" {
		t.Errorf("S1 S2 S3 S4 T5 event order (-want +got):\n%s\ntimeline:\n%s", diff, r.timeline())
	}
	if !r.done {
		t.Errorf("pod not done; timeline:\n%s", r.timeline())
	}
	if got := secondsBetween(planT0, r.when("exit", "main", 1)); got != 5 {
		t.Errorf("main exited at %vs, want 5s (three 1 s inits, a 2 s main)", got)
	}
}

// TestReplay034ReverseTerminationOrder replays conformance 034 (T1, T5):
// each sidecar needs 5 s after SIGTERM and gets it only after the later
// one exited: sidecar-1 exits 15 s after main.
func TestReplay034ReverseTerminationOrder(t *testing.T) {
	pod := planPod(corev1.RestartPolicyNever,
		[]corev1.Container{
			planContainer("sidecar-1", asSidecar), planContainer("sidecar-2", asSidecar), planContainer("sidecar-3", asSidecar),
		},
		planContainer("main"),
	)
	r := newReplay(t, pod, func(name string, _ int) behaviour {
		if name == "main" {
			return behaviour{runFor: s(5)}
		}
		return behaviour{onTerm: s(5)}
	})
	r.run(at(120))
	want := []string{
		"start sidecar-1#1", "start sidecar-2#1", "start sidecar-3#1", "start main#1",
		"exit main#1", "exit sidecar-3#1", "exit sidecar-2#1", "exit sidecar-1#1",
	}
	if diff := cmp.Diff(want, r.seq("start", "exit")); diff != "" {
		t.Errorf("T5 order (-want +got):\n%s\ntimeline:\n%s", diff, r.timeline())
	}
	if got := secondsBetween(r.when("exit", "main", 1), r.when("exit", "sidecar-1", 1)); got != 15 {
		t.Errorf("main.exit → sidecar-1.exit = %vs, want 15s; timeline:\n%s", got, r.timeline())
	}
	for _, n := range []string{"sidecar-1", "sidecar-2", "sidecar-3"} {
		if c := r.exitCode(n); c != 0 {
			t.Errorf("%s exit code %d, want 0", n, c)
		}
	}
	if !r.done {
		t.Errorf("pod not done")
	}
}

// TestReplay053JobSidecarCompletes replays conformance 053 (T1, T10,
// §6.3): grace 3, the sidecar ignores SIGTERM and is SIGKILLed 3 s after
// main exits.
func TestReplay053JobSidecarCompletes(t *testing.T) {
	pod := planPod(corev1.RestartPolicyNever,
		[]corev1.Container{planContainer("log-shipper", asSidecar)},
		planContainer("main"),
	)
	pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](3)
	r := newReplay(t, pod, func(name string, _ int) behaviour {
		if name == "main" {
			return behaviour{runFor: s(3)}
		}
		return behaviour{ignoresTerm: true}
	})
	r.run(at(90))
	if got := secondsBetween(r.when("exit", "main", 1), r.when("exit", "log-shipper", 1)); got != 3 {
		t.Errorf("main.exit → log-shipper.exit = %vs, want 3s; timeline:\n%s", got, r.timeline())
	}
	if c := r.exitCode("log-shipper"); c != 137 {
		t.Errorf("log-shipper exit %d, want 137 (SIGKILL)", c)
	}
	if !r.done || r.obs.Sandbox != nil {
		t.Errorf("done=%v sandbox=%v, want done and sandbox removed", r.done, r.obs.Sandbox)
	}
}

// TestReplay009CrashLoopGaps replays conformance 009 (§3.4, R1.4): a
// container failing after 1 s is restarted 0, 10, 20, 40 s after each
// exit.
func TestReplay009CrashLoopGaps(t *testing.T) {
	pod := planPod(corev1.RestartPolicyAlways, nil, planContainer("regular-1"))
	r := newReplay(t, pod, func(string, int) behaviour {
		return behaviour{runFor: s(1), exitCode: 1}
	})
	r.run(at(200))
	want := []float64{0, 10, 20, 40, 80}
	for i, w := range want {
		gap := secondsBetween(r.when("exit", "regular-1", i+1), r.when("start", "regular-1", i+2))
		if gap != w {
			t.Errorf("exit#%d → start#%d = %vs, want %vs; timeline:\n%s", i+1, i+2, gap, w, r.timeline())
		}
	}
}

// TestReplay038GraceAccounting replays conformance 038 (§6.3, T6, T9):
// grace 5; main needs 20 s after SIGTERM and is SIGKILLed at 5 s; the
// sidecars' waits for their turn run out at the same moment and each
// gets the 2 s minimum window.
func TestReplay038GraceAccounting(t *testing.T) {
	pod := planPod(corev1.RestartPolicyNever,
		[]corev1.Container{
			planContainer("sidecar-1", asSidecar), planContainer("sidecar-2", asSidecar), planContainer("sidecar-3", asSidecar),
		},
		planContainer("main"),
	)
	pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](5)
	r := newReplay(t, pod, func(name string, _ int) behaviour {
		switch name {
		case "sidecar-2":
			return behaviour{onTerm: s(1)}
		}
		return behaviour{onTerm: s(20)}
	})
	r.run(at(2))
	markDeleted(pod, nil, r.now, 5)
	del := r.now
	r.run(at(60))
	for _, tc := range []struct {
		name string
		exit float64 // seconds after the deletion
		code int32
	}{
		{"main", 5, 137}, // SIGTERM at 0, SIGKILL at 5
		// Every sidecar's wait for its turn is bounded by the same 5 s
		// budget: all are signalled at 5 s with the 2 s minimum window.
		{"sidecar-3", 7, 137},
		{"sidecar-2", 6, 0},
		{"sidecar-1", 7, 137},
	} {
		if got := secondsBetween(del, r.when("exit", tc.name, 1)); got != tc.exit {
			t.Errorf("T6 T9 %s exited %vs after deletion, want %vs; timeline:\n%s", tc.name, got, tc.exit, r.timeline())
		}
		if c := r.exitCode(tc.name); c != tc.code {
			t.Errorf("%s exit code %d, want %d", tc.name, c, tc.code)
		}
	}
	if !r.done {
		t.Errorf("pod not done")
	}
}

// TestReplay008PostStartBlocksNextContainer replays conformance 008
// (R1.1, H1): the second container starts only after the first one's
// 5 s postStart returned.
func TestReplay008PostStartBlocksNextContainer(t *testing.T) {
	pod := planPod(corev1.RestartPolicyAlways, nil, planContainer("a", withPostStart), planContainer("b"))
	r := newReplay(t, pod, func(string, int) behaviour { return behaviour{postStart: s(5)} })
	r.run(at(30))
	if got := secondsBetween(r.when("start", "a", 1), r.when("start", "b", 1)); got != 5 {
		t.Errorf("R1.1 a.start → b.start = %vs, want 5s; timeline:\n%s", got, r.timeline())
	}
}

// TestReplay013SidecarPostStartGating replays conformance 013 (S2, H1):
// the sidecar's postStart is part of its start; main waits for it.
func TestReplay013SidecarPostStartGating(t *testing.T) {
	pod := planPod(corev1.RestartPolicyNever,
		[]corev1.Container{planContainer("sidecar", asSidecar, withPostStart)},
		planContainer("main"))
	r := newReplay(t, pod, func(name string, _ int) behaviour {
		if name == "main" {
			return behaviour{runFor: s(1)}
		}
		return behaviour{postStart: s(3)}
	})
	r.run(at(60))
	if got := secondsBetween(r.when("start", "sidecar", 1), r.when("start", "main", 1)); got != 3 {
		t.Errorf("S2 sidecar.start → main.start = %vs, want 3s; timeline:\n%s", got, r.timeline())
	}
	if !r.done {
		t.Errorf("pod not done; timeline:\n%s", r.timeline())
	}
}

// TestReplay024SidecarStartupProbeFails replays conformance 024 (S5, H3,
// §17): the sidecar fails its startup probe after 6 s every time; each
// kill runs its preStop; two immediate restarts, then back-off; main never
// starts.
func TestReplay024SidecarStartupProbeFails(t *testing.T) {
	pod := planPod(corev1.RestartPolicyNever,
		[]corev1.Container{planContainer("sidecar-1", asSidecar, withStartupProbe, withPreStop)},
		planContainer("main"))
	r := newReplay(t, pod, func(string, int) behaviour {
		return behaviour{startupAfter: s(6), startupFails: true, preStop: s(1)}
	})
	r.run(at(120))
	if n := r.count("start", "main"); n != 0 {
		t.Errorf("S5 main started %d times, want never; timeline:\n%s", n, r.timeline())
	}
	if n := r.count("prestop", "sidecar-1"); n < 3 {
		t.Errorf("H3 preStop ran %d times, want one per kill (≥3)", n)
	}
	// Each kill: preStop 1 s, then SIGTERM and the trap exits 0.
	for i, want := range []float64{0, 0, 10, 20} {
		gap := secondsBetween(r.when("exit", "sidecar-1", i+1), r.when("start", "sidecar-1", i+2))
		if gap != want {
			t.Errorf("§17 exit#%d → start#%d = %vs, want %vs; timeline:\n%s", i+1, i+2, gap, want, r.timeline())
		}
	}
	if r.done {
		t.Errorf("pod done, want it pending forever")
	}
}

// TestReplay026SidecarLivenessFails replays conformance 026 (P2, P3): main
// starts as soon as the sidecar runs; the sidecar's liveness failure kills
// it (preStop first) and it is restarted while main keeps running.
func TestReplay026SidecarLivenessFails(t *testing.T) {
	pod := planPod(corev1.RestartPolicyAlways,
		[]corev1.Container{planContainer("sidecar-1", asSidecar, withLivenessProbe, withPreStop)},
		planContainer("main"))
	r := newReplay(t, pod, func(name string, _ int) behaviour {
		if name == "main" {
			return behaviour{}
		}
		return behaviour{livenessFailsAfter: s(10), preStop: s(1)}
	})
	r.run(at(60))
	if !r.when("start", "main", 1).Before(r.when("exit", "sidecar-1", 1)) {
		t.Errorf("P2 main should start before the sidecar's first exit; timeline:\n%s", r.timeline())
	}
	if !r.when("prestop", "sidecar-1", 1).Before(r.when("exit", "sidecar-1", 1)) {
		t.Errorf("P3 preStop should run before the exit; timeline:\n%s", r.timeline())
	}
	if n := r.count("start", "sidecar-1"); n < 3 {
		t.Errorf("P3 sidecar started %d times in 60 s, want ≥3; timeline:\n%s", n, r.timeline())
	}
	if n := r.count("exit", "main"); n != 0 {
		t.Errorf("RS4 main exited %d times, want 0", n)
	}
}

// TestReplay042DeleteDuringInit replays conformance 042 (T7, T8): deleted
// 2 s into a SIGTERM-ignoring init container with grace 3: SIGKILL at 3 s,
// no sidecar ever started, pod done.
func TestReplay042DeleteDuringInit(t *testing.T) {
	pod := planPod(corev1.RestartPolicyNever,
		[]corev1.Container{
			planContainer("start-init"),
			planContainer("sidecar-1", asSidecar, withPreStop),
			planContainer("sidecar-2", asSidecar),
		},
		planContainer("main"))
	r := newReplay(t, pod, func(name string, _ int) behaviour {
		if name == "start-init" {
			return behaviour{ignoresTerm: true}
		}
		return behaviour{onTerm: s(5)}
	})
	r.run(at(2))
	markDeleted(pod, nil, r.now, 3)
	r.run(at(60))
	if got := secondsBetween(at(2), r.when("exit", "start-init", 1)); got != 3 {
		t.Errorf("T8 start-init exited %vs after deletion, want 3s; timeline:\n%s", got, r.timeline())
	}
	if c := r.exitCode("start-init"); c != 137 {
		t.Errorf("start-init exit %d, want 137", c)
	}
	for _, n := range []string{"sidecar-1", "sidecar-2", "main"} {
		if r.count("start", n) != 0 {
			t.Errorf("T7 %s started; timeline:\n%s", n, r.timeline())
		}
	}
	if !r.done {
		t.Errorf("pod not done")
	}
}

// TestReplay043UnstartedSidecar replays conformance 043 (T5, T7): a
// sidecar that never passes its startup probe is deleted with grace 180
// and is gone 1 s later, not after the grace.
func TestReplay043UnstartedSidecar(t *testing.T) {
	pod := planPod(corev1.RestartPolicyNever,
		[]corev1.Container{
			planContainer("init-1"),
			planContainer("sidecar-2", asSidecar, withStartupProbe),
			planContainer("sidecar-3", asSidecar),
		},
		planContainer("main"))
	pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](180)
	r := newReplay(t, pod, func(name string, _ int) behaviour {
		if name == "init-1" {
			return behaviour{runFor: s(1)}
		}
		return behaviour{onTerm: s(1)}
	})
	r.run(at(4))
	markDeleted(pod, nil, r.now, 180)
	r.run(at(600))
	if got := secondsBetween(at(4), r.when("exit", "sidecar-2", 1)); got != 1 {
		t.Errorf("T7 sidecar-2 exited %vs after deletion, want 1s; timeline:\n%s", got, r.timeline())
	}
	if r.count("start", "sidecar-3")+r.count("start", "main") != 0 {
		t.Errorf("sidecar-3 or main started; timeline:\n%s", r.timeline())
	}
	if !r.done {
		t.Errorf("pod not done")
	}
}

// TestReplay052PostStartFailure replays conformance 052 (H2): a failing
// postStart kills the container (its preStop runs) and, under Always, it
// is restarted through the back-off.
func TestReplay052PostStartFailure(t *testing.T) {
	pod := planPod(corev1.RestartPolicyAlways, nil, planContainer("main", withPostStart, withPreStop))
	r := newReplay(t, pod, func(string, int) behaviour {
		return behaviour{postStart: s(1), postStartFails: true, preStop: s(1)}
	})
	r.run(at(60))
	if n := r.count("prestop", "main"); n < 3 {
		t.Errorf("H2 preStop ran %d times, want one per kill; timeline:\n%s", n, r.timeline())
	}
	for i, want := range []float64{0, 10, 20} {
		gap := secondsBetween(r.when("exit", "main", i+1), r.when("start", "main", i+2))
		if gap != want {
			t.Errorf("H2 R1.4 exit#%d → start#%d = %vs, want %vs; timeline:\n%s", i+1, i+2, gap, want, r.timeline())
		}
	}
}
