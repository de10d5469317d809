package lifecycle

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// initPod is conformance 003/004: init1, init2, then run1.
func initPod(policy corev1.RestartPolicy) *corev1.Pod {
	p := plainPod(policy)
	p.Spec.InitContainers = []corev1.Container{{Name: "init1", Image: "busybox"}, {Name: "init2", Image: "busybox"}}
	p.Spec.Containers[0].Name = "run1"
	return p
}

// cond is a condition without times or generation, for comparison.
type cond struct {
	Type            corev1.PodConditionType
	Status          corev1.ConditionStatus
	Reason, Message string
}

func condsOf(s corev1.PodStatus) []cond {
	var out []cond
	for _, c := range s.Conditions {
		out = append(out, cond{c.Type, c.Status, c.Reason, c.Message})
	}
	return out
}

// kubeletConds lists the five kubelet conditions in order.
func kubeletConds(sandbox, initialized, ready, containersReady cond) []cond {
	sandbox.Type, initialized.Type, ready.Type, containersReady.Type =
		corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.PodReady, corev1.ContainersReady
	return []cond{sandbox, initialized, ready, containersReady, {Type: corev1.PodScheduled, Status: corev1.ConditionTrue}}
}

var (
	condTrue  = cond{Status: corev1.ConditionTrue}
	condFalse = func(reason, msg string) cond {
		return cond{Status: corev1.ConditionFalse, Reason: reason, Message: msg}
	}
)

