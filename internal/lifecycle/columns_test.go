package lifecycle

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// withStatus returns pod carrying Status(pod, obs, now).
func withStatus(pod *corev1.Pod, obs Observed, now time.Time) *corev1.Pod {
	p := pod.DeepCopy()
	p.Status = Status(pod, obs, now)
	return p
}

// TestColumnsKEP753Sequence follows the KEP-753 example through Status
// and Columns (§10, §14 item 16: READY counts sidecars):
// 0/3 Init:0/3 -> 0/3 Init:1/3 -> 1/3 Init:2/3 -> 3/3 Running -> Terminating.
func TestColumnsKEP753Sequence(t *testing.T) {
	pod, obs := kepPod(), baseObs()
	step := func(name string, now time.Time, want PodColumns) {
		t.Helper()
		got := Columns(withStatus(pod, obs, now), now)
		diffOrFail(t, name, want, got)
		obs.LastConditions = Status(pod, obs, now).Conditions
	}
	addRunning(&obs, "init-config", sat(1))
	step("init-config running", sat(3), PodColumns{Ready: "0/3", Status: "Init:0/3", Restarts: "0", Age: "3s"})

	exitNow(&obs, "init-config", 0, sat(6))
	addRunning(&obs, "sidecar-1", sat(7))
	step("sidecar-1 starting", sat(9), PodColumns{Ready: "0/3", Status: "Init:1/3", Restarts: "0", Age: "9s"})

	obs.Container("sidecar-1").Current().Startup = ProbeSuccess
	addRunning(&obs, "sidecar-2", sat(13))
	step("sidecar-1 started and ready, sidecar-2 starting", sat(15), PodColumns{Ready: "1/3", Status: "Init:2/3", Restarts: "0", Age: "15s"})

	obs.Container("sidecar-2").Current().Startup = ProbeSuccess
	addRunning(&obs, "main", sat(20))
	step("all running", sat(21), PodColumns{Ready: "3/3", Status: "Running", Restarts: "0", Age: "21s"})

	pod.DeletionTimestamp = ptrTo(mt(sat(32)))
	obs.Termination = &Termination{Reason: TerminationDeleted, StartedAt: sat(22), Grace: 10 * time.Second}
	step("deleted", sat(23), PodColumns{Ready: "3/3", Status: "Terminating", Restarts: "0", Age: "23s"})
}

// columnsPod builds a pod from init and regular specs and statuses.
func columnsPod(inits []corev1.Container, regular []corev1.Container, phase corev1.PodPhase,
	initStatuses, statuses []corev1.ContainerStatus, conds ...corev1.PodCondition) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", CreationTimestamp: mt(st0)},
		Spec:       corev1.PodSpec{InitContainers: inits, Containers: regular},
		Status: corev1.PodStatus{Phase: phase, Conditions: conds,
			InitContainerStatuses: initStatuses, ContainerStatuses: statuses},
	}
}

func spec(name string) corev1.Container { return corev1.Container{Name: name} }

func sidecarSpec(name string) corev1.Container {
	return corev1.Container{Name: name, RestartPolicy: ptrTo(corev1.ContainerRestartPolicyAlways)}
}

func cs(name string, state corev1.ContainerState, opts ...func(*corev1.ContainerStatus)) corev1.ContainerStatus {
	s := corev1.ContainerStatus{Name: name, State: state, Started: ptrTo(false)}
	for _, o := range opts {
		o(&s)
	}
	return s
}

func readyStarted(s *corev1.ContainerStatus) { s.Ready, s.Started = true, ptrTo(true) }

func startedOnly(s *corev1.ContainerStatus) { s.Started = ptrTo(true) }

func restarts(n int32, lastFinished time.Time) func(*corev1.ContainerStatus) {
	return func(s *corev1.ContainerStatus) {
		s.RestartCount = n
		s.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 1, Reason: "Error", FinishedAt: mt(lastFinished)}}
	}
}

func exitState(code int32, reason string, signal int32) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, Signal: signal}}
}

func condition(t corev1.PodConditionType, s corev1.ConditionStatus) corev1.PodCondition {
	return corev1.PodCondition{Type: t, Status: s}
}

