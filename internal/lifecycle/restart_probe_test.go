package lifecycle_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/podrun/podrun/internal/lifecycle"
)

// probePod has a sidecar and two regular containers with liveness and
// startup probes; main has a preStop hook.
func probePod() *corev1.Pod {
	return planPod(corev1.RestartPolicyAlways,
		[]corev1.Container{planContainer("sidecar", asSidecar)},
		planContainer("main", withLivenessProbe, withStartupProbe, withPreStop),
		planContainer("other"),
	)
}

// probeRunning records the sidecar, main and other running; main started.
func probeRunning(o *lifecycle.Observed) {
	started(o, "sidecar", at(0))
	started(o, "main", at(1)).Startup = lifecycle.ProbeSuccess
	started(o, "other", at(1))
}

// probeKilled records main's current attempt as killed for reason at
// start, stopped, and exited with code at end.
func probeKilled(o *lifecycle.Observed, reason lifecycle.KillReason, start, end time.Time, code int32) {
	a := o.Containers["main"].Current()
	a.Kill = &lifecycle.Kill{Reason: reason, StartedAt: start, Grace: 30 * time.Second,
		PreStop:    lifecycle.HookProgress{State: lifecycle.HookSucceeded, StartedAt: start, DoneAt: start.Add(time.Second)},
		SignaledAt: start.Add(time.Second), KillAt: start.Add(30 * time.Second)}
	if reason == lifecycle.KillLivenessProbe {
		a.Liveness = lifecycle.ProbeFailure
	}
	exited(o, "main", code, end)
}

