package lifecycle

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// sidecarFirstPod has a sidecar before a regular init container:
// sidecar-1, init-2, then main (for S8/PH5).
func sidecarFirstPod(policy corev1.RestartPolicy) *corev1.Pod {
	p := kepPod()
	p.Spec.RestartPolicy = policy
	p.Spec.InitContainers = []corev1.Container{p.Spec.InitContainers[1], {Name: "init-2", Image: "busybox"}}
	return p
}

// twoRegularPod has two regular containers and no init containers.
func twoRegularPod(policy corev1.RestartPolicy) *corev1.Pod {
	p := plainPod(policy)
	p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "helper", Image: "busybox"})
	return p
}

// withSidecar adds a sidecar "proxy" (no probes) before main.
func withSidecar(p *corev1.Pod) *corev1.Pod {
	p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "proxy", Image: "busybox",
		RestartPolicy: ptrTo(corev1.ContainerRestartPolicyAlways)})
	return p
}

// kepStarted starts the KEP pod fully: init done, sidecars started, main
// running since 20 s.
func kepStarted(o *Observed) {
	addExited(o, "init-config", sat(1), sat(6), 0)
	addRunning(o, "sidecar-1", sat(7)).Startup = ProbeSuccess
	addRunning(o, "sidecar-2", sat(13)).Startup = ProbeSuccess
	addRunning(o, "main", sat(20))
}

// exitNow marks the current instance of name exited with code at t.
func exitNow(o *Observed, name string, code int32, t time.Time) {
	a := o.Container(name).Current()
	a.State, a.ExitCode, a.FinishedAt = AttemptExited, code, t
}

// restartRule42 gives c restartPolicy Never and a Restart rule on exit 42.
func restartRule42(c *corev1.Container) {
	c.RestartPolicy = ptrTo(corev1.ContainerRestartPolicyNever)
	c.RestartPolicyRules = []corev1.ContainerRestartRule{{Action: corev1.ContainerRestartRuleActionRestart,
		ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: corev1.ContainerRestartRuleOnExitCodesOpIn, Values: []int32{42}}}}
}

