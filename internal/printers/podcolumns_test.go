package printers

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func running(name string, ready bool) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, Ready: ready, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
}

func terminated(name string, code int32, reason string, signal int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, Signal: signal}}}
}

func waiting(name, reason string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}
}

// basePod has one init container, one sidecar and two regular containers.
func basePod() *corev1.Pod {
	always := corev1.ContainerRestartPolicyAlways
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", CreationTimestamp: metav1.NewTime(t0.Add(-time.Minute))},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init"}, {Name: "side", RestartPolicy: &always}},
			Containers:     []corev1.Container{{Name: "a"}, {Name: "b"}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodPending},
	}
}

func TestPodColumns(t *testing.T) {
	started := true
	for _, tc := range []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   [3]string
	}{
		{"no statuses yet: phase", func(p *corev1.Pod) {}, [3]string{"0/3", "Pending", "0"}},
		{"scheduling gated", func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Reason: corev1.PodReasonSchedulingGated}}
		}, [3]string{"0/3", "SchedulingGated", "0"}},
		{"init killed by a signal without reason", func(p *corev1.Pod) {
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{terminated("init", 137, "", 9)}
		}, [3]string{"0/3", "Init:Signal:9", "0"}},
		{"init exit code without reason", func(p *corev1.Pod) {
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{terminated("init", 3, "", 0)}
		}, [3]string{"0/3", "Init:ExitCode:3", "0"}},
		{"waiting PodInitializing is not a reason", func(p *corev1.Pod) {
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{waiting("init", "PodInitializing")}
		}, [3]string{"0/3", "Init:0/2", "0"}},
		{"regular init restarts dropped once initialized", func(p *corev1.Pod) {
			ok := terminated("init", 0, "Completed", 0)
			ok.RestartCount = 4
			side := running("side", true)
			side.Started = &started
			side.RestartCount = 1
			side.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{FinishedAt: metav1.NewTime(t0.Add(-30 * time.Second))}
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{ok, side}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{running("a", true), running("b", true)}
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}}
			p.Status.Phase = corev1.PodRunning
		}, [3]string{"3/3", "Running", "1 (30s ago)"}},
		{"newest previous finish wins", func(p *corev1.Pod) {
			a := waiting("a", "CrashLoopBackOff")
			a.RestartCount = 2
			a.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{FinishedAt: metav1.NewTime(t0.Add(-90 * time.Second))}
			b := running("b", true)
			b.RestartCount = 1
			b.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{FinishedAt: metav1.NewTime(t0.Add(-5 * time.Second))}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{a, b}
			p.Spec.InitContainers = nil
			p.Status.Phase = corev1.PodRunning
		}, [3]string{"1/2", "CrashLoopBackOff", "3 (5s ago)"}},
		{"first container's reason wins", func(p *corev1.Pod) {
			p.Spec.InitContainers = nil
			p.Status.ContainerStatuses = []corev1.ContainerStatus{waiting("a", "ContainerCreating"), waiting("b", "ErrImagePull")}
		}, [3]string{"0/2", "ContainerCreating", "0"}},
		{"completed and running, not ready", func(p *corev1.Pod) {
			p.Spec.InitContainers = nil
			p.Status.ContainerStatuses = []corev1.ContainerStatus{running("a", true), terminated("b", 0, "Completed", 0)}
			p.Status.Phase = corev1.PodRunning
		}, [3]string{"1/2", "NotReady", "0"}},
		{"completed and running, ready", func(p *corev1.Pod) {
			p.Spec.InitContainers = nil
			p.Status.ContainerStatuses = []corev1.ContainerStatus{running("a", true), terminated("b", 0, "Completed", 0)}
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
			p.Status.Phase = corev1.PodRunning
		}, [3]string{"1/2", "Running", "0"}},
		{"regular exit code without reason", func(p *corev1.Pod) {
			p.Spec.InitContainers = nil
			p.Status.ContainerStatuses = []corev1.ContainerStatus{terminated("a", 2, "", 0), terminated("b", 0, "", 15)}
			p.Status.Phase = corev1.PodFailed
		}, [3]string{"0/2", "ExitCode:2", "0"}},
		{"node lost while deleting", func(p *corev1.Pod) {
			p.DeletionTimestamp = &metav1.Time{Time: t0}
			p.Status.Reason = "NodeLost"
		}, [3]string{"0/3", "Unknown", "0"}},
		{"deleting a terminal pod keeps its status", func(p *corev1.Pod) {
			p.DeletionTimestamp = &metav1.Time{Time: t0}
			p.Status.Phase = corev1.PodSucceeded
		}, [3]string{"0/3", "Succeeded", "0"}},
		{"status reason before containers", func(p *corev1.Pod) {
			p.Status.Reason = "Evicted"
			p.Status.Phase = corev1.PodFailed
		}, [3]string{"0/3", "Evicted", "0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := basePod()
			tc.mutate(p)
			ready, status, restarts := PodColumns(p, t0)
			if diff := cmp.Diff(tc.want, [3]string{ready, status, restarts}); diff != "" {
				t.Errorf("PodColumns (READY, STATUS, RESTARTS) mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNoResourcesFound(t *testing.T) {
	for _, tc := range []struct {
		ns   string
		all  bool
		want string
	}{
		{"default", false, "No resources found in default namespace.\n"},
		{"default", true, "No resources found\n"},
	} {
		var b strings.Builder
		if err := NoResourcesFound(&b, tc.ns, tc.all); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("NoResourcesFound(%q, %v) = %q, want %q", tc.ns, tc.all, b.String(), tc.want)
		}
	}
}
