package lifecycle_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/podrun/podrun/internal/lifecycle"
)

// termPod has two sidecars and one regular container, grace 30 s.
func termPod() *corev1.Pod {
	return planPod(corev1.RestartPolicyAlways,
		[]corev1.Container{planContainer("sidecar-1", asSidecar), planContainer("sidecar-2", asSidecar)},
		planContainer("main"),
	)
}

// termRunning records every container running since 0-2 s.
func termRunning(o *lifecycle.Observed) {
	started(o, "sidecar-1", at(0))
	started(o, "sidecar-2", at(1))
	started(o, "main", at(2))
}

// terminating records a deletion-triggered termination begun at 10 s with
// grace 30 and a PodTermination kill on every running container.
func terminating(pod *corev1.Pod, o *lifecycle.Observed) {
	markDeleted(pod, o, at(10), 30)
	o.Termination = &lifecycle.Termination{Reason: lifecycle.TerminationDeleted, StartedAt: at(10), Grace: 30 * time.Second}
	for _, co := range o.Containers {
		if a := co.Current(); a != nil && a.State == lifecycle.AttemptRunning {
			a.Kill = &lifecycle.Kill{Reason: lifecycle.KillPodTermination, StartedAt: at(10), Grace: 30 * time.Second}
		}
	}
}

// signalled records that name got its stop signal at t with window w.
func signalled(o *lifecycle.Observed, name string, t time.Time, w time.Duration) {
	k := o.Containers[name].Current().Kill
	k.SignaledAt, k.KillAt = t, t.Add(w)
}

