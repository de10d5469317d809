package podworker_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"github.com/podrun/podrun/internal/conformance"
	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/manifest"
	"github.com/podrun/podrun/internal/podworker"
	"github.com/podrun/podrun/internal/podworker/podworkertest"
	"github.com/podrun/podrun/internal/runtime"
	"github.com/podrun/podrun/internal/runtime/fake"
)

// catalog is the hermetic copy of shared/conformance.
var catalog = filepath.Join("..", "conformance", "testdata", "scenarios")

// proseVariants turn variants whose outcome the catalog states in prose
// (their description) into runnable scenarios with that outcome.
var proseVariants = map[string]func(*conformance.Scenario) *conformance.Scenario{
	// "restartPolicy Never: no restart; container Terminated (exit 0 here
	// because of the trap) and pod Succeeded"
	"052-poststart-failure/variant-1": func(base *conformance.Scenario) *conformance.Scenario {
		sc := variantOf(base, "052-poststart-failure/variant-1-Never")
		sc.Pod.Spec.RestartPolicy = corev1.RestartPolicyNever
		sc.Expect = conformance.Expect{
			TimeoutSeconds: base.Expect.TimeoutSeconds,
			MarksPresent:   []string{"main:prestop"},
			Containers:     map[string]conformance.ContainerFacts{"main": {Attempts: ptr(1), ExitCode: ptr(int32(0)), Started: ptr(false)}},
			Pod:            &conformance.PodFacts{Phase: "Succeeded"},
		}
		return sc
	},
	// "second run exits 3 (not in rule) -> no restart, pod Failed, restarts 1"
	"064-container-restart-rules/variant-1": func(base *conformance.Scenario) *conformance.Scenario {
		sc := variantOf(base, "064-container-restart-rules/variant-1-exit-3")
		c := &sc.Pod.Spec.Containers[0]
		c.Command = []string{"sh", "-c", strings.Replace(c.Command[2], "exit 0", "exit 3", 1)}
		sc.Expect.Containers = map[string]conformance.ContainerFacts{"trainer": {Restarts: ptr(int32(1)), ExitCode: ptr(int32(3)), LastExitCode: ptr(int32(42))}}
		sc.Expect.Pod = &conformance.PodFacts{Phase: "Failed"}
		return sc
	},
	// "gate disabled -> the API drops restartPolicy and restartPolicyRules
	// (see 061); exit 42 is final -> pod Failed"
	"064-container-restart-rules/variant-2": func(base *conformance.Scenario) *conformance.Scenario {
		sc := variantOf(base, "064-container-restart-rules/variant-2-gate-off")
		c := &sc.Pod.Spec.Containers[0]
		c.RestartPolicy, c.RestartPolicyRules = nil, nil
		sc.Expect = conformance.Expect{
			TimeoutSeconds: base.Expect.TimeoutSeconds,
			FeatureGates:   map[string]bool{"ContainerRestartRules": false},
			Containers:     map[string]conformance.ContainerFacts{"trainer": {Restarts: ptr(int32(0)), ExitCode: ptr(int32(42))}},
			Pod:            &conformance.PodFacts{Phase: "Failed"},
		}
		return sc
	},
}

// variantOf copies base under a new name.
func variantOf(base *conformance.Scenario, name string) *conformance.Scenario {
	sc := *base
	sc.Name, sc.Pod, sc.Expect.Variants = name, base.Pod.DeepCopy(), nil
	return &sc
}

func ptr[T any](v T) *T { return &v }

// knownFailures are scenarios that run but fail for a reason outside this
// package; each names the reason. Keep it empty when possible.
var knownFailures = map[string]string{}