func TestPlanProbeDecisions(t *testing.T) {
	runPlanCases(t, probePod, []planCase{
		{
			name: "§4.2 liveness failure: kill with preStop, grace from the pod",
			mutate: func(_ *corev1.Pod, o *lifecycle.Observed) {
				probeRunning(o)
				o.Containers["main"].Current().Liveness = lifecycle.ProbeFailure
			},
			now: at(20),
			want: []lifecycle.Action{
				killA("main", lifecycle.KillLivenessProbe, 30*time.Second, "§4.2"),
				preStopA("main", "H3"),
			},
			wakeAt: at(50),
		},
		{
			name: "§4.2 §6.3 liveness probe terminationGracePeriodSeconds overrides the pod grace",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.Containers[0].LivenessProbe.TerminationGracePeriodSeconds = ptr.To[int64](5)
				probeRunning(o)
				o.Containers["main"].Current().Liveness = lifecycle.ProbeFailure
			},
			now: at(20),
			want: []lifecycle.Action{
				killA("main", lifecycle.KillLivenessProbe, 5*time.Second, "§4.2"),
				preStopA("main", "H3"),
			},
		},
		{
			name: "§4.2 startup failure of a regular container: kill",
			mutate: func(_ *corev1.Pod, o *lifecycle.Observed) {
				probeRunning(o)
				o.Containers["main"].Current().Startup = lifecycle.ProbeFailure
			},
			now: at(20),
			want: []lifecycle.Action{
				killA("main", lifecycle.KillStartupProbe, 30*time.Second, "§4.2"),
				preStopA("main", "H3"),
			},
		},
		{
			name: "§6.3 single kill: preStop done after 1 s, stop window 29 s",
			mutate: func(_ *corev1.Pod, o *lifecycle.Observed) {
				probeRunning(o)
				a := o.Containers["main"].Current()
				a.Liveness = lifecycle.ProbeFailure
				a.Kill = &lifecycle.Kill{Reason: lifecycle.KillLivenessProbe, StartedAt: at(20), Grace: 30 * time.Second,
					PreStop: lifecycle.HookProgress{State: lifecycle.HookSucceeded, StartedAt: at(20), DoneAt: at(21.2)}}
			},
			now:  at(21.2),
			want: []lifecycle.Action{signalA("main", 29*time.Second, "§6.3")},
		},
		{
			name: "R1.2 while main is being killed, a crashed sidecar is not restarted",
			mutate: func(_ *corev1.Pod, o *lifecycle.Observed) {
				probeRunning(o)
				a := o.Containers["main"].Current()
				a.Liveness = lifecycle.ProbeFailure
				a.Kill = &lifecycle.Kill{Reason: lifecycle.KillLivenessProbe, StartedAt: at(20), Grace: 30 * time.Second,
					PreStop: lifecycle.HookProgress{State: lifecycle.HookRunning, StartedAt: at(20)}}
				exited(o, "sidecar", 1, at(21))
			},
			now:    at(21),
			wakeAt: at(50),
		},
		{
			name: "R1.2 §4.2 kill over: the killed container and the crashed sidecar both start",
			mutate: func(_ *corev1.Pod, o *lifecycle.Observed) {
				probeRunning(o)
				exited(o, "sidecar", 1, at(21))
				probeKilled(o, lifecycle.KillLivenessProbe, at(20), at(22), 137)
			},
			now:  at(22),
			want: []lifecycle.Action{startA("sidecar", "RS1"), startA("main", "§4.2")},
		},
		{
			name: "R1.2 two liveness failures: killed one after the other",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				withLivenessProbe(&pod.Spec.Containers[1])
				probeRunning(o)
				o.Containers["main"].Current().Liveness = lifecycle.ProbeFailure
				o.Containers["other"].Current().Liveness = lifecycle.ProbeFailure
			},
			now: at(20),
			want: []lifecycle.Action{
				killA("main", lifecycle.KillLivenessProbe, 30*time.Second, "§4.2"),
				preStopA("main", "H3"),
			},
		},
		{
			name: "§3.1 §4.2 OnFailure: a probe kill always restarts, even when the process exited 0",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
				probeRunning(o)
				probeKilled(o, lifecycle.KillLivenessProbe, at(20), at(22), 0)
			},
			now:  at(22),
			want: []lifecycle.Action{startA("main", "§4.2")},
		},
		{
			name: "§3.1 §4.2 Never: a probe-killed container stays terminated while another runs",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.RestartPolicy = corev1.RestartPolicyNever
				probeRunning(o)
				probeKilled(o, lifecycle.KillLivenessProbe, at(20), at(22), 143)
			},
			now: at(22),
		},
		{
			name: "§3.1 T1 Never: liveness failure of the last running regular container terminates the pod",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.RestartPolicy = corev1.RestartPolicyNever
				probeRunning(o)
				exited(o, "other", 0, at(5))
				o.Containers["main"].Current().Liveness = lifecycle.ProbeFailure
			},
			now: at(20),
			want: []lifecycle.Action{
				beginA(lifecycle.TerminationCompleted, 30*time.Second, "T1"),
				killA("main", lifecycle.KillPodTermination, 30*time.Second, "T1"),
				killA("sidecar", lifecycle.KillPodTermination, 30*time.Second, "T1"),
				preStopA("main", "H6"),
			},
		},
		{
			name: "§3.2 §4.2 container policy Never in an Always pod: a probe kill does not restart",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.Containers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyNever)
				probeRunning(o)
				probeKilled(o, lifecycle.KillLivenessProbe, at(20), at(22), 137)
			},
			now: at(22),
		},
		{
			name: "§3.2 §4.2 container policy OnFailure in a Never pod: a probe kill restarts",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.RestartPolicy = corev1.RestartPolicyNever
				pod.Spec.Containers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyOnFailure)
				probeRunning(o)
				probeKilled(o, lifecycle.KillLivenessProbe, at(20), at(22), 0)
			},
			now:  at(22),
			want: []lifecycle.Action{startA("main", "§4.2")},
		},
		{
			name: "H2 postStart failed: killed through the normal path with its preStop",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				withPostStart(&pod.Spec.Containers[0])
				probeRunning(o)
				o.Containers["main"].Current().PostStart = lifecycle.HookProgress{State: lifecycle.HookFailed, StartedAt: at(1), DoneAt: at(2)}
			},
			now: at(2),
			want: []lifecycle.Action{
				killA("main", lifecycle.KillPostStartHook, 30*time.Second, "H2"),
				preStopA("main", "H3"),
			},
		},
		{
			name: "H2 R1.4 postStart-killed container: restarted per policy through the back-off gate",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				withPostStart(&pod.Spec.Containers[0])
				probeRunning(o)
				probeKilled(o, lifecycle.KillPostStartHook, at(2), at(4), 137)
				started(o, "main", at(4))
				probeKilled(o, lifecycle.KillPostStartHook, at(5), at(7), 137)
			},
			now:    at(8),
			wakeAt: at(17),
		},
		{
			name: "H2 postStart-killed container under Never: stays terminated",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.RestartPolicy = corev1.RestartPolicyNever
				withPostStart(&pod.Spec.Containers[0])
				probeRunning(o)
				probeKilled(o, lifecycle.KillPostStartHook, at(2), at(4), 137)
			},
			now: at(4),
		},
		{
			name: "§3.1 regular container in Unknown state: killed, then restarted",
			mutate: func(_ *corev1.Pod, o *lifecycle.Observed) {
				probeRunning(o)
				o.Containers["other"].Current().State = lifecycle.AttemptUnknown
			},
			now: at(5),
			want: []lifecycle.Action{
				killA("other", lifecycle.KillUnknownState, 30*time.Second, "§3.1"),
				signalA("other", 30*time.Second, "§6.3"),
			},
		},
		{
			name: "T3 deletion during a single kill: the kill keeps its own progress, the others join the termination",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				probeRunning(o)
				a := o.Containers["main"].Current()
				a.Liveness = lifecycle.ProbeFailure
				a.Kill = &lifecycle.Kill{Reason: lifecycle.KillLivenessProbe, StartedAt: at(20), Grace: 30 * time.Second,
					PreStop: lifecycle.HookProgress{State: lifecycle.HookRunning, StartedAt: at(20)}}
				markDeleted(pod, o, at(25), 10)
			},
			now: at(25),
			want: []lifecycle.Action{
				beginA(lifecycle.TerminationDeleted, 10*time.Second, "T3"),
				killA("other", lifecycle.KillPodTermination, 10*time.Second, "T3"),
				killA("sidecar", lifecycle.KillPodTermination, 10*time.Second, "T3"),
				signalA("other", 10*time.Second, "T4"),
			},
		},
	})
}