func TestPlanTermination(t *testing.T) {
	runPlanCases(t, termPod, []planCase{
		{
			name: "T3 T4 deletion: one budget for all, regular container signalled at once, sidecars wait",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				termRunning(o)
				markDeleted(pod, o, at(10), 10)
			},
			now: at(10),
			want: []lifecycle.Action{
				beginA(lifecycle.TerminationDeleted, 10*time.Second, "T3"),
				killA("main", lifecycle.KillPodTermination, 10*time.Second, "T3"),
				killA("sidecar-2", lifecycle.KillPodTermination, 10*time.Second, "T3"),
				killA("sidecar-1", lifecycle.KillPodTermination, 10*time.Second, "T3"),
				signalA("main", 10*time.Second, "T4"),
			},
			wakeAt: at(20),
		},
		{
			name: "T3 deletion without a deletion grace uses terminationGracePeriodSeconds",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.InitContainers = nil
				started(o, "main", at(0))
				markDeleted(pod, o, at(10), 0)
				pod.DeletionGracePeriodSeconds = nil
				pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](7)
			},
			now: at(10),
			want: []lifecycle.Action{
				beginA(lifecycle.TerminationDeleted, 7*time.Second, "T3"),
				killA("main", lifecycle.KillPodTermination, 7*time.Second, "T3"),
				signalA("main", 7*time.Second, "T4"),
			},
		},
		{
			name: "H6 T4 every preStop, sidecars' included, starts at termination start",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				withPreStop(&pod.Spec.Containers[0])
				withPreStop(&pod.Spec.InitContainers[0])
				termRunning(o)
				markDeleted(pod, o, at(10), 30)
			},
			now: at(10),
			want: []lifecycle.Action{
				beginA(lifecycle.TerminationDeleted, 30*time.Second, "T3"),
				killA("main", lifecycle.KillPodTermination, 30*time.Second, "T3"),
				killA("sidecar-2", lifecycle.KillPodTermination, 30*time.Second, "T3"),
				killA("sidecar-1", lifecycle.KillPodTermination, 30*time.Second, "T3"),
				preStopA("main", "H6"),
				preStopA("sidecar-1", "H6"),
			},
			wakeAt: at(40),
		},
		{
			name: "T4 §6.3 preStop done after 3.5 s: signalled with grace minus 3 whole seconds",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				withPreStop(&pod.Spec.Containers[0])
				termRunning(o)
				terminating(pod, o)
				o.Containers["main"].Current().Kill.PreStop = lifecycle.HookProgress{State: lifecycle.HookSucceeded, StartedAt: at(10), DoneAt: at(13.5)}
			},
			now:  at(13.5),
			want: []lifecycle.Action{signalA("main", 27*time.Second, "T4")},
		},
		{
			name: "H4 preStop still running at the end of the grace: signalled with the 2 s window",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				withPreStop(&pod.Spec.Containers[0])
				termRunning(o)
				terminating(pod, o)
				o.Containers["main"].Current().Kill.PreStop = lifecycle.HookProgress{State: lifecycle.HookRunning, StartedAt: at(10)}
			},
			now:  at(40),
			want: []lifecycle.Action{signalA("main", 2*time.Second, "H4"), signalA("sidecar-2", 2*time.Second, "T6"), signalA("sidecar-1", 2*time.Second, "T6")},
		},
		{
			name: "H4 preStop running within the grace: wait for it until the grace ends",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				withPreStop(&pod.Spec.Containers[0])
				termRunning(o)
				terminating(pod, o)
				o.Containers["main"].Current().Kill.PreStop = lifecycle.HookProgress{State: lifecycle.HookRunning, StartedAt: at(10)}
			},
			now:    at(20),
			wakeAt: at(40),
		},
		{
			name: "H5 preStop sleep longer than a shortened deletion grace is cut at the grace",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.InitContainers = nil
				withPreStopSleep(50)(&pod.Spec.Containers[0])
				pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](60)
				started(o, "main", at(0))
				terminating(pod, o)
				o.Containers["main"].Current().Kill.PreStop = lifecycle.HookProgress{State: lifecycle.HookRunning, StartedAt: at(10)}
			},
			now:  at(40),
			want: []lifecycle.Action{signalA("main", 2*time.Second, "H4")},
		},
		{
			name: "T5 T9 main exited after 5.7 s: the last sidecar is signalled with 25 s left, the first still waits",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				termRunning(o)
				terminating(pod, o)
				signalled(o, "main", at(10), 30*time.Second)
				exited(o, "main", 0, at(15.7))
			},
			now:    at(15.7),
			want:   []lifecycle.Action{signalA("sidecar-2", 25*time.Second, "T5")},
			wakeAt: at(40),
		},
		{
			name: "T5 the first sidecar is signalled once the later one exited",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				termRunning(o)
				terminating(pod, o)
				signalled(o, "main", at(10), 30*time.Second)
				exited(o, "main", 0, at(15.7))
				signalled(o, "sidecar-2", at(15.7), 25*time.Second)
				exited(o, "sidecar-2", 0, at(17))
			},
			now:  at(17),
			want: []lifecycle.Action{signalA("sidecar-1", 23*time.Second, "T5")},
		},
		{
			name: "T6 T10 budget spent while main ignores SIGTERM: SIGKILL main, sidecars signalled with 2 s",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				termRunning(o)
				terminating(pod, o)
				signalled(o, "main", at(10), 30*time.Second)
			},
			now: at(40),
			want: []lifecycle.Action{
				forceKillA("main"),
				signalA("sidecar-2", 2*time.Second, "T6"),
				signalA("sidecar-1", 2*time.Second, "T6"),
			},
		},
		{
			name: "T10 before KillAt: wait for it",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				termRunning(o)
				terminating(pod, o)
				signalled(o, "main", at(10), 30*time.Second)
			},
			now:    at(25),
			wakeAt: at(40),
		},
		{
			name: "T5 T7 a sidecar that was not running at termination start never blocks an earlier one",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				termRunning(o)
				exited(o, "sidecar-2", 1, at(9))
				terminating(pod, o)
				signalled(o, "main", at(10), 30*time.Second)
				exited(o, "main", 0, at(11))
			},
			now:  at(11),
			want: []lifecycle.Action{signalA("sidecar-1", 29*time.Second, "T5")},
		},
		{
			name: "T7 043: a running sidecar that never started and nothing after it: signalled at once",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.RestartPolicy = corev1.RestartPolicyNever
				pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](180)
				pod.Spec.InitContainers = []corev1.Container{
					planContainer("init-1"),
					planContainer("sidecar-2", asSidecar, withStartupProbe),
					planContainer("sidecar-3", asSidecar),
				}
				ran(o, "init-1", at(0), at(1), 0)
				started(o, "sidecar-2", at(1))
				markDeleted(pod, o, at(4), 180)
			},
			now: at(4),
			want: []lifecycle.Action{
				beginA(lifecycle.TerminationDeleted, 180*time.Second, "T3"),
				killA("sidecar-2", lifecycle.KillPodTermination, 180*time.Second, "T3"),
				signalA("sidecar-2", 180*time.Second, "T5"),
			},
		},
		{
			name: "T8 042: a regular init container running at deletion is stopped at once",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.RestartPolicy = corev1.RestartPolicyNever
				pod.Spec.InitContainers = append([]corev1.Container{planContainer("start-init")}, pod.Spec.InitContainers...)
				started(o, "start-init", at(0))
				markDeleted(pod, o, at(2), 3)
			},
			now: at(2),
			want: []lifecycle.Action{
				beginA(lifecycle.TerminationDeleted, 3*time.Second, "T3"),
				killA("start-init", lifecycle.KillPodTermination, 3*time.Second, "T8"),
				signalA("start-init", 3*time.Second, "T8"),
			},
		},
		{
			name: "H3 a container that exited by itself runs no preStop at deletion",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.RestartPolicy = corev1.RestartPolicyNever
				pod.Spec.InitContainers = nil
				pod.Spec.Containers = append(pod.Spec.Containers, planContainer("other"))
				withPreStop(&pod.Spec.Containers[0])
				ran(o, "main", at(0), at(5), 0)
				started(o, "other", at(0))
				markDeleted(pod, o, at(10), 30)
			},
			now: at(10),
			want: []lifecycle.Action{
				beginA(lifecycle.TerminationDeleted, 30*time.Second, "T3"),
				killA("other", lifecycle.KillPodTermination, 30*time.Second, "T3"),
				signalA("other", 30*time.Second, "T4"),
			},
		},
		{
			name: "§6.3 deletion with grace 0: preStop skipped, everyone signalled with the 2 s window",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				withPreStop(&pod.Spec.Containers[0])
				termRunning(o)
				markDeleted(pod, o, at(10), 0)
			},
			now: at(10),
			want: []lifecycle.Action{
				beginA(lifecycle.TerminationDeleted, 0, "T3"),
				killA("main", lifecycle.KillPodTermination, 0, "T3"),
				killA("sidecar-2", lifecycle.KillPodTermination, 0, "T3"),
				killA("sidecar-1", lifecycle.KillPodTermination, 0, "T3"),
				signalA("main", 2*time.Second, "§6.3"),
				signalA("sidecar-2", 2*time.Second, "§6.3"),
				signalA("sidecar-1", 2*time.Second, "§6.3"),
			},
		},
		{
			name: "RS2 terminating: an exited sidecar is not restarted",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				termRunning(o)
				terminating(pod, o)
				exited(o, "sidecar-1", 1, at(11))
			},
			now:    at(11),
			wakeAt: at(40),
			want:   []lifecycle.Action{signalA("main", 30*time.Second, "T4")},
		},
		{
			name: "T1 §6.1 nothing runs any more: sandbox removed once, pod done",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				termRunning(o)
				terminating(pod, o)
				exited(o, "main", 0, at(11))
				exited(o, "sidecar-2", 0, at(12))
				exited(o, "sidecar-1", 0, at(13))
			},
			now:  at(13),
			want: []lifecycle.Action{removeSandboxA("T3")},
			done: true,
		},
		{
			name: "T1 done and the sandbox already removed: nothing more",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				termRunning(o)
				terminating(pod, o)
				exited(o, "main", 0, at(11))
				exited(o, "sidecar-2", 0, at(12))
				exited(o, "sidecar-1", 0, at(13))
				o.Sandbox = nil
			},
			now:  at(14),
			done: true,
		},
		{
			name: "T9 a preStop that took 29.9 s leaves 1 s, floored to the 2 s window",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				withPreStop(&pod.Spec.Containers[0])
				termRunning(o)
				terminating(pod, o)
				o.Containers["main"].Current().Kill.PreStop = lifecycle.HookProgress{State: lifecycle.HookSucceeded, StartedAt: at(10), DoneAt: at(39.9)}
			},
			now:  at(39.9),
			want: []lifecycle.Action{signalA("main", 2*time.Second, "T4")},
		},
		{
			name: "§6.3 lifecycle.stopSignal is passed to the executor",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.InitContainers = nil
				sig := corev1.Signal("SIGUSR1")
				pod.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{StopSignal: &sig}
				started(o, "main", at(0))
				markDeleted(pod, o, at(10), 30)
			},
			now: at(10),
			want: []lifecycle.Action{
				beginA(lifecycle.TerminationDeleted, 30*time.Second, "T3"),
				killA("main", lifecycle.KillPodTermination, 30*time.Second, "T3"),
				{Kind: lifecycle.SignalStop, Container: "main", Grace: 30 * time.Second, Signal: "SIGUSR1", Rule: "T4"},
			},
		},
	})
}