// TestConditions covers §8: types in the kubelet's order, statuses,
// reasons and messages, including §14 item 9 (sidecar readiness gates
// ContainersReady and Ready, P1).
func TestConditions(t *testing.T) {
	cases := []struct {
		name   string
		pod    func() *corev1.Pod
		mutate func(*corev1.Pod, *Observed)
		now    time.Time
		want   []cond
	}{{
		name: "§8 Init:0/3: order PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled",
		pod:  kepPod, now: sat(3),
		mutate: func(_ *corev1.Pod, o *Observed) { addRunning(o, "init-config", sat(1)) },
		want: kubeletConds(condTrue,
			condFalse("ContainersNotInitialized", "containers with incomplete status: [init-config sidecar-1 sidecar-2]"),
			condFalse("ContainersNotReady", "containers with unready status: [sidecar-1 sidecar-2 main]"),
			condFalse("ContainersNotReady", "containers with unready status: [sidecar-1 sidecar-2 main]")),
	}, {
		name: "§8 a started sidecar is initialized and, ready, leaves the unready list",
		pod:  kepPod, now: sat(15),
		mutate: func(_ *corev1.Pod, o *Observed) {
			addExited(o, "init-config", sat(1), sat(6), 0)
			addRunning(o, "sidecar-1", sat(7)).Startup = ProbeSuccess
			addRunning(o, "sidecar-2", sat(13))
		},
		want: kubeletConds(condTrue,
			condFalse("ContainersNotInitialized", "containers with incomplete status: [sidecar-2]"),
			condFalse("ContainersNotReady", "containers with unready status: [sidecar-2 main]"),
			condFalse("ContainersNotReady", "containers with unready status: [sidecar-2 main]")),
	}, {
		name: "§8 all started and ready: all True",
		pod:  kepPod, now: sat(21),
		mutate: func(_ *corev1.Pod, o *Observed) { kepStarted(o) },
		want:   kubeletConds(condTrue, condTrue, condTrue, condTrue),
	}, {
		name: "§8 e2e: init failure under Always lists the failed and the not-yet-run init container",
		pod:  func() *corev1.Pod { return initPod(corev1.RestartPolicyAlways) }, now: sat(5),
		mutate: func(_ *corev1.Pod, o *Observed) { addExited(o, "init1", sat(1), sat(2), 1) },
		want: kubeletConds(condTrue,
			condFalse("ContainersNotInitialized", "containers with incomplete status: [init1 init2]"),
			condFalse("ContainersNotReady", "containers with unready status: [run1]"),
			condFalse("ContainersNotReady", "containers with unready status: [run1]")),
	}, {
		name: "§8 e2e: init failure under Never: init1 completed, [init2]; pod Failed",
		pod:  func() *corev1.Pod { return initPod(corev1.RestartPolicyNever) }, now: sat(5),
		mutate: func(_ *corev1.Pod, o *Observed) {
			addExited(o, "init1", sat(1), sat(2), 0)
			addExited(o, "init2", sat(2), sat(3), 1)
			o.Termination = &Termination{Reason: TerminationInitFailed, StartedAt: sat(3)}
			o.Sandbox.Ready = false
		},
		want: kubeletConds(condFalse("PodSandboxNotReady", "pod sandbox is not ready"),
			condFalse("ContainersNotInitialized", "containers with incomplete status: [init2]"),
			condFalse("PodFailed", ""), condFalse("PodFailed", "")),
	}, {
		name: "P1 §14.9 sidecar readiness failing: ContainersReady and Ready False naming the sidecar",
		pod: func() *corev1.Pod {
			p := withSidecar(plainPod(corev1.RestartPolicyAlways))
			p.Spec.InitContainers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"false"}}}}
			return p
		}, now: sat(5),
		mutate: func(_ *corev1.Pod, o *Observed) {
			addRunning(o, "proxy", sat(1)).Readiness = ProbeFailure
			addRunning(o, "main", sat(2))
		},
		want: kubeletConds(condTrue, condTrue,
			condFalse("ContainersNotReady", "containers with unready status: [proxy]"),
			condFalse("ContainersNotReady", "containers with unready status: [proxy]")),
	}, {
		name: "PH2 §8 Initialized stays True while a sidecar restarts after a regular container started",
		pod:  kepPod, now: sat(32),
		mutate: func(_ *corev1.Pod, o *Observed) {
			kepStarted(o)
			exitNow(o, "sidecar-1", 1, sat(30))
			addRunning(o, "sidecar-1", sat(31))
		},
		want: kubeletConds(condTrue, condTrue,
			condFalse("ContainersNotReady", "containers with unready status: [sidecar-1]"),
			condFalse("ContainersNotReady", "containers with unready status: [sidecar-1]")),
	}, {
		name: "§8 Succeeded: Initialized PodCompleted, Ready and ContainersReady False PodCompleted (053)",
		pod:  func() *corev1.Pod { return withSidecar(plainPod(corev1.RestartPolicyNever)) }, now: sat(13),
		mutate: func(_ *corev1.Pod, o *Observed) {
			addExited(o, "proxy", sat(1), sat(12), 137)
			addExited(o, "main", sat(2), sat(10), 0)
			o.Termination = &Termination{Reason: TerminationCompleted, StartedAt: sat(10)}
			o.Sandbox = nil
		},
		want: kubeletConds(condFalse("PodSandboxNotReady", "pod sandbox is not ready"),
			cond{Status: corev1.ConditionTrue, Reason: "PodCompleted"},
			condFalse("PodCompleted", ""), condFalse("PodCompleted", "")),
	}, {
		name: "§8 Failed after a regular container ran: Initialized True without reason, PodFailed (055)",
		pod:  func() *corev1.Pod { return withSidecar(plainPod(corev1.RestartPolicyNever)) }, now: sat(13),
		mutate: func(_ *corev1.Pod, o *Observed) {
			addExited(o, "proxy", sat(1), sat(12), 0)
			addExited(o, "main", sat(2), sat(10), 42)
			o.Termination = &Termination{Reason: TerminationCompleted, StartedAt: sat(10)}
		},
		want: kubeletConds(condTrue, condTrue, condFalse("PodFailed", ""), condFalse("PodFailed", "")),
	}, {
		name:   "§8 no sandbox yet: PodReadyToStartContainers False, no pod sandbox exists",
		pod:    func() *corev1.Pod { return plainPod(corev1.RestartPolicyAlways) },
		mutate: func(_ *corev1.Pod, o *Observed) { o.Sandbox = nil },
		want: kubeletConds(condFalse("PodSandboxNotReady", "no pod sandbox exists"), condTrue,
			condFalse("ContainersNotReady", "containers with unready status: [main]"),
			condFalse("ContainersNotReady", "containers with unready status: [main]")),
	}, {
		name: "§8 readiness gate without its condition: Ready False ReadinessGatesNotReady",
		pod: func() *corev1.Pod {
			p := plainPod(corev1.RestartPolicyAlways)
			p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}}
			return p
		}, now: sat(2),
		mutate: func(_ *corev1.Pod, o *Observed) { addRunning(o, "main", sat(1)) },
		want: kubeletConds(condTrue, condTrue,
			condFalse("ReadinessGatesNotReady", `corresponding condition of pod readiness gate "example.com/lb" does not exist.`),
			condTrue),
	}, {
		name: "§8 readiness gate condition False: kept first, Ready False naming its status",
		pod: func() *corev1.Pod {
			p := plainPod(corev1.RestartPolicyAlways)
			p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}}
			p.Status.Conditions = []corev1.PodCondition{{Type: "example.com/lb", Status: corev1.ConditionFalse}}
			return p
		}, now: sat(2),
		mutate: func(_ *corev1.Pod, o *Observed) { addRunning(o, "main", sat(1)) },
		want: append([]cond{{Type: "example.com/lb", Status: corev1.ConditionFalse}}, kubeletConds(condTrue, condTrue,
			condFalse("ReadinessGatesNotReady", `the status of pod readiness gate "example.com/lb" is not "True", but False`),
			condTrue)...),
	}, {
		name: "§8 readiness gate condition True: Ready True",
		pod: func() *corev1.Pod {
			p := plainPod(corev1.RestartPolicyAlways)
			p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}}
			p.Status.Conditions = []corev1.PodCondition{{Type: "example.com/lb", Status: corev1.ConditionTrue}}
			return p
		}, now: sat(2),
		mutate: func(_ *corev1.Pod, o *Observed) { addRunning(o, "main", sat(1)) },
		want:   append([]cond{{Type: "example.com/lb", Status: corev1.ConditionTrue}}, kubeletConds(condTrue, condTrue, condTrue, condTrue)...),
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod, obs := tc.pod(), baseObs()
			if tc.mutate != nil {
				tc.mutate(pod, &obs)
			}
			diffOrFail(t, "conditions", tc.want, condsOf(Status(pod, obs, tc.now)))
		})
	}
}

