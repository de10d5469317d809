package lifecycle

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// TestStatusPodFields covers the pod-level fields besides phase and
// conditions: IPs, startTime, observedGeneration, qosClass, resources.
func TestStatusPodFields(t *testing.T) {
	type podFields struct {
		HostIP    string
		HostIPs   []corev1.HostIP
		PodIP     string
		PodIPs    []corev1.PodIP
		StartTime *time.Time
		Resources *corev1.ResourceRequirements
	}
	view := func(s corev1.PodStatus) podFields {
		f := podFields{HostIP: s.HostIP, HostIPs: s.HostIPs, PodIP: s.PodIP, PodIPs: s.PodIPs, Resources: s.Resources}
		if s.StartTime != nil {
			f.StartTime = &s.StartTime.Time
		}
		return f
	}
	cases := []struct {
		name   string
		mutate func(*corev1.Pod, *Observed)
		want   podFields
	}{{
		name:   "sandbox IP is the pod IP, the node IP the host IP",
		mutate: func(_ *corev1.Pod, o *Observed) { o.Settings.NodeIP = "192.0.2.10" },
		want: podFields{HostIP: "192.0.2.10", HostIPs: []corev1.HostIP{{IP: "192.0.2.10"}}, PodIP: "10.88.0.5",
			PodIPs: []corev1.PodIP{{IP: "10.88.0.5"}}, StartTime: ptrTo(st0), Resources: &corev1.ResourceRequirements{}},
	}, {
		name: "hostNetwork: the pod IP is the node IP (golden data)",
		mutate: func(p *corev1.Pod, o *Observed) {
			p.Spec.HostNetwork = true
			o.Settings.NodeIP = "192.0.2.10"
		},
		want: podFields{HostIP: "192.0.2.10", HostIPs: []corev1.HostIP{{IP: "192.0.2.10"}}, PodIP: "192.0.2.10",
			PodIPs: []corev1.PodIP{{IP: "192.0.2.10"}}, StartTime: ptrTo(st0), Resources: &corev1.ResourceRequirements{}},
	}, {
		name:   "node IP unknown: no host IP",
		mutate: func(_ *corev1.Pod, o *Observed) {},
		want: podFields{PodIP: "10.88.0.5", PodIPs: []corev1.PodIP{{IP: "10.88.0.5"}}, StartTime: ptrTo(st0),
			Resources: &corev1.ResourceRequirements{}},
	}, {
		name: "sandbox removed: the pod IP already reported stays",
		mutate: func(p *corev1.Pod, o *Observed) {
			o.Sandbox = nil
			p.Status.PodIP = "10.88.0.5"
		},
		want: podFields{PodIP: "10.88.0.5", PodIPs: []corev1.PodIP{{IP: "10.88.0.5"}}, StartTime: ptrTo(st0),
			Resources: &corev1.ResourceRequirements{}},
	}, {
		name: "not started yet: no start time, no IP",
		mutate: func(_ *corev1.Pod, o *Observed) {
			o.Sandbox, o.StartTime = nil, time.Time{}
		},
		want: podFields{Resources: &corev1.ResourceRequirements{}},
	}, {
		name: "pod-level resources are reported",
		mutate: func(p *corev1.Pod, _ *Observed) {
			p.Spec.Resources = &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}}
		},
		want: podFields{PodIP: "10.88.0.5", PodIPs: []corev1.PodIP{{IP: "10.88.0.5"}}, StartTime: ptrTo(st0),
			Resources: &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}}},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod, obs := plainPod(corev1.RestartPolicyAlways), baseObs()
			tc.mutate(pod, &obs)
			diffOrFail(t, "pod fields", tc.want, view(Status(pod, obs, sat(1))))
		})
	}
}

// TestStatusSidecarStartupKillPrintsPodInitializing follows §17: a
// sidecar killed by its failing startup probe exits 0 and waits out its
// back-off; its exit-0 Terminated state is kept (init containers done
// with 0 are never overwritten) and printPod skips it, so STATUS is the
// main container's PodInitializing (024).
func TestStatusSidecarStartupKillPrintsPodInitializing(t *testing.T) {
	pod := withSidecar(plainPod(corev1.RestartPolicyNever))
	pod.Spec.InitContainers[0].StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"false"}}}}
	obs := baseObs()
	end := sat(0)
	for i := 0; i < 3; i++ {
		a := addExited(&obs, "proxy", end, end.Add(3*time.Second), 0)
		a.Startup = ProbeFailure
		end = a.FinishedAt
		if i < 2 {
			end = end.Add(200 * time.Millisecond)
		}
	}
	now := end.Add(5 * time.Second)
	status := Status(pod, obs, now)
	diffOrFail(t, "phase", corev1.PodPending, status.Phase)
	p := pod.DeepCopy()
	p.Status = status
	diffOrFail(t, "columns", PodColumns{Ready: "0/2", Status: "PodInitializing", Restarts: "2 (8s ago)", Age: "14s"}, Columns(p, now))
}
