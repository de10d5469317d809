package e2e

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/conformance"
	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/manifest"
)

// backendCases are end-to-end cases of the local back-end that the
// catalog has no scenario for; each runs in a child process.
var backendCases = map[string]func(t *testing.T) childResult{
	"second-delete-shortens-grace": secondDeleteShortensGrace,
}

// childBackend runs the back-end case name in a child process.
func childBackend(t *testing.T, name string) childResult {
	run, ok := backendCases[name]
	if !ok {
		t.Fatalf("no back-end case %q", name)
	}
	return run(t)
}

// TestBackend runs backendCases, each in a child process.
func TestBackend(t *testing.T) {
	requireE2E(t)
	for _, name := range sortedKeys(backendCases) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			report(t, name, runChild(t, "backend", name, 3*time.Minute))
		})
	}
}

// secondDeleteShortensGrace: a container ignoring SIGTERM is deleted with
// its 30 s grace period, then again with 1 s (kubectl delete
// --grace-period=1, or podrun run's second Ctrl-C): it is killed about a
// second after the second deletion, not at the end of the first grace.
func secondDeleteShortensGrace(t *testing.T) childResult {
	e := newEnv(t, lifecycle.DefaultSettings())
	pod := &corev1.Pod{}
	pod.Name, pod.Namespace = "second-delete", "default"
	grace := int64(30)
	pod.Spec = corev1.PodSpec{
		RestartPolicy:                 corev1.RestartPolicyNever,
		TerminationGracePeriodSeconds: &grace,
		Containers: []corev1.Container{{
			Name: "main", Image: "busybox", ImagePullPolicy: corev1.PullIfNotPresent,
			Command: []string{"sh", "-c", "exec sleep 600"}, // PID 1 ignores SIGTERM
		}},
	}
	manifest.DefaultPod(pod)
	one := int64(1)
	ex := conformance.Expect{
		TimeoutSeconds: 90,
		Actions: []conformance.Action{
			{After: "main.start", DelaySeconds: 1, Do: "delete"},
			{After: "main.start", DelaySeconds: 3, Do: "delete", GracePeriodSeconds: &one},
		},
		// the second deletion comes 2 s after the first: the kill is due
		// 1 s after it, plus slack for sync latency
		Gaps:       []conformance.Gap{{From: "delete", To: "main.exit", MinSeconds: ptr(2.0), MaxSeconds: ptr(5.0)}},
		Containers: map[string]conformance.ContainerFacts{"main": {ExitCode: ptr[int32](137)}},
	}
	res := e.runScenarioPod(pod, ex, "")
	if res.obs == nil {
		t.Fatal("no run record")
	}
	return childResult{Fails: conformance.Check(ex, res.obs), Detail: conformance.Describe(res.obs.Record)}
}
