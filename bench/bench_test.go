package bench

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/internal/lifecycle"
)

// t0 is the pod's start in the fixtures.
var t0 = time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)

// fivePod is a pod of five containers: an init container, a native
// sidecar (with a readiness probe) and three regular containers.
func fivePod() *corev1.Pod {
	always := corev1.ContainerRestartPolicyAlways
	c := func(name string) corev1.Container {
		return corev1.Container{Name: name, Image: "busybox", ImagePullPolicy: corev1.PullNever,
			TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile}
	}
	sidecar := c("proxy")
	sidecar.RestartPolicy = &always
	sidecar.ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}},
		PeriodSeconds: 10, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3,
	}
	grace := int64(30)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "five", Namespace: "default", UID: "uid-five",
			CreationTimestamp: metav1.NewTime(t0)},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyAlways,
			TerminationGracePeriodSeconds: &grace,
			InitContainers:                []corev1.Container{c("setup"), sidecar},
			Containers:                    []corev1.Container{c("app"), c("worker"), c("metrics")},
		},
	}
}

// running is the observation of fivePod in steady state: setup completed,
// the sidecar ready, the three regular containers running, "worker" once
// restarted after a crash.
func running() lifecycle.Observed {
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	exited := func(id string, start, end float64, code int32) lifecycle.Attempt {
		reason := "Completed"
		if code != 0 {
			reason = "Error"
		}
		return lifecycle.Attempt{ID: id, State: lifecycle.AttemptExited, Image: "busybox", ImageID: "sha256:b",
			CreatedAt: at(start - 0.05), StartedAt: at(start), FinishedAt: at(end), ExitCode: code, Reason: reason,
			StartedTrueAt: at(start)}
	}
	run := func(id string, start float64) lifecycle.Attempt {
		return lifecycle.Attempt{ID: id, State: lifecycle.AttemptRunning, Image: "busybox", ImageID: "sha256:b",
			CreatedAt: at(start - 0.05), StartedAt: at(start), StartedTrueAt: at(start)}
	}
	proxy := run("proxy-0", 0.3)
	proxy.Readiness = lifecycle.ProbeSuccess
	proxy.ReadyTransitions = []lifecycle.ReadyTransition{{At: at(0.5), Ready: true}}
	return lifecycle.Observed{
		Settings:  lifecycle.DefaultSettings(),
		Sandbox:   &lifecycle.SandboxObservation{ID: "sb", Ready: true, IP: "127.0.0.1", CreatedAt: t0},
		StartTime: t0,
		Containers: map[string]*lifecycle.ContainerObservation{
			"setup":   {Attempts: []lifecycle.Attempt{exited("setup-0", 0.1, 0.2, 0)}},
			"proxy":   {Attempts: []lifecycle.Attempt{proxy}},
			"app":     {Attempts: []lifecycle.Attempt{run("app-0", 0.6)}},
			"worker":  {Attempts: []lifecycle.Attempt{exited("worker-0", 0.6, 5, 1), run("worker-1", 15)}},
			"metrics": {Attempts: []lifecycle.Attempt{run("metrics-0", 0.6)}},
		},
		LastPhase: corev1.PodRunning,
	}
}

// now is the moment of the benchmarks: a minute into the run.
var now = t0.Add(time.Minute)

// BenchmarkPlan is one planner call on a five-container pod in steady
// state, as the executor makes on every event.
func BenchmarkPlan(b *testing.B) {
	pod, obs := fivePod(), running()
	if d := lifecycle.Plan(pod, obs, now); len(d.Actions) != 0 {
		b.Fatalf("steady state planned actions:\n%s", d)
	}
	b.ReportAllocs()
	for b.Loop() {
		lifecycle.Plan(pod, obs, now)
	}
}

// BenchmarkPlanStartup is the planner deciding the first step of the same
// pod (create the sandbox, start the init container).
func BenchmarkPlanStartup(b *testing.B) {
	pod := fivePod()
	obs := lifecycle.Observed{Settings: lifecycle.DefaultSettings(), StartTime: t0}
	if d := lifecycle.Plan(pod, obs, t0); len(d.Actions) == 0 {
		b.Fatal("the first plan has no actions")
	}
	b.ReportAllocs()
	for b.Loop() {
		lifecycle.Plan(pod, obs, t0)
	}
}

// BenchmarkStatus is the pod status computed after every step.
func BenchmarkStatus(b *testing.B) {
	pod, obs := fivePod(), running()
	if st := lifecycle.Status(pod, obs, now); st.Phase != corev1.PodRunning {
		b.Fatalf("phase %q, want Running", st.Phase)
	}
	b.ReportAllocs()
	for b.Loop() {
		lifecycle.Status(pod, obs, now)
	}
}

// BenchmarkColumns is the kubectl STATUS / READY / RESTARTS cells, computed
// for every status change of the run record.
func BenchmarkColumns(b *testing.B) {
	pod := fivePod()
	pod.Status = lifecycle.Status(pod, running(), now)
	if c := lifecycle.Columns(pod, now); c.Status != "Running" || c.Ready != "4/4" {
		b.Fatalf("columns %+v, want Running 4/4", c)
	}
	b.ReportAllocs()
	for b.Loop() {
		lifecycle.Columns(pod, now)
	}
}
