package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/conformance"
	"github.com/podrun/podrun/internal/features"
	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/manifest"
)

// catalog is the hermetic copy of shared/conformance kept by
// internal/conformance (its TestCatalogCopyIsCurrent keeps it current).
var catalog = filepath.Join("..", "conformance", "testdata", "scenarios")

// Why a scenario does not run on runc yet.
const (
	reasonProbes = "probes: no prober is wired into the local back-end " +
		"(internal/backend/local leaves podworker.Config.Prober nil; no internal/probe yet)"
	reasonStatic     = "static: a computed value, nothing to run (internal/analysis)"
	reasonValidation = "validation: an API-server outcome, nothing to run (internal/manifest checks it)"
)

// pending lists every scenario of the catalog that is not run on runc,
// with the reason. TestPending runs them anyway and says which pass.
var pending = map[string]string{
	"012-sidecar-startup-probe-gating":        reasonProbes,
	"024-sidecar-startup-probe-fails-prestop": reasonProbes,
	"026-sidecar-liveness-fail-restart":       reasonProbes,
	"027-sidecar-readiness-gates-pod-ready":   reasonProbes,
	"029-main-liveness-kill-never":            reasonProbes,
	"030-main-startup-probe-fail-never":       reasonProbes,
	"032-readiness-runs-during-prestop":       reasonProbes,
	"065-status-column-timeline":              reasonProbes,
	"059-resources-sidecar-math":              reasonStatic,
	"060-validation-probe-on-init":            reasonValidation,
	"061-validation-restartpolicy-regular":    reasonValidation,
	"063-validation-init-restartpolicy-never": reasonValidation,
}

// Notes on scenarios that run although they mention a missing feature:
//   - 043: sidecar-2's startupProbe is `false` with failureThreshold 600,
//     so it never passes within the run; without a prober the sidecar
//     likewise never counts as started, which is all the scenario needs.

// loadCatalog reads every scenario; a scenario file that is neither run
// nor listed as pending fails the test (nothing is skipped silently).
func loadCatalog(t *testing.T) []*conformance.Scenario {
	t.Helper()
	scenarios, err := conformance.LoadDir(catalog)
	if err != nil {
		t.Fatalf("load the catalog: %v", err)
	}
	if len(scenarios) == 0 {
		t.Fatalf("no scenarios in %s", catalog)
	}
	known := map[string]bool{}
	for _, sc := range scenarios {
		known[sc.Name] = true
		if sc.Kind != "Pod" && sc.Kind != "Job" {
			if _, ok := pending[sc.Name]; !ok {
				t.Errorf("scenario %s: kind %q is neither run nor listed as pending", sc.Name, sc.Kind)
			}
		}
	}
	for name := range pending {
		if !known[name] {
			t.Errorf("pending table names %s, which is not in the catalog", name)
		}
	}
	return scenarios
}

// TestConformance runs every scenario of the catalog whose features exist
// on runc, in parallel, each in its own state directory, and checks its
// expect block against the run record; pending ones are skipped naming
// their reason.
func TestConformance(t *testing.T) {
	requireE2E(t)
	scenarios := loadCatalog(t)
	var table []string
	for _, sc := range scenarios {
		if why, ok := pending[sc.Name]; ok {
			table = append(table, fmt.Sprintf("| %s | %s |", sc.Name, why))
		}
	}
	sort.Strings(table)
	t.Logf("pending scenarios (%d of %d):\n| scenario | reason |\n|---|---|\n%s", len(table), len(scenarios), strings.Join(table, "\n"))
	for _, sc := range scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			if why, ok := pending[sc.Name]; ok {
				t.Skipf("pending: %s", why)
			}
			t.Parallel()
			report(t, sc.Name, runChild(t, "scenario", sc.Name, childLimit(sc)))
		})
	}
}

// childLimit is how long a scenario's child may take: its timeout, the
// termination afterwards, and the set-up.
func childLimit(sc *conformance.Scenario) time.Duration {
	return sc.Expect.Timeout() + 3*time.Minute
}