// pendingReason says why a scenario cannot run on the fake runtime yet,
// or "" if it can. Nothing is skipped without a reason.
func pendingReason(sc *conformance.Scenario) string {
	e := sc.Expect
	switch {
	case sc.Kind == "Job":
		return "Jobs: the Job controller comes with the Jobs issue"
	case sc.Kind != "Pod":
		return fmt.Sprintf("kind %q is not a pod", sc.Kind)
	case e.Static:
		return "static: checked by analysis (resources), no run"
	case e.Rejected != nil || len(e.Errors) > 0:
		return "validation: checked by internal/manifest"
	case e.Optional != "" && e.Optional != "configmaps":
		return fmt.Sprintf("optional capability %q is not modelled by the fake runtime", e.Optional)
	}
	for _, c := range append(append([]corev1.Container{}, sc.Pod.Spec.InitContainers...), sc.Pod.Spec.Containers...) {
		for _, p := range []*corev1.Probe{c.StartupProbe, c.LivenessProbe, c.ReadinessProbe} {
			if p != nil && p.Exec == nil {
				return "httpGet/tcpSocket/grpc probes: the probes issue"
			}
			if p != nil {
				if _, err := fake.ParseCommand(p.Exec.Command); err != nil {
					return fmt.Sprintf("probe of %s: the fake cannot interpret it: %v", c.Name, err)
				}
			}
		}
		if c.Lifecycle != nil {
			for _, h := range []*corev1.LifecycleHandler{c.Lifecycle.PostStart, c.Lifecycle.PreStop} {
				if h != nil && (h.HTTPGet != nil || h.TCPSocket != nil) {
					return "httpGet hooks: the hooks issue"
				}
				if h != nil && h.Exec != nil {
					if _, err := fake.ParseCommand(h.Exec.Command); err != nil {
						return fmt.Sprintf("hook of %s: the fake cannot interpret it: %v", c.Name, err)
					}
				}
			}
		}
		if _, err := fake.ParseCommand(append(append([]string{}, c.Command...), c.Args...)); err != nil && len(c.Command) > 0 {
			return fmt.Sprintf("container %s: the fake cannot interpret its command: %v", c.Name, err)
		}
	}
	return ""
}

// catalogScenarios loads the catalog with its runnable variants, and
// lists the variants that cannot run yet as table rows with the reason.
func catalogScenarios(t *testing.T) (all []*conformance.Scenario, pending []string) {
	t.Helper()
	scenarios, err := conformance.LoadDir(catalog)
	if err != nil {
		t.Fatal(err)
	}
	if len(scenarios) == 0 {
		t.Fatalf("no scenarios in %s", catalog)
	}
	for _, sc := range scenarios {
		all = append(all, sc)
		for i := range sc.Expect.Variants {
			if v, why := sc.Variant(i); v != nil {
				all = append(all, v)
			} else if prose, ok := proseVariants[fmt.Sprintf("%s/variant-%d", sc.Name, i+1)]; ok {
				all = append(all, prose(sc))
			} else {
				pending = append(pending, fmt.Sprintf("| %s/variant-%d | %s |", sc.Name, i+1, why))
			}
		}
	}
	return all, pending
}

// TestConformanceScenarios runs every catalog scenario the fake runtime
// can express on the fake runtime in a synctest bubble (virtual time), and
// checks its expect block against the run record.
func TestConformanceScenarios(t *testing.T) {
	all, pending := catalogScenarios(t)
	for _, sc := range all {
		reason := pendingReason(sc)
		if reason != "" {
			pending = append(pending, fmt.Sprintf("| %s | %s |", sc.Name, reason))
		}
		t.Run(sc.Name, func(t *testing.T) {
			if reason != "" {
				t.Skipf("pending: %s", reason)
			}
			obs := runScenario(t, sc, nil)
			fails := conformance.Check(sc.Expect, obs)
			if why, ok := knownFailures[sc.Name]; ok {
				if len(fails) == 0 {
					t.Errorf("listed as a known failure (%s) but passes: remove it from knownFailures", why)
				}
				t.Skipf("known failure: %s\n%s", why, conformance.String(fails))
			}
			for _, f := range fails {
				t.Error(f)
			}
			if t.Failed() {
				t.Log(conformance.Describe(obs.Record))
			}
		})
	}
	sort.Strings(pending)
	t.Logf("pending scenarios (%d):\n| scenario | reason |\n|---|---|\n%s", len(pending), strings.Join(pending, "\n"))
}

// runScenario runs sc's pod until it is done, its stopWhen holds or its
// timeout passes, performing its harness actions on time.
// plan, when not nil, replaces the planner.
func runScenario(t *testing.T, sc *conformance.Scenario, plan podworker.PlanFunc) *conformance.Observation {
	return runScenarioWith(t, sc, scenarioOpts{plan: plan}).obs
}