// TestConditionTransitionTimes covers lastTransitionTime and
// observedGeneration: kept while a condition's status is unchanged from
// the last report (even if its reason changes), now when it changes;
// PodScheduled dates from the pod's creation.
func TestConditionTransitionTimes(t *testing.T) {
	pod := plainPod(corev1.RestartPolicyNever)
	pod.Generation = 3
	obs := baseObs()

	first := Status(pod, obs, sat(0.5))
	for _, c := range first.Conditions {
		want := mt(sat(0.5))
		if c.Type == corev1.PodScheduled {
			want = pod.CreationTimestamp
		}
		diffOrFail(t, string(c.Type)+" first transition", want, c.LastTransitionTime)
		diffOrFail(t, string(c.Type)+" observedGeneration", int64(3), c.ObservedGeneration)
	}
	diffOrFail(t, "status observedGeneration", int64(3), first.ObservedGeneration)

	// main starts: Ready flips at 2; the others keep their times.
	obs.LastConditions = first.Conditions
	addRunning(&obs, "main", sat(1))
	second := Status(pod, obs, sat(2))
	diffOrFail(t, "Ready transition", mt(sat(2)), conditionOf(t, second, corev1.PodReady).LastTransitionTime)
	diffOrFail(t, "Initialized transition", mt(sat(0.5)), conditionOf(t, second, corev1.PodInitialized).LastTransitionTime)
	diffOrFail(t, "PodScheduled transition", pod.CreationTimestamp, conditionOf(t, second, corev1.PodScheduled).LastTransitionTime)

	// main exits 0: Ready False again at 9; then the pod completes and
	// the reason changes to PodCompleted without a new transition.
	obs.LastConditions = second.Conditions
	exitNow(&obs, "main", 0, sat(8))
	third := Status(pod, obs, sat(9))
	ready := conditionOf(t, third, corev1.PodReady)
	diffOrFail(t, "Ready after exit", cond{corev1.PodReady, corev1.ConditionFalse, "PodCompleted", ""}, cond{ready.Type, ready.Status, ready.Reason, ready.Message})
	diffOrFail(t, "Ready transition after exit", mt(sat(9)), ready.LastTransitionTime)

	obs.LastConditions = third.Conditions
	obs.Termination = &Termination{Reason: TerminationCompleted, StartedAt: sat(9)}
	obs.Sandbox.Ready = false
	fourth := Status(pod, obs, sat(12))
	diffOrFail(t, "Ready transition kept", mt(sat(9)), conditionOf(t, fourth, corev1.PodReady).LastTransitionTime)
	diffOrFail(t, "sandbox transition", mt(sat(12)), conditionOf(t, fourth, corev1.PodReadyToStartContainers).LastTransitionTime)
}
