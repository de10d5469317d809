package lifecycle_test

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/podrun/podrun/internal/lifecycle"
)

// restartPod is a pod with one sidecar and two regular containers, so
// that one regular container exiting leaves the pod running.
func restartPod() *corev1.Pod {
	return planPod(corev1.RestartPolicyAlways,
		[]corev1.Container{planContainer("sidecar", asSidecar)},
		planContainer("main"), planContainer("other"),
	)
}

// restartRunning records the sidecar, main and other running since 0-2 s.
func restartRunning(o *lifecycle.Observed) {
	started(o, "sidecar", at(0))
	started(o, "main", at(1))
	started(o, "other", at(1))
}

// TestPlanRestartMatrix covers the §3.1 table for a regular container.
func TestPlanRestartMatrix(t *testing.T) {
	var cases []planCase
	for _, tc := range []struct {
		policy  corev1.RestartPolicy
		code    int32
		restart bool
	}{
		{corev1.RestartPolicyAlways, 0, true},
		{corev1.RestartPolicyAlways, 1, true},
		{corev1.RestartPolicyOnFailure, 0, false},
		{corev1.RestartPolicyOnFailure, 1, true},
		{corev1.RestartPolicyNever, 0, false},
		{corev1.RestartPolicyNever, 1, false},
	} {
		var want []lifecycle.Action
		if tc.restart {
			want = []lifecycle.Action{startA("main", "§3.1")}
		}
		cases = append(cases, planCase{
			name: fmt.Sprintf("§3.1 pod %s, regular container exit %d: restart=%v", tc.policy, tc.code, tc.restart),
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.RestartPolicy = tc.policy
				restartRunning(o)
				exited(o, "main", tc.code, at(5))
			},
			now:  at(5),
			want: want,
		})
	}
	runPlanCases(t, restartPod, cases)
}

func TestPlanRestarts(t *testing.T) {
	runPlanCases(t, restartPod, []planCase{
		{
			name: "RS1 sidecar exit 0 after initialization under Never: restarted",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.RestartPolicy = corev1.RestartPolicyNever
				restartRunning(o)
				exited(o, "sidecar", 0, at(5))
			},
			now:  at(5),
			want: []lifecycle.Action{startA("sidecar", "RS1")},
		},
		{
			name: "RS1 R1.4 sidecar second exit within 10 s of its first restart: held by back-off",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				restartRunning(o)
				exited(o, "sidecar", 1, at(5))
				ran(o, "sidecar", at(5), at(6), 1)
			},
			now:    at(7),
			wakeAt: at(16),
		},
		{
			name: "RS3 regular container restart never re-runs init containers",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.InitContainers = append([]corev1.Container{planContainer("init")}, pod.Spec.InitContainers...)
				ran(o, "init", at(0), at(0.5), 0)
				restartRunning(o)
				exited(o, "main", 1, at(5))
			},
			now:  at(5),
			want: []lifecycle.Action{startA("main", "§3.1")},
		},
		{
			name: "RS4 a sidecar crash restarts only the sidecar",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				restartRunning(o)
				exited(o, "sidecar", 137, at(5))
			},
			now:  at(5),
			want: []lifecycle.Action{startA("sidecar", "RS1")},
		},
		{
			name: "RS4 a regular container crash leaves the sidecar alone",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				restartRunning(o)
				exited(o, "other", 2, at(5))
			},
			now:  at(5),
			want: []lifecycle.Action{startA("other", "§3.1")},
		},
		{
			name: "RS5 T1 every regular container exited under Never: pod killed, sidecar stopped not restarted",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.RestartPolicy = corev1.RestartPolicyNever
				restartRunning(o)
				exited(o, "main", 0, at(5))
				exited(o, "other", 1, at(6))
			},
			now: at(6),
			want: []lifecycle.Action{
				beginA(lifecycle.TerminationCompleted, 30*time.Second, "T1"),
				killA("sidecar", lifecycle.KillPodTermination, 30*time.Second, "T1"),
				signalA("sidecar", 30*time.Second, "T5"),
			},
			wakeAt: at(36),
		},
		{
			name: "RS5 RS2 every regular container done and the sidecar crashed: not restarted, pod done",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
				restartRunning(o)
				exited(o, "sidecar", 1, at(4))
				exited(o, "main", 0, at(5))
				exited(o, "other", 0, at(6))
			},
			now: at(6),
			want: []lifecycle.Action{
				beginA(lifecycle.TerminationCompleted, 30*time.Second, "T1"),
				removeSandboxA("T1"),
			},
			done: true,
		},
		{
			name: "RS5 OnFailure with one failed regular container: it is restarted, no termination",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
				restartRunning(o)
				exited(o, "main", 0, at(5))
				exited(o, "other", 1, at(6))
			},
			now:  at(6),
			want: []lifecycle.Action{startA("other", "§3.1")},
		},
		{
			name: "RS5 Always never completes: exit 0 is restarted even with the other one done",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				restartRunning(o)
				exited(o, "main", 0, at(5))
				exited(o, "other", 0, at(6))
			},
			now:  at(6),
			want: []lifecycle.Action{startA("main", "§3.1"), startA("other", "§3.1")},
		},
		{
			name: "RS5 a regular container in back-off still counts as restarting: no termination",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.Containers = pod.Spec.Containers[:1]
				started(o, "sidecar", at(0))
				ran(o, "main", at(1), at(2), 1)
				ran(o, "main", at(2), at(3), 1)
			},
			now:    at(4),
			wakeAt: at(13),
		},
		{
			name: "RS2 deleted pod: an exited sidecar is not restarted",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				restartRunning(o)
				exited(o, "sidecar", 0, at(5))
				markDeleted(pod, o, at(5), 10)
			},
			now: at(5),
			want: []lifecycle.Action{
				beginA(lifecycle.TerminationDeleted, 10*time.Second, "T3"),
				killA("main", lifecycle.KillPodTermination, 10*time.Second, "T3"),
				killA("other", lifecycle.KillPodTermination, 10*time.Second, "T3"),
				signalA("main", 10*time.Second, "T4"),
				signalA("other", 10*time.Second, "T4"),
			},
		},
	})
}