// TestColumns covers the printPod rules of §10 and the §17 corrections
// one by one on hand-written statuses.
func TestColumns(t *testing.T) {
	now := sat(60)
	initialized := condition(corev1.PodInitialized, corev1.ConditionTrue)
	notInitialized := condition(corev1.PodInitialized, corev1.ConditionFalse)
	readyTrue := condition(corev1.PodReady, corev1.ConditionTrue)
	run := runningState(sat(1))
	cases := []struct {
		name   string
		pod    *corev1.Pod
		mutate func(*corev1.Pod)
		want   PodColumns
	}{{
		name: "§10 failed regular init container: Init:Error (003)",
		pod: columnsPod([]corev1.Container{spec("init1"), spec("init2")}, []corev1.Container{spec("run1")}, corev1.PodFailed,
			[]corev1.ContainerStatus{cs("init1", exitState(0, "Completed", 0)), cs("init2", exitState(1, "Error", 0))},
			[]corev1.ContainerStatus{cs("run1", waiting("PodInitializing", ""))}, notInitialized),
		want: PodColumns{Ready: "0/1", Status: "Init:Error", Restarts: "0", Age: "60s"},
	}, {
		name: "§10 terminated init container without a reason: Init:ExitCode:3",
		pod: columnsPod([]corev1.Container{spec("init1")}, []corev1.Container{spec("run1")}, corev1.PodFailed,
			[]corev1.ContainerStatus{cs("init1", exitState(3, "", 0))},
			[]corev1.ContainerStatus{cs("run1", waiting("PodInitializing", ""))}, notInitialized),
		want: PodColumns{Ready: "0/1", Status: "Init:ExitCode:3", Restarts: "0", Age: "60s"},
	}, {
		name: "§10 terminated init container with only a signal: Init:Signal:9",
		pod: columnsPod([]corev1.Container{spec("init1")}, []corev1.Container{spec("run1")}, corev1.PodFailed,
			[]corev1.ContainerStatus{cs("init1", exitState(137, "", 9))},
			[]corev1.ContainerStatus{cs("run1", waiting("PodInitializing", ""))}, notInitialized),
		want: PodColumns{Ready: "0/1", Status: "Init:Signal:9", Restarts: "0", Age: "60s"},
	}, {
		name: "§10 init container OOMKilled: Init:OOMKilled",
		pod: columnsPod([]corev1.Container{spec("init1")}, []corev1.Container{spec("run1")}, corev1.PodFailed,
			[]corev1.ContainerStatus{cs("init1", exitState(137, "OOMKilled", 0))},
			[]corev1.ContainerStatus{cs("run1", waiting("PodInitializing", ""))}, notInitialized),
		want: PodColumns{Ready: "0/1", Status: "Init:OOMKilled", Restarts: "0", Age: "60s"},
	}, {
		name: "§10 init container in back-off: Init:CrashLoopBackOff, RESTARTS with age of the last exit",
		pod: columnsPod([]corev1.Container{spec("init1"), spec("init2")}, []corev1.Container{spec("run1")}, corev1.PodPending,
			[]corev1.ContainerStatus{cs("init1", waiting("CrashLoopBackOff", "back-off 10s"), restarts(1, sat(57))), cs("init2", waiting("PodInitializing", ""))},
			[]corev1.ContainerStatus{cs("run1", waiting("PodInitializing", ""))}, notInitialized),
		want: PodColumns{Ready: "0/1", Status: "Init:CrashLoopBackOff", Restarts: "1 (3s ago)", Age: "60s"},
	}, {
		name: "§10 sidecar image pull failure: Init:ErrImagePull, READY counts the sidecar (023)",
		pod: columnsPod([]corev1.Container{sidecarSpec("sidecar-1")}, []corev1.Container{spec("main")}, corev1.PodPending,
			[]corev1.ContainerStatus{cs("sidecar-1", waiting("ErrImagePull", "not found"))},
			[]corev1.ContainerStatus{cs("main", waiting("PodInitializing", ""))}, notInitialized),
		want: PodColumns{Ready: "0/2", Status: "Init:ErrImagePull", Restarts: "0", Age: "60s"},
	}, {
		name: "§17 Init:i/N: N counts init containers (sidecars included), not the READY total",
		pod: columnsPod([]corev1.Container{spec("init1"), sidecarSpec("sc")}, []corev1.Container{spec("a"), spec("b")}, corev1.PodPending,
			[]corev1.ContainerStatus{cs("init1", run, startedOnly), cs("sc", waiting("PodInitializing", ""))},
			[]corev1.ContainerStatus{cs("a", waiting("PodInitializing", "")), cs("b", waiting("PodInitializing", ""))}, notInitialized),
		want: PodColumns{Ready: "0/3", Status: "Init:0/2", Restarts: "0", Age: "60s"},
	}, {
		name: "§10 init done, regular container still waiting: PodInitializing (007)",
		pod: columnsPod([]corev1.Container{spec("init-1")}, []corev1.Container{spec("main")}, corev1.PodPending,
			[]corev1.ContainerStatus{cs("init-1", exitState(0, "Completed", 0), func(s *corev1.ContainerStatus) { s.Ready = true })},
			[]corev1.ContainerStatus{cs("main", waiting("PodInitializing", ""))}, initialized),
		want: PodColumns{Ready: "0/1", Status: "PodInitializing", Restarts: "0", Age: "60s"},
	}, {
		name: "§10 no init containers, nothing created yet: ContainerCreating",
		pod: columnsPod(nil, []corev1.Container{spec("main")}, corev1.PodPending, nil,
			[]corev1.ContainerStatus{cs("main", waiting("ContainerCreating", ""))}),
		want: PodColumns{Ready: "0/1", Status: "ContainerCreating", Restarts: "0", Age: "60s"},
	}, {
		name: "§10 completed pod: Completed; a sidecar killed with 137 does not show Init:Error (053)",
		pod: columnsPod([]corev1.Container{sidecarSpec("log-shipper")}, []corev1.Container{spec("main")}, corev1.PodSucceeded,
			[]corev1.ContainerStatus{cs("log-shipper", exitState(137, "Error", 0))},
			[]corev1.ContainerStatus{cs("main", exitState(0, "Completed", 0))},
			corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, Reason: "PodCompleted"}),
		want: PodColumns{Ready: "0/2", Status: "Completed", Restarts: "0", Age: "60s"},
	}, {
		name: "§17 error branch: the first regular container's Error wins over a later Completed",
		pod: columnsPod(nil, []corev1.Container{spec("a"), spec("b")}, corev1.PodFailed, nil,
			[]corev1.ContainerStatus{cs("a", exitState(1, "Error", 0)), cs("b", exitState(0, "Completed", 0))}),
		want: PodColumns{Ready: "0/2", Status: "Error", Restarts: "0", Age: "60s"},
	}, {
		name: "§10 one regular container completed, the other running and ready, pod not Ready: NotReady (008)",
		pod: columnsPod(nil, []corev1.Container{spec("a"), spec("b")}, corev1.PodRunning, nil,
			[]corev1.ContainerStatus{cs("a", run, readyStarted), cs("b", exitState(0, "Completed", 0))}),
		want: PodColumns{Ready: "1/2", Status: "NotReady", Restarts: "0", Age: "60s"},
	}, {
		name: "§10 same with the pod Ready: Running",
		pod: columnsPod(nil, []corev1.Container{spec("a"), spec("b")}, corev1.PodRunning, nil,
			[]corev1.ContainerStatus{cs("a", run, readyStarted), cs("b", exitState(0, "Completed", 0))}, readyTrue),
		want: PodColumns{Ready: "1/2", Status: "Running", Restarts: "0", Age: "60s"},
	}, {
		name: "§10 regular container in back-off: CrashLoopBackOff, RESTARTS 3 (Xs ago) (009)",
		pod: columnsPod(nil, []corev1.Container{spec("regular-1")}, corev1.PodRunning, nil,
			[]corev1.ContainerStatus{cs("regular-1", waiting("CrashLoopBackOff", ""), restarts(3, sat(7)))}),
		want: PodColumns{Ready: "0/1", Status: "CrashLoopBackOff", Restarts: "3 (53s ago)", Age: "60s"},
	}, {
		name: "§10 after initialization regular init restarts are dropped, sidecar restarts kept",
		pod: columnsPod([]corev1.Container{spec("init1"), sidecarSpec("sc")}, []corev1.Container{spec("main")}, corev1.PodRunning,
			[]corev1.ContainerStatus{
				cs("init1", exitState(0, "Completed", 0), restarts(4, sat(5))),
				cs("sc", run, readyStarted, restarts(2, sat(20)))},
			[]corev1.ContainerStatus{cs("main", run, readyStarted, restarts(1, sat(30)))}, initialized, readyTrue),
		want: PodColumns{Ready: "2/2", Status: "Running", Restarts: "3 (30s ago)", Age: "60s"},
	}, {
		name: "§10 PH2 sidecar crash-looping after initialization: Init:CrashLoopBackOff while Running (067)",
		pod: columnsPod([]corev1.Container{sidecarSpec("sidecar-1")}, []corev1.Container{spec("main")}, corev1.PodRunning,
			[]corev1.ContainerStatus{cs("sidecar-1", waiting("CrashLoopBackOff", ""), restarts(1, sat(46)))},
			[]corev1.ContainerStatus{cs("main", run, readyStarted)}, initialized),
		want: PodColumns{Ready: "1/2", Status: "Init:CrashLoopBackOff", Restarts: "1 (14s ago)", Age: "60s"},
	}, {
		name: "§10 a deleted running pod: Terminating",
		pod: columnsPod(nil, []corev1.Container{spec("main")}, corev1.PodRunning, nil,
			[]corev1.ContainerStatus{cs("main", run, readyStarted)}, readyTrue),
		mutate: func(p *corev1.Pod) { p.DeletionTimestamp = ptrTo(mt(sat(90))) },
		want:   PodColumns{Ready: "1/1", Status: "Terminating", Restarts: "0", Age: "60s"},
	}, {
		name: "§10 a deleted pod already terminal keeps its status",
		pod: columnsPod(nil, []corev1.Container{spec("main")}, corev1.PodSucceeded, nil,
			[]corev1.ContainerStatus{cs("main", exitState(0, "Completed", 0))}),
		mutate: func(p *corev1.Pod) { p.DeletionTimestamp = ptrTo(mt(sat(90))) },
		want:   PodColumns{Ready: "0/1", Status: "Completed", Restarts: "0", Age: "60s"},
	}, {
		name: "§10 PH6 node lost: Unknown",
		pod: columnsPod(nil, []corev1.Container{spec("main")}, corev1.PodRunning, nil,
			[]corev1.ContainerStatus{cs("main", run, readyStarted)}, readyTrue),
		mutate: func(p *corev1.Pod) {
			p.DeletionTimestamp = ptrTo(mt(sat(90)))
			p.Status.Reason = "NodeLost"
		},
		want: PodColumns{Ready: "1/1", Status: "Unknown", Restarts: "0", Age: "60s"},
	}, {
		name: "§10 scheduling gates: SchedulingGated",
		pod: columnsPod(nil, []corev1.Container{spec("main")}, corev1.PodPending, nil, nil,
			corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "SchedulingGated"}),
		want: PodColumns{Ready: "0/1", Status: "SchedulingGated", Restarts: "0", Age: "60s"},
	}, {
		name: "§10 T3 status.reason shows when no container overrides it: DeadlineExceeded",
		pod: columnsPod(nil, []corev1.Container{spec("main")}, corev1.PodFailed, nil,
			[]corev1.ContainerStatus{cs("main", run, readyStarted)}),
		mutate: func(p *corev1.Pod) { p.Status.Reason = "DeadlineExceeded" },
		want:   PodColumns{Ready: "1/1", Status: "DeadlineExceeded", Restarts: "0", Age: "60s"},
	}, {
		name: "§10 no creation timestamp: AGE <unknown>",
		pod: columnsPod(nil, []corev1.Container{spec("main")}, corev1.PodPending, nil,
			[]corev1.ContainerStatus{cs("main", waiting("ContainerCreating", ""))}),
		mutate: func(p *corev1.Pod) { p.CreationTimestamp = metav1.Time{} },
		want:   PodColumns{Ready: "0/1", Status: "ContainerCreating", Restarts: "0", Age: "<unknown>"},
	}, {
		name: "§10 RESTARTS ages use HumanDuration: 3m5s",
		pod: columnsPod(nil, []corev1.Container{spec("main")}, corev1.PodRunning, nil,
			[]corev1.ContainerStatus{cs("main", run, readyStarted, restarts(5, sat(60-185)))}, readyTrue),
		want: PodColumns{Ready: "1/1", Status: "Running", Restarts: "5 (3m5s ago)", Age: "60s"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.mutate != nil {
				tc.mutate(tc.pod)
			}
			diffOrFail(t, "columns", tc.want, Columns(tc.pod, now))
		})
	}
}