// TestPhase covers §7 (getPhase and its post-processing), PH1–PH6, and
// the §14 checklist items 14 (sidecar exit codes never decide the phase)
// and 15 (Running while sidecars shut down).
func TestPhase(t *testing.T) {
	never := func() *corev1.Pod { return withSidecar(plainPod(corev1.RestartPolicyNever)) }
	cases := []struct {
		name       string
		pod        func() *corev1.Pod
		mutate     func(*corev1.Pod, *Observed)
		now        time.Time
		want       corev1.PodPhase
		wantReason string
		wantMsg    string
	}{{
		name: "§7 nothing started yet: Pending",
		pod:  kepPod, want: corev1.PodPending,
	}, {
		name: "§7 S1 regular init container running: Pending",
		pod:  kepPod, now: sat(2), want: corev1.PodPending,
		mutate: func(_ *corev1.Pod, o *Observed) { addRunning(o, "init-config", sat(1)) },
	}, {
		name: "§7 S2 sidecar running but not started before initialization: Pending",
		pod:  kepPod, now: sat(9), want: corev1.PodPending,
		mutate: func(_ *corev1.Pod, o *Observed) {
			addExited(o, "init-config", sat(1), sat(6), 0)
			addRunning(o, "sidecar-1", sat(7))
		},
	}, {
		name: "PH3 sidecar that cannot pull its image keeps the pod Pending even under Never",
		pod:  func() *corev1.Pod { p := kepPod(); p.Spec.RestartPolicy = corev1.RestartPolicyNever; return p }, now: sat(30), want: corev1.PodPending,
		mutate: func(_ *corev1.Pod, o *Observed) {
			addExited(o, "init-config", sat(1), sat(6), 0)
			obsOf(o, "sidecar-1").StartFailure = &StartFailure{Reason: "ImagePullBackOff", Message: "Back-off pulling image", At: sat(20)}
		},
	}, {
		name: "§7 everything started: Running",
		pod:  kepPod, now: sat(21), want: corev1.PodRunning,
		mutate: func(_ *corev1.Pod, o *Observed) { kepStarted(o) },
	}, {
		name: "PH2 sidecar crash-looping after initialization keeps the pod Running",
		pod:  kepPod, now: sat(45), want: corev1.PodRunning,
		mutate: func(_ *corev1.Pod, o *Observed) {
			kepStarted(o)
			exitNow(o, "sidecar-1", 1, sat(30))
			addExited(o, "sidecar-1", sat(30), sat(31), 1)
			addExited(o, "sidecar-1", sat(41), sat(42), 1) // held by the 20 s back-off: Waiting CrashLoopBackOff
		},
	}, {
		name: "PH2 restarted sidecar whose startup probe is pending does not make an initialized pod Pending",
		pod:  kepPod, now: sat(32), want: corev1.PodRunning,
		mutate: func(_ *corev1.Pod, o *Observed) {
			kepStarted(o)
			exitNow(o, "sidecar-1", 1, sat(30))
			addRunning(o, "sidecar-1", sat(30))
		},
	}, {
		name: "PH4 a regular container in CrashLoopBackOff is stopped; the other runs: Running",
		pod:  func() *corev1.Pod { return twoRegularPod(corev1.RestartPolicyAlways) }, now: sat(15), want: corev1.PodRunning,
		mutate: func(_ *corev1.Pod, o *Observed) {
			addCrashLoop(o, "main", sat(0), 3)
			addRunning(o, "helper", sat(0))
		},
	}, {
		name: "§7 Always: the only regular container in back-off counts as stopped and restartable: Running",
		pod:  func() *corev1.Pod { return plainPod(corev1.RestartPolicyAlways) }, now: sat(15), want: corev1.PodRunning,
		mutate: func(_ *corev1.Pod, o *Observed) { addCrashLoop(o, "main", sat(0), 3) },
	}, {
		name: "PH1 §14.15 main done, sidecar still stopping: Running",
		pod:  never, now: sat(11), want: corev1.PodRunning,
		mutate: func(_ *corev1.Pod, o *Observed) {
			addRunning(o, "proxy", sat(1))
			addExited(o, "main", sat(2), sat(10), 0)
			o.Termination = &Termination{Reason: TerminationCompleted, StartedAt: sat(10), Grace: 30 * time.Second}
		},
	}, {
		name: "PH1 §6.4 §14.14 sidecar stopped with 137 after main succeeded: Succeeded",
		pod:  never, now: sat(13), want: corev1.PodSucceeded,
		mutate: func(_ *corev1.Pod, o *Observed) {
			addExited(o, "proxy", sat(1), sat(12), 137)
			addExited(o, "main", sat(2), sat(10), 0)
			o.Termination = &Termination{Reason: TerminationCompleted, StartedAt: sat(10), Grace: 30 * time.Second}
		},
	}, {
		name: "§6.4 §14.14 deletion: sidecar exit 1, main exit 0: Succeeded (037)",
		pod: func() *corev1.Pod {
			p := withSidecar(plainPod(corev1.RestartPolicyAlways))
			p.DeletionTimestamp = ptrTo(mt(sat(40)))
			return p
		}, now: sat(13), want: corev1.PodSucceeded,
		mutate: func(_ *corev1.Pod, o *Observed) {
			addExited(o, "proxy", sat(1), sat(12), 1)
			addExited(o, "main", sat(2), sat(11), 0)
			o.Termination = &Termination{Reason: TerminationDeleted, StartedAt: sat(10), Grace: 30 * time.Second}
		},
	}, {
		name: "6.3 deletion: main SIGKILLed at the grace end (137): Failed (038)",
		pod: func() *corev1.Pod {
			p := withSidecar(plainPod(corev1.RestartPolicyAlways))
			p.DeletionTimestamp = ptrTo(mt(sat(15)))
			return p
		}, now: sat(18), want: corev1.PodFailed,
		mutate: func(_ *corev1.Pod, o *Observed) {
			addExited(o, "proxy", sat(1), sat(17), 0)
			addExited(o, "main", sat(2), sat(15), 137)
			o.Termination = &Termination{Reason: TerminationDeleted, StartedAt: sat(10), Grace: 5 * time.Second}
		},
	}, {
		name: "§7 deleted before any regular container ran: terminal pod is Failed (T7, 042)",
		pod: func() *corev1.Pod {
			p := kepPod()
			p.Spec.RestartPolicy = corev1.RestartPolicyNever
			p.DeletionTimestamp = ptrTo(mt(sat(8)))
			return p
		}, now: sat(9), want: corev1.PodFailed,
		mutate: func(_ *corev1.Pod, o *Observed) {
			addExited(o, "init-config", sat(1), sat(8), 137)
			o.Termination = &Termination{Reason: TerminationDeleted, StartedAt: sat(5), Grace: 3 * time.Second}
		},
	}, {
		name: "§7 deleted while only a sidecar had started: terminal pod is Failed",
		pod: func() *corev1.Pod {
			p := kepPod()
			p.DeletionTimestamp = ptrTo(mt(sat(20)))
			return p
		}, now: sat(12), want: corev1.PodFailed,
		mutate: func(_ *corev1.Pod, o *Observed) {
			addExited(o, "init-config", sat(1), sat(6), 0)
			addExited(o, "sidecar-1", sat(7), sat(11), 0)
			o.Termination = &Termination{Reason: TerminationDeleted, StartedAt: sat(10), Grace: 10 * time.Second}
		},
	}, {
		name: "S8 PH5 init failure under Never: Failed while the sidecar before it is still being stopped",
		pod:  func() *corev1.Pod { return sidecarFirstPod(corev1.RestartPolicyNever) }, now: sat(6), want: corev1.PodFailed,
		mutate: func(_ *corev1.Pod, o *Observed) {
			addRunning(o, "sidecar-1", sat(1)).Startup = ProbeSuccess
			addExited(o, "init-2", sat(2), sat(5), 1)
			o.Termination = &Termination{Reason: TerminationInitFailed, StartedAt: sat(5), Grace: 30 * time.Second}
		},
	}, {
		name: "S8 init failure under Always: retried, Pending",
		pod:  func() *corev1.Pod { return sidecarFirstPod(corev1.RestartPolicyAlways) }, now: sat(6), want: corev1.PodPending,
		mutate: func(_ *corev1.Pod, o *Observed) {
			addRunning(o, "sidecar-1", sat(1)).Startup = ProbeSuccess
			addExited(o, "init-2", sat(2), sat(5), 1)
		},
	}, {
		name: "S8 init failure under OnFailure, gate off: retried, Pending",
		pod:  func() *corev1.Pod { return sidecarFirstPod(corev1.RestartPolicyOnFailure) }, now: sat(6), want: corev1.PodPending,
		mutate: func(_ *corev1.Pod, o *Observed) {
			o.Settings.ContainerRestartRules = false
			addRunning(o, "sidecar-1", sat(1)).Startup = ProbeSuccess
			addExited(o, "init-2", sat(2), sat(5), 1)
		},
	}, {
		name: "S8 init failure under Never, gate off: Failed",
		pod:  func() *corev1.Pod { return sidecarFirstPod(corev1.RestartPolicyNever) }, now: sat(6), want: corev1.PodFailed,
		mutate: func(_ *corev1.Pod, o *Observed) {
			o.Settings.ContainerRestartRules = false
			addExited(o, "init-2", sat(2), sat(5), 1)
		},
	}, {
		name: "§3.2 init container with a Restart rule on 42 in a Never pod: exit 42 is retried, Pending",
		pod: func() *corev1.Pod {
			p := sidecarFirstPod(corev1.RestartPolicyNever)
			restartRule42(&p.Spec.InitContainers[1])
			return p
		}, now: sat(6), want: corev1.PodPending,
		mutate: func(_ *corev1.Pod, o *Observed) { addExited(o, "init-2", sat(2), sat(5), 42) },
	}, {
		name: "§3.2 same init container, exit 1 matches no rule: Failed",
		pod: func() *corev1.Pod {
			p := sidecarFirstPod(corev1.RestartPolicyNever)
			restartRule42(&p.Spec.InitContainers[1])
			return p
		}, now: sat(6), want: corev1.PodFailed,
		mutate: func(_ *corev1.Pod, o *Observed) { addExited(o, "init-2", sat(2), sat(5), 1) },
	}, {
		name: "§3.2 §7 regular container restartable by rule stays Running between attempts (064)",
		pod: func() *corev1.Pod {
			p := plainPod(corev1.RestartPolicyNever)
			restartRule42(&p.Spec.Containers[0])
			return p
		}, now: sat(6), want: corev1.PodRunning,
		mutate: func(_ *corev1.Pod, o *Observed) { addExited(o, "main", sat(2), sat(5), 42) },
	}, {
		name: "§7 gate off: the same exit 42 under Never is Failed",
		pod: func() *corev1.Pod {
			p := plainPod(corev1.RestartPolicyNever)
			restartRule42(&p.Spec.Containers[0])
			return p
		}, now: sat(6), want: corev1.PodFailed,
		mutate: func(_ *corev1.Pod, o *Observed) {
			o.Settings.ContainerRestartRules = false
			addExited(o, "main", sat(2), sat(5), 42)
		},
	}, {
		name: "§7 OnFailure exit 0: Succeeded",
		pod:  func() *corev1.Pod { return plainPod(corev1.RestartPolicyOnFailure) }, now: sat(6), want: corev1.PodSucceeded,
		mutate: func(_ *corev1.Pod, o *Observed) { addExited(o, "main", sat(2), sat(5), 0) },
	}, {
		name: "§7 OnFailure exit 1: restarted, Running (010)",
		pod:  func() *corev1.Pod { return plainPod(corev1.RestartPolicyOnFailure) }, now: sat(6), want: corev1.PodRunning,
		mutate: func(_ *corev1.Pod, o *Observed) { addExited(o, "main", sat(2), sat(5), 1) },
	}, {
		name: "§7 Always exit 0: restarted, Running (017)",
		pod:  func() *corev1.Pod { return plainPod(corev1.RestartPolicyAlways) }, now: sat(6), want: corev1.PodRunning,
		mutate: func(_ *corev1.Pod, o *Observed) { addExited(o, "main", sat(2), sat(5), 0) },
	}, {
		name: "§7 Never exit 1: Failed",
		pod:  func() *corev1.Pod { return plainPod(corev1.RestartPolicyNever) }, now: sat(6), want: corev1.PodFailed,
		mutate: func(_ *corev1.Pod, o *Observed) { addExited(o, "main", sat(2), sat(5), 1) },
	}, {
		name: "§7 a terminal phase once reported is sticky",
		pod:  func() *corev1.Pod { return plainPod(corev1.RestartPolicyAlways) }, now: sat(6), want: corev1.PodSucceeded,
		mutate: func(_ *corev1.Pod, o *Observed) {
			o.LastPhase = corev1.PodSucceeded
			addRunning(o, "main", sat(5))
		},
	}, {
		name: "§7 a terminal phase already on the pod object is sticky",
		pod: func() *corev1.Pod {
			p := plainPod(corev1.RestartPolicyAlways)
			p.Status.Phase = corev1.PodFailed
			return p
		}, now: sat(6), want: corev1.PodFailed,
		mutate: func(_ *corev1.Pod, o *Observed) { addRunning(o, "main", sat(5)) },
	}, {
		name: "T3 activeDeadlineSeconds: Failed with DeadlineExceeded at once, containers still stopping",
		pod:  kepPod, now: sat(61), want: corev1.PodFailed,
		wantReason: "DeadlineExceeded", wantMsg: "Pod was active on the node longer than the specified deadline",
		mutate: func(_ *corev1.Pod, o *Observed) {
			kepStarted(o)
			o.Termination = &Termination{Reason: TerminationDeadlineExceeded, StartedAt: sat(60), Grace: 30 * time.Second}
		},
	}, {
		name: "§7 a recorded pod reason is kept",
		pod:  func() *corev1.Pod { return plainPod(corev1.RestartPolicyAlways) }, now: sat(6), want: corev1.PodRunning,
		wantReason: "Evicted", wantMsg: "The node was low on resource: memory.",
		mutate: func(_ *corev1.Pod, o *Observed) {
			o.Reason, o.Message = "Evicted", "The node was low on resource: memory."
			addRunning(o, "main", sat(5))
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod, obs := tc.pod(), baseObs()
			if tc.mutate != nil {
				tc.mutate(pod, &obs)
			}
			s := Status(pod, obs, tc.now)
			type phaseView struct {
				Phase           corev1.PodPhase
				Reason, Message string
			}
			diffOrFail(t, "phase", phaseView{tc.want, tc.wantReason, tc.wantMsg}, phaseView{s.Phase, s.Reason, s.Message})
			if s.Phase == corev1.PodUnknown {
				t.Errorf("PH6: the kubelet never reports phase Unknown")
			}
		})
	}
}
