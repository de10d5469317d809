package lifecycle_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/podrun/podrun/internal/lifecycle"
)

func TestPlanActiveDeadline(t *testing.T) {
	withDeadline := func() *corev1.Pod {
		p := planPod(corev1.RestartPolicyNever, []corev1.Container{planContainer("sidecar", asSidecar)}, planContainer("main"))
		p.Spec.ActiveDeadlineSeconds = ptr.To[int64](60)
		return p
	}
	runPlanCases(t, withDeadline, []planCase{
		{
			name: "T3 activeDeadlineSeconds not reached: wake at the deadline",
			mutate: func(_ *corev1.Pod, o *lifecycle.Observed) {
				started(o, "sidecar", at(0))
				started(o, "main", at(1))
			},
			now:    at(59),
			wakeAt: at(60),
		},
		{
			name: "T3 activeDeadlineSeconds reached: DeadlineExceeded termination with the spec grace",
			mutate: func(_ *corev1.Pod, o *lifecycle.Observed) {
				started(o, "sidecar", at(0))
				started(o, "main", at(1))
			},
			now: at(60),
			want: []lifecycle.Action{
				beginA(lifecycle.TerminationDeadlineExceeded, 30*time.Second, "T3"),
				killA("main", lifecycle.KillPodTermination, 30*time.Second, "T3"),
				killA("sidecar", lifecycle.KillPodTermination, 30*time.Second, "T3"),
				signalA("main", 30*time.Second, "T4"),
			},
			wakeAt: at(90),
		},
		{
			name: "T3 activeDeadlineSeconds counts from Observed.StartTime",
			mutate: func(_ *corev1.Pod, o *lifecycle.Observed) {
				o.StartTime = at(30)
				started(o, "sidecar", at(30))
				started(o, "main", at(31))
			},
			now:    at(60),
			wakeAt: at(90),
		},
		{
			name: "T3 activeDeadlineSeconds during init: pending pod terminated too",
			mutate: func(pod *corev1.Pod, o *lifecycle.Observed) {
				pod.Spec.InitContainers[0].StartupProbe = &corev1.Probe{}
				started(o, "sidecar", at(0))
			},
			now: at(61),
			want: []lifecycle.Action{
				beginA(lifecycle.TerminationDeadlineExceeded, 30*time.Second, "T3"),
				killA("sidecar", lifecycle.KillPodTermination, 30*time.Second, "T3"),
				signalA("sidecar", 30*time.Second, "T5"),
			},
		},
	})
}