func TestPlanTerminationChecklist(t *testing.T) {
	runPlanCases(t, termPod, []planCase{
		{
			name: "§14.8 §4.2 a liveness failure during termination kills nothing more and restarts nothing",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				withLivenessProbe(&pod.Spec.InitContainers[1])
				termRunning(o)
				terminating(pod, o)
				signalled(o, "main", at(10), 30*time.Second)
				o.Containers["sidecar-2"].Current().Liveness = lifecycle.ProbeFailure
			},
			now:    at(12),
			wakeAt: at(40),
		},
		{
			name: "§14.14 §6.4 a sidecar failing under Never neither terminates nor fails the pod: restarted",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.RestartPolicy = corev1.RestartPolicyNever
				termRunning(o)
				exited(o, "sidecar-2", 1, at(5))
			},
			now:  at(5),
			want: []lifecycle.Action{startA("sidecar-2", "RS1")},
		},
		{
			name: "RS2 KEP-4438 gate on: a sidecar that exited before its turn is restarted while main runs",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				o.Settings.SidecarsRestartableDuringPodTermination = true
				termRunning(o)
				terminating(pod, o)
				signalled(o, "main", at(10), 30*time.Second)
				exited(o, "sidecar-2", 1, at(12))
			},
			now:    at(12),
			want:   []lifecycle.Action{startA("sidecar-2", "RS2")},
			wakeAt: at(40),
		},
		{
			name: "RS2 KEP-4438 gate on: the restarted sidecar joins the termination with the budget left",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				o.Settings.SidecarsRestartableDuringPodTermination = true
				termRunning(o)
				terminating(pod, o)
				signalled(o, "main", at(10), 30*time.Second)
				exited(o, "sidecar-2", 1, at(12))
				started(o, "sidecar-2", at(12))
			},
			now:    at(12.5),
			want:   []lifecycle.Action{killA("sidecar-2", lifecycle.KillPodTermination, 28*time.Second, "T3")},
			wakeAt: at(40),
		},
	})
}