// scenarioOpts vary a scenario run.
type scenarioOpts struct {
	// plan, when not nil, replaces the planner.
	plan podworker.PlanFunc
	// dieAfter, when positive, kills the first worker right after its
	// dieAfter-th checkpoint (nothing it does later reaches the runtime
	// or the store) and continues the pod with a second worker resumed
	// from that checkpoint, on the same runtime and store, with a new
	// prober (see dying_test.go).
	dieAfter int
}

// scenarioResult is what a scenario run leaves.
type scenarioResult struct {
	obs *conformance.Observation
	// rt and store are the run's runtime and store.
	rt    *fake.Runtime
	store *podworkertest.MemoryStore
	// saves counts the checkpoints saved; resumed is set when a second
	// worker took over, and inFlight names the hooks that were running
	// in the checkpoint it resumed from.
	saves    int
	resumed  bool
	inFlight []string
}

// runScenarioWith runs sc's pod until it is done, its stopWhen holds or
// its timeout passes, performing its harness actions on time, as opts
// say.
func runScenarioWith(t *testing.T, sc *conformance.Scenario, opts scenarioOpts) *scenarioResult {
	res := &scenarioResult{}
	synctest.Test(t, func(t *testing.T) {
		pod := sc.Pod.DeepCopy()
		manifest.DefaultPod(pod)
		pod.UID = types.UID("uid-" + pod.Name)
		clk := clock.RealClock{} // virtual inside the bubble
		rt := fake.New(clk, nil)
		store := podworkertest.NewMemoryStore()
		res.rt, res.store = rt, store
		settings := lifecycle.DefaultSettings()
		for gate, on := range sc.Expect.FeatureGates {
			switch gate {
			case "ContainerRestartRules":
				settings.ContainerRestartRules = on
			case "SidecarsRestartableDuringPodTermination":
				settings.SidecarsRestartableDuringPodTermination = on
			case "RestartAllContainersOnContainerExits":
				settings.RestartAllContainersOnContainerExits = on
			}
		}
		logDir := t.TempDir()
		counting := &dyingStore{MemoryStore: store, dieAfter: opts.dieAfter}
		var dead *dyingRuntime
		var died chan struct{}
		if opts.dieAfter > 0 {
			dead = &dyingRuntime{Runtime: rt}
			died = make(chan struct{})
		}

		// start runs one worker; the first one may die (dieAfter).
		type running struct {
			w      *podworker.Worker
			prober *podworkertest.ExecProber
			cancel context.CancelFunc
			errc   chan error
		}
		start := func(resume *podworker.Checkpoint) *running {
			var wrt runtime.Runtime = rt
			var wstore podworker.Store = counting
			if resume == nil && dead != nil {
				wrt = dead
			}
			if resume != nil {
				wstore = &dyingStore{MemoryStore: store} // never dies
			}
			ctx, cancel := context.WithCancel(context.Background())
			if resume == nil && dead != nil {
				counting.onDeath = func() {
					dead.kill()
					cancel()
					close(died)
				}
			}
			// Exec probes run through the stand-in prober until the
			// probes issue brings the real one.
			prober := podworkertest.NewExecProber(wrt, clk)
			w := podworker.New(podworker.Config{
				Pod: pod, Runtime: wrt, Images: podworkertest.NewImages("busybox"), Prober: prober,
				Store: wstore, Clock: clk, Settings: settings,
				NodeName: "localhost", LogDir: logDir, Plan: opts.plan, Resume: resume,
			})
			r := &running{w: w, prober: prober, cancel: cancel, errc: make(chan error, 1)}
			go func() { r.errc <- w.Run(ctx) }()
			return r
		}
		cur := start(nil)
		defer func() {
			cur.cancel()
			<-cur.w.Done()
			cur.prober.Close()
		}()
		var deletes []*int64 // every deletion, for a worker that takes over

		var errc <-chan error = cur.errc // nil once Run returned
		begin := time.Now()
		deadline := begin.Add(sc.Expect.Timeout())
		done := make([]bool, len(sc.Expect.Actions))
		observe := func() *conformance.Observation {
			rec := cur.w.Record()
			o := &conformance.Observation{Record: &rec}
			for _, id := range rt.SandboxIDs(true) {
				o.Marks = append(o.Marks, conformance.ParseMarks(rt.ReadVolumeFile(id, "shared", "marks"))...)
			}
			return o
		}
		takeOver := func() {
			<-cur.w.Done()
			cur.prober.Close()
			cp := store.Checkpoint()
			if cp == nil {
				t.Fatalf("the first worker died after checkpoint %d but none is stored", opts.dieAfter)
			}
			res.inFlight = hooksInFlight(cp)
			cur, died, res.resumed = start(cp), nil, true
			errc = cur.errc
			for _, g := range deletes {
				// The deletion is recorded outside the worker; delivering
				// it again is harmless when the checkpoint has it.
				cur.w.Delete(g)
			}
			// Let the new worker catch up within the instant, as the old
			// one would have done before the harness looked again.
			synctest.Wait()
		}
	loop:
		for {
			select {
			case <-died:
				takeOver()
			default:
			}
			now := time.Now()
			o := observe()
			next := deadline
			for i, a := range sc.Expect.Actions {
				if done[i] {
					continue
				}
				due, ok, err := a.DueAt(o)
				if err != nil {
					t.Fatalf("action %+v: %v", a, err)
				}
				if !ok {
					continue
				}
				if !now.Before(due) {
					done[i] = true
					if a.Do == "delete" {
						deletes = append(deletes, a.GracePeriodSeconds)
						cur.w.Delete(a.GracePeriodSeconds)
					}
					continue
				}
				if due.Before(next) {
					next = due
				}
			}
			if stop, err := sc.Expect.Stopped(o, now); err != nil {
				t.Fatal(err)
			} else if stop || !now.Before(deadline) {
				break loop
			}
			// Re-check at least every 100 ms of virtual time so event-based
			// actions and stop conditions are seen promptly.
			if tick := now.Add(100 * time.Millisecond); tick.Before(next) {
				next = tick
			}
			timer := time.NewTimer(next.Sub(now))
			select {
			case <-died:
				timer.Stop()
				takeOver()
			case err := <-errc:
				timer.Stop()
				errc = nil
				select {
				case <-died: // closed before the dying worker's Run returns
					takeOver()
					continue loop
				default:
				}
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				if !anyPending(done, sc.Expect.Actions, observe()) {
					break loop
				}
			case <-timer.C:
			}
		}
		// Whatever else is due at this instant happens before the last
		// look (a retry on the timeout's instant), so that a run is
		// reproducible.
		synctest.Wait()
		select {
		case <-died:
			// The first worker died after its last checkpoint as the
			// scenario stopped: the second one still takes over.
			takeOver()
		default:
		}
		res.obs = observe()
		res.saves = counting.count()
	})
	return res
}