// childScenario runs the scenario name in a child process.
func childScenario(t *testing.T, name string) childResult {
	sc, err := conformance.Load(filepath.Join(catalog, name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	fails, detail := runScenario(t, sc)
	return childResult{Fails: fails, Detail: detail}
}

// TestPending runs the pending scenarios that have something to run, when
// PODRUN_E2E_PENDING=1, and reports which of them now pass (an error: take
// it out of the pending table) and how the others fail (a skip).
func TestPending(t *testing.T) {
	requireE2E(t)
	if os.Getenv("PODRUN_E2E_PENDING") != "1" {
		t.Skip("set PODRUN_E2E_PENDING=1 to run the pending scenarios and see which now pass")
	}
	for _, sc := range loadCatalog(t) {
		why, ok := pending[sc.Name]
		if !ok || why == reasonStatic || why == reasonValidation {
			continue
		}
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			fails := runChild(t, "scenario", sc.Name, childLimit(sc)).Fails
			if len(fails) == 0 {
				t.Errorf("pending (%s) but passes on runc: remove it from the pending table", why)
				return
			}
			t.Skipf("still pending (%s):\n%s", why, strings.Join(fails, "\n"))
		})
	}
}

// runScenario runs one scenario and returns its failed expectations and a
// description of what ran.
func runScenario(t *testing.T, sc *conformance.Scenario) (fails []string, detail string) {
	settings, gates := settingsFor(t, sc.Expect.FeatureGates)
	e := newEnv(t, settings)
	marks := t.TempDir()
	switch sc.Kind {
	case "Pod":
		pod := sc.Pod.DeepCopy()
		adaptSpec(&pod.Spec, marks)
		manifest.DropDisabledPodSpecFields(&pod.Spec, gates)
		manifest.DefaultPod(pod)
		if errs := manifest.ValidatePod(pod, manifest.Options{Gates: gates}); len(errs) > 0 {
			t.Fatalf("scenario pod is invalid: %v", errs.ToAggregate())
		}
		vols, _ := json.Marshal(pod.Spec.Volumes)
		t.Logf("volumes %s", vols)
		res := e.runScenarioPod(pod, sc.Expect, marks)
		if res.obs == nil {
			t.Fatalf("no run record for pod %s (%s)", pod.Name, res.how)
		}
		return conformance.Check(sc.Expect, res.obs), conformance.Describe(res.obs.Record) + strings.Join(res.out, "\n")
	case "Job":
		job := sc.Job.DeepCopy()
		adaptSpec(&job.Spec.Template.Spec, marks)
		manifest.DropDisabledPodSpecFields(&job.Spec.Template.Spec, gates)
		manifest.DefaultJob(job)
		if errs := manifest.ValidateJob(job, manifest.Options{Gates: gates}); len(errs) > 0 {
			t.Fatalf("scenario job is invalid: %v", errs.ToAggregate())
		}
		res := e.runScenarioJob(job, sc.Expect)
		return checkJob(sc.Expect, res), res.describe()
	}
	t.Fatalf("scenario %s: kind %q cannot run", sc.Name, sc.Kind)
	return nil, ""
}

// settingsFor returns the node settings and the API feature gates of a
// scenario's featureGates.
func settingsFor(t *testing.T, fg map[string]bool) (lifecycle.Settings, features.Gates) {
	t.Helper()
	s := lifecycle.DefaultSettings()
	g := features.Default()
	for name, on := range fg {
		var err error
		if g, err = g.With(name, on); err != nil {
			t.Fatalf("feature gate %s: %v", name, err)
		}
	}
	s.ContainerRestartRules = g.Enabled(features.ContainerRestartRules)
	s.RestartAllContainersOnContainerExits = g.Enabled(features.RestartAllContainersOnContainerExits)
	s.SidecarsRestartableDuringPodTermination = g.Enabled(features.SidecarsRestartableDuringPodTermination)
	return s, g
}

// adaptSpec makes a catalog manifest runnable offline and observable:
//   - an image without imagePullPolicy gets IfNotPresent: `image: busybox`
//     defaults to Always, which would pull from Docker Hub; the suite's
//     busybox is already in the store (a missing tag, as in 023, still
//     fails to pull);
//   - the `shared` emptyDir (the marker file's directory) becomes a
//     hostPath to marks, so that the marker file can be read after the
//     pod is gone, when its emptyDir no longer exists.
func adaptSpec(spec *corev1.PodSpec, marks string) {
	for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range list {
			if list[i].ImagePullPolicy == "" {
				list[i].ImagePullPolicy = corev1.PullIfNotPresent
			}
		}
	}
	for i := range spec.Volumes {
		v := &spec.Volumes[i]
		if v.Name == "shared" && v.EmptyDir != nil {
			dirOrCreate := corev1.HostPathDirectoryOrCreate
			v.VolumeSource = corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: marks, Type: &dirOrCreate}}
		}
	}
}
