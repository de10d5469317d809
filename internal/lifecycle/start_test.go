package lifecycle_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/lifecycle"
)

// seqPod is the start-sequence base pod (conformance 011 shape):
// init-1, sidecar-1, init-2, sidecar-2, then main; restartPolicy Never.
func seqPod() *corev1.Pod {
	return planPod(corev1.RestartPolicyNever,
		[]corev1.Container{
			planContainer("init-1"),
			planContainer("sidecar-1", asSidecar),
			planContainer("init-2"),
			planContainer("sidecar-2", asSidecar),
		},
		planContainer("main"),
	)
}

// initDone records init-1 completed and sidecar-1 running since 1 s.
func initDone(o *lifecycle.Observed) {
	ran(o, "init-1", at(0), at(1), 0)
	started(o, "sidecar-1", at(1))
}

// allInitDone records the whole init sequence done by 4 s.
func allInitDone(o *lifecycle.Observed) {
	initDone(o)
	ran(o, "init-2", at(2), at(3), 0)
	started(o, "sidecar-2", at(4))
}

func TestPlanStartSequence(t *testing.T) {
	runPlanCases(t, seqPod, []planCase{
		{
			name: "§1 S1 no sandbox: create it, then start the first init container in the same sync",
			mutate: func(_ *corev1.Pod, o *lifecycle.Observed) {
				o.Sandbox = nil
			},
			want: []lifecycle.Action{
				{Kind: lifecycle.CreateSandbox, Rule: "§1"},
				startA("init-1", "S1"),
			},
		},
		{
			name: "S1 nothing ran yet: start the first init container only",
			want: []lifecycle.Action{startA("init-1", "S1")},
		},
		{
			name: "S1 regular init container running: wait for it",
			mutate: func(_ *corev1.Pod, o *lifecycle.Observed) {
				started(o, "init-1", at(0))
			},
			now: at(5),
		},
		{
			name: "S1 init container exited 0: start the next one",
			mutate: func(_ *corev1.Pod, o *lifecycle.Observed) {
				ran(o, "init-1", at(0), at(1), 0)
			},
			now:  at(1),
			want: []lifecycle.Action{startA("sidecar-1", "S1")},
		},
		{
			name: "S2 sidecar running without startup probe: start the next init container",
			mutate: func(_ *corev1.Pod, o *lifecycle.Observed) {
				initDone(o)
			},
			now:  at(1),
			want: []lifecycle.Action{startA("init-2", "S2")},
		},
		{
			name: "S4 sidecar keeps running alongside the next init container: nothing to do",
			mutate: func(_ *corev1.Pod, o *lifecycle.Observed) {
				initDone(o)
				started(o, "init-2", at(2))
			},
			now: at(2),
		},
		{
			name: "S2 S7 sidecar startup probe without result: the sequence waits",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				withStartupProbe(&pod.Spec.InitContainers[1])
				initDone(o)
			},
			now: at(100),
		},
		{
			name: "S7 sidecar startup probe Unknown: blocked",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				withStartupProbe(&pod.Spec.InitContainers[1])
				initDone(o)
				o.Containers["sidecar-1"].Current().Startup = lifecycle.ProbeUnknown
			},
			now: at(100),
		},
		{
			name: "S2 sidecar startup probe succeeded: start the next",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				withStartupProbe(&pod.Spec.InitContainers[1])
				initDone(o)
				o.Containers["sidecar-1"].Current().Startup = lifecycle.ProbeSuccess
			},
			now:  at(3),
			want: []lifecycle.Action{startA("init-2", "S2")},
		},
		{
			name: "S5 sidecar startup probe failed: kill it with its preStop, start nothing else",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				withStartupProbe(&pod.Spec.InitContainers[1])
				withPreStop(&pod.Spec.InitContainers[1])
				initDone(o)
				o.Containers["sidecar-1"].Current().Startup = lifecycle.ProbeFailure
			},
			now: at(6),
			want: []lifecycle.Action{
				killA("sidecar-1", lifecycle.KillStartupProbe, 30*time.Second, "S5"),
				preStopA("sidecar-1", "H3"),
			},
			wakeAt: at(36),
		},
		{
			name: "S5 startup-killed sidecar exited: restarted at once, main still blocked",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				withStartupProbe(&pod.Spec.InitContainers[1])
				initDone(o)
				a := exited(o, "sidecar-1", 143, at(7))
				a.Startup = lifecycle.ProbeFailure
				a.Kill = &lifecycle.Kill{Reason: lifecycle.KillStartupProbe, StartedAt: at(6), Grace: 30 * time.Second,
					SignaledAt: at(6), KillAt: at(36)}
			},
			now:  at(7),
			want: []lifecycle.Action{startA("sidecar-1", "S6")},
		},
		{
			name: "S3 init sequence done: regular containers start in spec order in one sync",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.Containers = append(pod.Spec.Containers, planContainer("main-2"))
				allInitDone(o)
			},
			now:  at(4),
			want: []lifecycle.Action{startA("main", "S3"), startA("main-2", "S3")},
		},
		{
			name: "S6 sidecar exited during init under Never: restarted, later init unaffected",
			mutate: func(_ *corev1.Pod, o *lifecycle.Observed) {
				initDone(o)
				started(o, "init-2", at(2))
				exited(o, "sidecar-1", 0, at(3))
			},
			now:  at(3),
			want: []lifecycle.Action{startA("sidecar-1", "S6")},
		},
		{
			name: "S8 T2 init container failed under Never: pod killed, running sidecar stopped",
			mutate: func(_ *corev1.Pod, o *lifecycle.Observed) {
				initDone(o)
				ran(o, "init-2", at(2), at(3), 1)
			},
			now: at(3),
			want: []lifecycle.Action{
				beginA(lifecycle.TerminationInitFailed, 30*time.Second, "T2"),
				killA("sidecar-1", lifecycle.KillPodTermination, 30*time.Second, "T2"),
				signalA("sidecar-1", 30*time.Second, "T5"),
			},
		},
		{
			name: "S8 init container failed under OnFailure: retried at once, sidecar kept",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
				initDone(o)
				ran(o, "init-2", at(2), at(3), 1)
			},
			now:  at(3),
			want: []lifecycle.Action{startA("init-2", "S8")},
		},
		{
			name: "S8 R1.4 retried init container inside its back-off: nothing, wake at expiry",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.RestartPolicy = corev1.RestartPolicyAlways
				initDone(o)
				ran(o, "init-2", at(2), at(3), 1)
				ran(o, "init-2", at(3), at(4), 1)
			},
			now:    at(5),
			wakeAt: at(14),
		},
		{
			name: "S8 R1.4 retried init container after its back-off: started again",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.RestartPolicy = corev1.RestartPolicyAlways
				initDone(o)
				ran(o, "init-2", at(2), at(3), 1)
				ran(o, "init-2", at(3), at(4), 1)
			},
			now:  at(14),
			want: []lifecycle.Action{startA("init-2", "S8")},
		},
		{
			name: "S9 init container failed under Never: sidecars stopped in reverse order, later one first",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.InitContainers = []corev1.Container{
					planContainer("sidecar-1", asSidecar),
					planContainer("sidecar-2", asSidecar),
					planContainer("init-3"),
				}
				started(o, "sidecar-1", at(0))
				started(o, "sidecar-2", at(1))
				ran(o, "init-3", at(2), at(3), 1)
			},
			now: at(3),
			want: []lifecycle.Action{
				beginA(lifecycle.TerminationInitFailed, 30*time.Second, "T2"),
				killA("sidecar-2", lifecycle.KillPodTermination, 30*time.Second, "T2"),
				killA("sidecar-1", lifecycle.KillPodTermination, 30*time.Second, "T2"),
				signalA("sidecar-2", 30*time.Second, "T5"),
			},
			wakeAt: at(33),
		},
		{
			name: "S10 sidecar image pull failed under Never: retried after the pull back-off, pod not failed",
			mutate: func(_ *corev1.Pod, o *lifecycle.Observed) {
				ran(o, "init-1", at(0), at(1), 0)
				o.Containers["sidecar-1"] = &lifecycle.ContainerObservation{
					StartFailure:     &lifecycle.StartFailure{Reason: "ErrImagePull", At: at(1)},
					ImagePullBackoff: &lifecycle.BackoffEntry{Delay: 20 * time.Second, LastUpdate: at(1)},
				}
			},
			now:    at(12),
			wakeAt: at(21),
		},
		{
			name: "S10 sidecar image pull back-off over: pull again",
			mutate: func(_ *corev1.Pod, o *lifecycle.Observed) {
				ran(o, "init-1", at(0), at(1), 0)
				o.Containers["sidecar-1"] = &lifecycle.ContainerObservation{
					StartFailure:     &lifecycle.StartFailure{Reason: "ImagePullBackOff", At: at(1)},
					ImagePullBackoff: &lifecycle.BackoffEntry{Delay: 20 * time.Second, LastUpdate: at(1)},
				}
			},
			now:  at(21),
			want: []lifecycle.Action{startA("sidecar-1", "S1")},
		},
		{
			name: "§9 CreateContainerConfigError: retried after the pod worker's retry period",
			mutate: func(_ *corev1.Pod, o *lifecycle.Observed) {
				ran(o, "init-1", at(0), at(1), 0)
				o.Containers["sidecar-1"] = &lifecycle.ContainerObservation{
					StartFailure: &lifecycle.StartFailure{Reason: "CreateContainerConfigError", At: at(1)},
				}
			},
			now:    at(5),
			wakeAt: at(11),
		},
		{
			name: "S11 completed init containers are never re-run once a regular container runs",
			mutate: func(_ *corev1.Pod, o *lifecycle.Observed) {
				allInitDone(o)
				started(o, "main", at(5))
				delete(o.Containers, "init-1")
				delete(o.Containers, "init-2")
			},
			now: at(50),
		},
		{
			name: "S11 RS1 a vanished sidecar record is started again, completed inits are not",
			mutate: func(_ *corev1.Pod, o *lifecycle.Observed) {
				allInitDone(o)
				started(o, "main", at(5))
				delete(o.Containers, "init-1")
				delete(o.Containers, "sidecar-1")
			},
			now:  at(50),
			want: []lifecycle.Action{startA("sidecar-1", "RS1")},
		},
		{
			name: "S12 a completed init container whose image changed is not re-run",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				allInitDone(o)
				started(o, "main", at(5))
				pod.Spec.InitContainers[0].Image = "busybox:1.37"
			},
			now: at(50),
		},
		{
			name: "R1.1 H1 postStart of a sidecar still running: nothing else starts",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				withPostStart(&pod.Spec.InitContainers[1])
				initDone(o)
				o.Containers["sidecar-1"].Current().PostStart = lifecycle.HookProgress{State: lifecycle.HookRunning, StartedAt: at(1)}
			},
			now: at(3),
		},
		{
			name: "H7 postStart has no timeout of its own: still blocking an hour later",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				withPostStart(&pod.Spec.InitContainers[1])
				initDone(o)
				o.Containers["sidecar-1"].Current().PostStart = lifecycle.HookProgress{State: lifecycle.HookRunning, StartedAt: at(1)}
			},
			now: at(3601),
		},
		{
			name: "S2 H1 postStart returned: the sidecar is done, the next starts",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				withPostStart(&pod.Spec.InitContainers[1])
				initDone(o)
				o.Containers["sidecar-1"].Current().PostStart = lifecycle.HookProgress{State: lifecycle.HookSucceeded, StartedAt: at(1), DoneAt: at(2)}
			},
			now:  at(2),
			want: []lifecycle.Action{startA("init-2", "S2")},
		},
		{
			name: "R1.3 init container stuck in Created: started again",
			mutate: func(_ *corev1.Pod, o *lifecycle.Observed) {
				started(o, "init-1", at(0)).State = lifecycle.AttemptCreated
			},
			now:  at(1),
			want: []lifecycle.Action{startA("init-1", "R1.3")},
		},
		{
			name: "P2 sidecar liveness not yet known does not gate the next start",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				withLivenessProbe(&pod.Spec.InitContainers[1])
				initDone(o)
				o.Containers["sidecar-1"].Current().Liveness = lifecycle.ProbeNone
			},
			now:  at(1),
			want: []lifecycle.Action{startA("init-2", "S2")},
		},
		{
			name: "P3 sidecar liveness failure: kill with preStop first, nothing started meanwhile (R1.2)",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				withLivenessProbe(&pod.Spec.InitContainers[1])
				withPreStop(&pod.Spec.InitContainers[1])
				initDone(o)
				o.Containers["sidecar-1"].Current().Liveness = lifecycle.ProbeFailure
			},
			now: at(2),
			want: []lifecycle.Action{
				killA("sidecar-1", lifecycle.KillLivenessProbe, 30*time.Second, "P3"),
				preStopA("sidecar-1", "H3"),
			},
		},
		{
			name: "P3 liveness-killed sidecar exited: restarted and the next container still started",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				withLivenessProbe(&pod.Spec.InitContainers[1])
				initDone(o)
				a := exited(o, "sidecar-1", 143, at(3))
				a.Kill = &lifecycle.Kill{Reason: lifecycle.KillLivenessProbe, StartedAt: at(2), Grace: 30 * time.Second, SignaledAt: at(2), KillAt: at(32)}
			},
			now:  at(3),
			want: []lifecycle.Action{startA("sidecar-1", "S6"), startA("init-2", "P3")},
		},
		{
			name: "S1 a regular init container that cannot start yet aborts the later starts",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.RestartPolicy = corev1.RestartPolicyAlways
				initDone(o)
				ran(o, "init-2", at(2), at(3), 1)
				ran(o, "init-2", at(3), at(4), 1)
				exited(o, "sidecar-1", 1, at(4))
			},
			now:    at(5),
			want:   []lifecycle.Action{startA("sidecar-1", "S6")},
			wakeAt: at(14),
		},
	})
}