// anyPending reports whether an action whose event happened is still due.
func anyPending(done []bool, actions []conformance.Action, o *conformance.Observation) bool {
	for i, a := range actions {
		if _, ok, _ := a.DueAt(o); ok && !done[i] {
			return true
		}
	}
	return false
}

// TestScenarioHarnessCatchesAnEagerPlanner runs 001 with a planner that
// starts every container as soon as the first one starts: the checks must
// report the broken init order.
func TestScenarioHarnessCatchesAnEagerPlanner(t *testing.T) {
	sc, err := conformance.Load(filepath.Join(catalog, "001-init-serial-never.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	eager := func(pod *corev1.Pod, obs lifecycle.Observed, now time.Time) lifecycle.Decision {
		d := lifecycle.Plan(pod, obs, now)
		for _, a := range d.Actions {
			if a.Kind == lifecycle.StartContainer && a.Container == "init-1" {
				for _, c := range []string{"init-2", "init-3", "main"} {
					d.Actions = append(d.Actions, lifecycle.Action{Kind: lifecycle.StartContainer, Container: c})
				}
			}
		}
		return d
	}
	fails := conformance.Check(sc.Expect, runScenario(t, sc, eager))
	text := conformance.String(fails)
	if !strings.Contains(text, "order: init-1.exit") || !strings.Contains(text, "order: init-3.exit") {
		t.Errorf("an eager planner passed the order checks of 001; failures:\n%s", text)
	}
}
