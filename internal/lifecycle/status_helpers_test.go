package lifecycle

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// st0 is the base instant of the status tests.
var st0 = time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC)

// sat returns st0 + s seconds.
func sat(s float64) time.Time {
	return st0.Add(time.Duration(s * float64(time.Second)))
}

// kepPod is the KEP-753 example (§10): init-config, sidecar-1 and
// sidecar-2 with startup probes, main; restartPolicy Always.
func kepPod() *corev1.Pod {
	probe := func() *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"test", "-f", "/tmp/up"}}}}
	}
	always := corev1.ContainerRestartPolicyAlways
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: types.UID("u-1"), Generation: 1,
			CreationTimestamp: metav1.NewTime(st0)},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyAlways,
			InitContainers: []corev1.Container{
				{Name: "init-config", Image: "busybox"},
				{Name: "sidecar-1", Image: "busybox", RestartPolicy: &always, StartupProbe: probe()},
				{Name: "sidecar-2", Image: "busybox", RestartPolicy: &always, StartupProbe: probe()},
			},
			Containers: []corev1.Container{{Name: "main", Image: "busybox"}},
		},
	}
}

// plainPod has one regular container and no init containers.
func plainPod(policy corev1.RestartPolicy) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: types.UID("u-2"), Generation: 1,
			CreationTimestamp: metav1.NewTime(st0)},
		Spec: corev1.PodSpec{
			RestartPolicy: policy,
			Containers:    []corev1.Container{{Name: "main", Image: "busybox"}},
		},
	}
}

// baseObs is an observation at st0 with a ready sandbox and no container.
func baseObs() Observed {
	return Observed{
		Settings:   DefaultSettings(),
		Sandbox:    &SandboxObservation{ID: "sb", Ready: true, IP: "10.88.0.5", CreatedAt: st0},
		StartTime:  st0,
		Containers: map[string]*ContainerObservation{},
	}
}

// obsOf returns the observation of name, creating it.
func obsOf(o *Observed, name string) *ContainerObservation {
	if o.Containers == nil {
		o.Containers = map[string]*ContainerObservation{}
	}
	if o.Containers[name] == nil {
		o.Containers[name] = &ContainerObservation{}
	}
	return o.Containers[name]
}

// addRunning appends a running instance of name started at start.
func addRunning(o *Observed, name string, start time.Time) *Attempt {
	c := obsOf(o, name)
	c.Attempts = append(c.Attempts, Attempt{
		ID: name + "-" + string(rune('a'+len(c.Attempts))), State: AttemptRunning, Image: "docker.io/library/busybox:latest",
		ImageID: "sha256:feed", CreatedAt: start, StartedAt: start,
	})
	return &c.Attempts[len(c.Attempts)-1]
}

// addExited appends an instance of name that ran from start to end and exited
// with code.
func addExited(o *Observed, name string, start, end time.Time, code int32) *Attempt {
	a := addRunning(o, name, start)
	a.State, a.FinishedAt, a.ExitCode = AttemptExited, end, code
	return a
}

// addCrashLoop appends n instances of name, each running 1 s and exiting 1,
// restarted on the default back-off curve (0, 10, 20, 40 s...); it
// returns the finish time of the last.
func addCrashLoop(o *Observed, name string, from time.Time, n int) time.Time {
	start := from
	var end time.Time
	for i := 0; i < n; i++ {
		if i >= 2 {
			start = end.Add(InitialBackoff << (i - 2))
		} else if i == 1 {
			start = end
		}
		end = start.Add(time.Second)
		addExited(o, name, start, end, 1)
	}
	return end
}

// statusOf returns the status of name in s, failing if absent.
func statusOf(t *testing.T, s corev1.PodStatus, name string) corev1.ContainerStatus {
	t.Helper()
	if st := findStatus(s.InitContainerStatuses, name); st != nil {
		return *st
	}
	if st := findStatus(s.ContainerStatuses, name); st != nil {
		return *st
	}
	t.Fatalf("no status for %q in %+v", name, s)
	return corev1.ContainerStatus{}
}

// conditionOf returns the condition of type ct in s, failing if absent.
func conditionOf(t *testing.T, s corev1.PodStatus, ct corev1.PodConditionType) corev1.PodCondition {
	t.Helper()
	for _, c := range s.Conditions {
		if c.Type == ct {
			return c
		}
	}
	t.Fatalf("no %s condition in %+v", ct, s.Conditions)
	return corev1.PodCondition{}
}

// diffOrFail reports a cmp.Diff mismatch.
func diffOrFail(t *testing.T, what string, want, got any, opts ...cmp.Option) {
	t.Helper()
	if diff := cmp.Diff(want, got, opts...); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, diff)
	}
}

// ptrTo returns a pointer to v.
func ptrTo[T any](v T) *T { return &v }

// mt is metav1.NewTime.
func mt(t time.Time) metav1.Time { return metav1.NewTime(t) }