// markDeleted sets the pod's deletion timestamp and grace.
func markDeleted(pod *corev1.Pod, _ *lifecycle.Observed, t time.Time, grace int64) {
	ts := metaTime(t)
	pod.DeletionTimestamp = &ts
	pod.DeletionGracePeriodSeconds = ptr.To(grace)
}

// TestPlanContainerRestartRules covers KEP-5307 (§3.2).
func TestPlanContainerRestartRules(t *testing.T) {
	rules := func(op corev1.ContainerRestartRuleOnExitCodesOperator, codes ...int32) func(*corev1.Container) {
		return func(c *corev1.Container) {
			c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyNever)
			c.RestartPolicyRules = []corev1.ContainerRestartRule{{
				Action:    corev1.ContainerRestartRuleActionRestart,
				ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: op, Values: codes},
			}}
		}
	}
	neverPod := func() *corev1.Pod {
		p := restartPod()
		p.Spec.RestartPolicy = corev1.RestartPolicyNever
		return p
	}
	runPlanCases(t, neverPod, []planCase{
		{
			name: "§3.2 rule In [42] matches under pod Never: restarted in place",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				rules(corev1.ContainerRestartRuleOnExitCodesOpIn, 42)(&pod.Spec.Containers[0])
				restartRunning(o)
				exited(o, "main", 42, at(5))
			},
			now:  at(5),
			want: []lifecycle.Action{startA("main", "§3.2")},
		},
		{
			name: "§3.2 rule In [42] does not match exit 1: container policy Never, not restarted",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				rules(corev1.ContainerRestartRuleOnExitCodesOpIn, 42)(&pod.Spec.Containers[0])
				restartRunning(o)
				exited(o, "main", 1, at(5))
			},
			now: at(5),
		},
		{
			name: "§3.2 rule NotIn [0] restarts failures only",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				rules(corev1.ContainerRestartRuleOnExitCodesOpNotIn, 0)(&pod.Spec.Containers[0])
				restartRunning(o)
				exited(o, "main", 3, at(5))
			},
			now:  at(5),
			want: []lifecycle.Action{startA("main", "§3.2")},
		},
		{
			name: "§3.2 container policy Always in a Never pod restarts exit 0",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.Containers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
				restartRunning(o)
				exited(o, "main", 0, at(5))
			},
			now:  at(5),
			want: []lifecycle.Action{startA("main", "§3.2")},
		},
		{
			name: "§3.2 gate off: the container policy is ignored, pod Never decides",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				o.Settings.ContainerRestartRules = false
				pod.Spec.Containers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
				restartRunning(o)
				exited(o, "main", 0, at(5))
			},
			now: at(5),
		},
		{
			name: "§3.2 S8 init container with a matching rule is retried under pod Never",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				init := planContainer("init", rules(corev1.ContainerRestartRuleOnExitCodesOpIn, 42))
				pod.Spec.InitContainers = []corev1.Container{init}
				ran(o, "init", at(0), at(1), 42)
			},
			now:  at(1),
			want: []lifecycle.Action{startA("init", "S8")},
		},
		{
			name: "§3.2 S8 T2 init container with a non-matching failure fails the pod",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				init := planContainer("init", rules(corev1.ContainerRestartRuleOnExitCodesOpIn, 42))
				pod.Spec.InitContainers = []corev1.Container{init}
				ran(o, "init", at(0), at(1), 1)
			},
			now: at(1),
			want: []lifecycle.Action{
				beginA(lifecycle.TerminationInitFailed, 30*time.Second, "T2"),
				removeSandboxA("T2"),
			},
			done: true,
		},
		{
			name: "§3.2 RS1 rules have no effect on sidecars: always restarted",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				restartRunning(o)
				exited(o, "sidecar", 0, at(5))
			},
			now:  at(5),
			want: []lifecycle.Action{startA("sidecar", "RS1")},
		},
	})
}

func TestContainerShouldRestart(t *testing.T) {
	on := lifecycle.DefaultSettings()
	c := planContainer("c")
	c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyOnFailure)
	c.RestartPolicyRules = []corev1.ContainerRestartRule{
		{Action: corev1.ContainerRestartRuleActionRestartAllContainers, ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: corev1.ContainerRestartRuleOnExitCodesOpIn, Values: []int32{7}}},
	}
	for _, tc := range []struct {
		name string
		c    corev1.Container
		pod  corev1.RestartPolicy
		code int32
		want bool
	}{
		{"§3.2 no container policy, pod empty policy means Always", planContainer("c"), "", 0, true},
		{"§3.2 container OnFailure exit 0", c, corev1.RestartPolicyAlways, 0, false},
		{"§3.2 container OnFailure exit 1", c, corev1.RestartPolicyNever, 1, true},
		{"§3.2 RestartAllContainers rule falls back to the container policy", c, corev1.RestartPolicyNever, 7, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := lifecycle.ContainerShouldRestart(on, &tc.c, tc.pod, tc.code); got != tc.want {
				t.Errorf("ContainerShouldRestart(%s, pod %q, exit %d) = %v, want %v", tc.c.Name, tc.pod, tc.code, got, tc.want)
			}
		})
	}
}
