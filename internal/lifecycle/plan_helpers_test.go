package lifecycle_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/podrun/podrun/internal/lifecycle"
)

// Fixtures shared by the planner tests. Names carry a "plan" prefix so
// they do not collide with the status tests in the same test package.

// planT0 is the instant every planner test starts from.
var planT0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

// at returns planT0 plus s seconds.
func at(s float64) time.Time {
	return planT0.Add(time.Duration(s * float64(time.Second)))
}

// planContainer builds a busybox container.
func planContainer(name string, opts ...func(*corev1.Container)) corev1.Container {
	c := corev1.Container{Name: name, Image: "busybox"}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// asSidecar makes an init container a sidecar (restartPolicy Always).
func asSidecar(c *corev1.Container) {
	c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
}

// withStartupProbe gives c a startup probe.
func withStartupProbe(c *corev1.Container) {
	c.StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
}

// withLivenessProbe gives c a liveness probe.
func withLivenessProbe(c *corev1.Container) {
	c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
}

// withPreStop gives c an exec preStop hook.
func withPreStop(c *corev1.Container) {
	if c.Lifecycle == nil {
		c.Lifecycle = &corev1.Lifecycle{}
	}
	c.Lifecycle.PreStop = &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "sleep 1"}}}
}

// withPreStopSleep gives c a preStop sleep action (H5).
func withPreStopSleep(s int64) func(*corev1.Container) {
	return func(c *corev1.Container) {
		if c.Lifecycle == nil {
			c.Lifecycle = &corev1.Lifecycle{}
		}
		c.Lifecycle.PreStop = &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: s}}
	}
}

// withPostStart gives c an exec postStart hook.
func withPostStart(c *corev1.Container) {
	if c.Lifecycle == nil {
		c.Lifecycle = &corev1.Lifecycle{}
	}
	c.Lifecycle.PostStart = &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}
}

// planPod is a pod with the given restart policy, init containers and
// regular containers, grace 30 s.
func planPod(policy corev1.RestartPolicy, inits []corev1.Container, regular ...corev1.Container) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: "uid-p"},
		Spec: corev1.PodSpec{
			RestartPolicy:                 policy,
			TerminationGracePeriodSeconds: ptr.To[int64](30),
			InitContainers:                inits,
			Containers:                    regular,
		},
	}
}

// planObserved is an observation with a ready sandbox and default
// settings, started at planT0.
func planObserved() lifecycle.Observed {
	return lifecycle.Observed{
		Settings:   lifecycle.DefaultSettings(),
		Sandbox:    &lifecycle.SandboxObservation{ID: "sb", Ready: true, CreatedAt: planT0},
		StartTime:  planT0,
		Containers: map[string]*lifecycle.ContainerObservation{},
	}
}

// started appends a running attempt of name started at t.
func started(o *lifecycle.Observed, name string, t time.Time) *lifecycle.Attempt {
	co := o.Containers[name]
	if co == nil {
		co = &lifecycle.ContainerObservation{}
		o.Containers[name] = co
	}
	co.Attempts = append(co.Attempts, lifecycle.Attempt{
		ID: name + "-" + string(rune('0'+len(co.Attempts))), State: lifecycle.AttemptRunning,
		CreatedAt: t, StartedAt: t, Liveness: lifecycle.ProbeSuccess,
	})
	return co.Current()
}

// exited marks the current attempt of name exited with code at t.
func exited(o *lifecycle.Observed, name string, code int32, t time.Time) *lifecycle.Attempt {
	a := o.Containers[name].Current()
	a.State = lifecycle.AttemptExited
	a.ExitCode = code
	a.FinishedAt = t
	a.Reason = "Completed"
	if code != 0 {
		a.Reason = "Error"
	}
	return a
}

// ran appends an attempt of name that ran from start to end and exited
// with code.
func ran(o *lifecycle.Observed, name string, start, end time.Time, code int32) *lifecycle.Attempt {
	started(o, name, start)
	return exited(o, name, code, end)
}

// Action constructors.

func startA(name, rule string) lifecycle.Action {
	return lifecycle.Action{Kind: lifecycle.StartContainer, Container: name, Rule: rule}
}

func killA(name string, reason lifecycle.KillReason, grace time.Duration, rule string) lifecycle.Action {
	return lifecycle.Action{Kind: lifecycle.KillContainer, Container: name, Reason: string(reason), Grace: grace, Rule: rule}
}

func preStopA(name, rule string) lifecycle.Action {
	return lifecycle.Action{Kind: lifecycle.RunPreStop, Container: name, Rule: rule}
}

func signalA(name string, window time.Duration, rule string) lifecycle.Action {
	return lifecycle.Action{Kind: lifecycle.SignalStop, Container: name, Grace: window, Rule: rule}
}

func forceKillA(name string) lifecycle.Action {
	return lifecycle.Action{Kind: lifecycle.ForceKill, Container: name, Rule: "T10"}
}

func beginA(reason lifecycle.TerminationReason, grace time.Duration, rule string) lifecycle.Action {
	return lifecycle.Action{Kind: lifecycle.BeginTermination, Reason: string(reason), Grace: grace, Rule: rule}
}

func removeSandboxA(rule string) lifecycle.Action {
	return lifecycle.Action{Kind: lifecycle.RemoveSandbox, Rule: rule}
}

// planCase is one table case: a mutation of a base pod and observation,
// the instant to plan at, and the expected decision.
type planCase struct {
	name   string
	mutate func(pod *corev1.Pod, o *lifecycle.Observed)
	now    time.Time // planT0 if zero
	want   []lifecycle.Action
	// wakeAt, if set, is compared with Decision.WakeAt.
	wakeAt time.Time
	// done is compared with Decision.Done.
	done bool
}

// runPlanCases runs cases against a fresh base pod and observation each.
func runPlanCases(t *testing.T, base func() *corev1.Pod, cases []planCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod, o := base(), planObserved()
			if tc.mutate != nil {
				tc.mutate(pod, &o)
			}
			now := tc.now
			if now.IsZero() {
				now = planT0
			}
			d := lifecycle.Plan(pod, o, now)
			if diff := cmp.Diff(tc.want, d.Actions, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Plan actions mismatch (-want +got):\n%s\ngot decision:\n%s", diff, d)
			}
			if !tc.wakeAt.IsZero() && !d.WakeAt.Equal(tc.wakeAt) {
				t.Errorf("WakeAt = %v, want %v", d.WakeAt, tc.wakeAt)
			}
			if d.Done != tc.done {
				t.Errorf("Done = %v, want %v", d.Done, tc.done)
			}
		})
	}
}

// metaTime converts t to an API timestamp.
func metaTime(t time.Time) metav1.Time {
	return metav1.NewTime(t)
}
