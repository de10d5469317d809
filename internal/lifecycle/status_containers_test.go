package lifecycle

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// containerView is the part of a container status the state rules decide.
type containerView struct {
	State        corev1.ContainerState
	LastState    corev1.ContainerState
	Ready        bool
	Started      bool
	RestartCount int32
	ContainerID  string
}

func viewOf(st corev1.ContainerStatus) containerView {
	return containerView{State: st.State, LastState: st.LastTerminationState, Ready: st.Ready,
		Started: st.Started != nil && *st.Started, RestartCount: st.RestartCount, ContainerID: st.ContainerID}
}

func waiting(reason, message string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}
}

func runningState(at time.Time) corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: mt(at)}}
}

func terminated(id string, code int32, reason string, start, end time.Time) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason,
		StartedAt: mt(start), FinishedAt: mt(end), ContainerID: id}}
}

// TestContainerStates covers §9 (states and reasons) and §4.3 (ready and
// started) one rule per case, on the KEP-753 pod or a one-container pod.
func TestContainerStates(t *testing.T) {
	cases := []struct {
		name      string
		pod       func() *corev1.Pod
		mutate    func(*corev1.Pod, *Observed)
		now       time.Time
		container string
		want      containerView
	}{{
		name: "§9 default: every container of a pod with init containers waits PodInitializing",
		pod:  kepPod, container: "sidecar-2",
		want: containerView{State: waiting("PodInitializing", "")},
	}, {
		name: "§9 default: ContainerCreating in a pod without init containers",
		pod:  func() *corev1.Pod { return plainPod(corev1.RestartPolicyAlways) }, container: "main",
		want: containerView{State: waiting("ContainerCreating", "")},
	}, {
		name: "§9 running: Running{startedAt}, containerID runc://ID, §4.3 started and ready without probes",
		pod:  kepPod, container: "main", now: sat(9),
		mutate: func(_ *corev1.Pod, o *Observed) { addRunning(o, "main", sat(8)) },
		want:   containerView{State: runningState(sat(8)), Ready: true, Started: true, ContainerID: "runc://main-a"},
	}, {
		name: "§9 containerID scheme is Settings.RuntimeName",
		pod:  kepPod, container: "main", now: sat(9),
		mutate: func(_ *corev1.Pod, o *Observed) {
			o.Settings.RuntimeName = "crun"
			addRunning(o, "main", sat(8))
		},
		want: containerView{State: runningState(sat(8)), Ready: true, Started: true, ContainerID: "crun://main-a"},
	}, {
		name: "§9 created but not running: Waiting without reason",
		pod:  kepPod, container: "main", now: sat(9),
		mutate: func(_ *corev1.Pod, o *Observed) { addRunning(o, "main", time.Time{}).State = AttemptCreated },
		want:   containerView{State: waiting("", ""), ContainerID: "runc://main-a"},
	}, {
		name: "§9 exited 0 under Never: Terminated Completed (reason defaulted as containerd does)",
		pod:  func() *corev1.Pod { return plainPod(corev1.RestartPolicyNever) }, container: "main", now: sat(20),
		mutate: func(_ *corev1.Pod, o *Observed) { addExited(o, "main", sat(1), sat(4), 0) },
		want:   containerView{State: terminated("runc://main-a", 0, "Completed", sat(1), sat(4)), ContainerID: "runc://main-a"},
	}, {
		name: "§9 runtime reason kept: OOMKilled 137",
		pod:  func() *corev1.Pod { return plainPod(corev1.RestartPolicyNever) }, container: "main", now: sat(20),
		mutate: func(_ *corev1.Pod, o *Observed) { addExited(o, "main", sat(1), sat(4), 137).Reason = "OOMKilled" },
		want:   containerView{State: terminated("runc://main-a", 137, "OOMKilled", sat(1), sat(4)), ContainerID: "runc://main-a"},
	}, {
		name: "§9 §17 first restart is immediate: Terminated Error stays until the new instance runs",
		pod:  func() *corev1.Pod { return plainPod(corev1.RestartPolicyAlways) }, container: "main", now: sat(4.5),
		mutate: func(_ *corev1.Pod, o *Observed) { addExited(o, "main", sat(1), sat(4), 1) },
		want:   containerView{State: terminated("runc://main-a", 1, "Error", sat(1), sat(4)), ContainerID: "runc://main-a"},
	}, {
		name: "§9 only the two newest instances: state and lastState, restartCount counts all",
		pod:  func() *corev1.Pod { return plainPod(corev1.RestartPolicyAlways) }, container: "main", now: sat(40),
		mutate: func(_ *corev1.Pod, o *Observed) {
			end := addCrashLoop(o, "main", sat(0), 3)
			addRunning(o, "main", end.Add(20*time.Second))
		},
		want: containerView{State: runningState(sat(33)), LastState: terminated("runc://main-c", 1, "Error", sat(12), sat(13)),
			Ready: true, Started: true, RestartCount: 3, ContainerID: "runc://main-d"},
	}, {
		name: "§3.4 §9 CrashLoopBackOff while the back-off holds, with the kubelet's message",
		pod:  func() *corev1.Pod { return plainPod(corev1.RestartPolicyAlways) }, container: "main", now: sat(15),
		mutate: func(_ *corev1.Pod, o *Observed) { addCrashLoop(o, "main", sat(0), 3) }, // exits at 1, 2, 13: 20 s back-off
		want: containerView{
			State:     waiting("CrashLoopBackOff", "back-off 20s restarting failed container=main pod=p_default(u-2)"),
			LastState: terminated("runc://main-c", 1, "Error", sat(12), sat(13)), RestartCount: 2, ContainerID: "runc://main-c"},
	}, {
		name: "§3.4 §9 back-off expired: Terminated again until the restart",
		pod:  func() *corev1.Pod { return plainPod(corev1.RestartPolicyAlways) }, container: "main", now: sat(33),
		mutate: func(_ *corev1.Pod, o *Observed) { addCrashLoop(o, "main", sat(0), 3) },
		want: containerView{State: terminated("runc://main-c", 1, "Error", sat(12), sat(13)),
			LastState: terminated("runc://main-b", 1, "Error", sat(1), sat(2)), RestartCount: 2, ContainerID: "runc://main-c"},
	}, {
		name: "§3.1 §9 Never: an exited container is not restarted, so no CrashLoopBackOff",
		pod: func() *corev1.Pod {
			p := plainPod(corev1.RestartPolicyNever)
			p.Spec.Containers[0].RestartPolicy = ptrTo(corev1.ContainerRestartPolicyNever)
			return p
		}, container: "main", now: sat(15),
		mutate: func(_ *corev1.Pod, o *Observed) { addCrashLoop(o, "main", sat(0), 3) },
		want: containerView{State: terminated("runc://main-c", 1, "Error", sat(12), sat(13)),
			LastState: terminated("runc://main-b", 1, "Error", sat(1), sat(2)), RestartCount: 2, ContainerID: "runc://main-c"},
	}, {
		name: "§3.2 restart rule: exit 42 restarts a Never container, so its back-off shows",
		pod: func() *corev1.Pod {
			p := plainPod(corev1.RestartPolicyNever)
			p.Spec.Containers[0].RestartPolicy = ptrTo(corev1.ContainerRestartPolicyNever)
			p.Spec.Containers[0].RestartPolicyRules = []corev1.ContainerRestartRule{{Action: corev1.ContainerRestartRuleActionRestart,
				ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: corev1.ContainerRestartRuleOnExitCodesOpIn, Values: []int32{42}}}}
			return p
		}, container: "main", now: sat(5),
		mutate: func(_ *corev1.Pod, o *Observed) {
			addExited(o, "main", sat(0), sat(1), 42)
			addExited(o, "main", sat(1), sat(2), 42)
		},
		want: containerView{State: waiting("CrashLoopBackOff", "back-off 10s restarting failed container=main pod=p_default(u-2)"),
			LastState: terminated("runc://main-b", 42, "Error", sat(1), sat(2)), RestartCount: 1, ContainerID: "runc://main-b"},
	}, {
		name: "RS2 terminating: nothing restarts, so the exit stays Terminated",
		pod:  func() *corev1.Pod { return plainPod(corev1.RestartPolicyAlways) }, container: "main", now: sat(15),
		mutate: func(_ *corev1.Pod, o *Observed) {
			addCrashLoop(o, "main", sat(0), 3)
			o.Termination = &Termination{Reason: TerminationDeleted, StartedAt: sat(14), Grace: 30 * time.Second}
		},
		want: containerView{State: terminated("runc://main-c", 1, "Error", sat(12), sat(13)),
			LastState: terminated("runc://main-b", 1, "Error", sat(1), sat(2)), RestartCount: 2, ContainerID: "runc://main-c"},
	}, {
		name: "§9 ErrImagePull: the cached start failure is the Waiting reason, no instance yet",
		pod:  kepPod, container: "sidecar-1", now: sat(9),
		mutate: func(_ *corev1.Pod, o *Observed) {
			addExited(o, "init-config", sat(1), sat(6), 0)
			obsOf(o, "sidecar-1").StartFailure = &StartFailure{Reason: "ErrImagePull", Message: `failed to pull image "busybox:nope": not found`, At: sat(7)}
		},
		want: containerView{State: waiting("ErrImagePull", `failed to pull image "busybox:nope": not found`)},
	}, {
		name: "§9 ImagePullBackOff between pulls",
		pod:  kepPod, container: "sidecar-1", now: sat(12),
		mutate: func(_ *corev1.Pod, o *Observed) {
			addExited(o, "init-config", sat(1), sat(6), 0)
			obsOf(o, "sidecar-1").StartFailure = &StartFailure{Reason: "ImagePullBackOff", Message: `Back-off pulling image "busybox:nope"`, At: sat(8)}
		},
		want: containerView{State: waiting("ImagePullBackOff", `Back-off pulling image "busybox:nope"`)},
	}, {
		name: "§9 CreateContainerConfigError",
		pod:  func() *corev1.Pod { return plainPod(corev1.RestartPolicyAlways) }, container: "main", now: sat(3),
		mutate: func(_ *corev1.Pod, o *Observed) {
			obsOf(o, "main").StartFailure = &StartFailure{Reason: "CreateContainerConfigError", Message: `configmap "cfg" not found`, At: sat(1)}
		},
		want: containerView{State: waiting("CreateContainerConfigError", `configmap "cfg" not found`)},
	}, {
		name: "§9 H2 PostStartHookError: the killed instance moves to lastState",
		pod:  func() *corev1.Pod { return plainPod(corev1.RestartPolicyAlways) }, container: "main", now: sat(6),
		mutate: func(_ *corev1.Pod, o *Observed) {
			addExited(o, "main", sat(1), sat(3), 137)
			obsOf(o, "main").StartFailure = &StartFailure{Reason: "PostStartHookError", Message: "Exec lifecycle hook ([false]) for Container \"main\" in Pod \"p_default(u-2)\" failed - error: command 'false' exited with 1: , message: \"\"", At: sat(3)}
		},
		want: containerView{State: waiting("PostStartHookError", "Exec lifecycle hook ([false]) for Container \"main\" in Pod \"p_default(u-2)\" failed - error: command 'false' exited with 1: , message: \"\""),
			LastState: terminated("runc://main-a", 137, "Error", sat(1), sat(3)), ContainerID: "runc://main-a"},
	}, {
		name: "§9 RunContainerError after a created instance failed to start",
		pod:  func() *corev1.Pod { return plainPod(corev1.RestartPolicyAlways) }, container: "main", now: sat(3),
		mutate: func(_ *corev1.Pod, o *Observed) {
			addRunning(o, "main", time.Time{}).State = AttemptCreated
			obsOf(o, "main").StartFailure = &StartFailure{Reason: "RunContainerError", Message: "runc create failed", At: sat(2)}
		},
		want: containerView{State: waiting("RunContainerError", "runc create failed"), ContainerID: "runc://main-a"},
	}, {
		name: "§9 ContainerStatusUnknown: a vanished running instance is Terminated 137 and counts a restart",
		pod:  func() *corev1.Pod { return plainPod(corev1.RestartPolicyAlways) }, container: "main", now: sat(20),
		mutate: func(_ *corev1.Pod, o *Observed) {
			o.Termination = &Termination{Reason: TerminationDeleted, StartedAt: sat(19)}
			addRunning(o, "main", sat(1)).State = AttemptUnknown
		},
		want: containerView{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137,
			Reason: "ContainerStatusUnknown", Message: "The container could not be located when the pod was terminated"}},
			RestartCount: 1, ContainerID: "runc://main-a"},
	}, {
		name: "§1 H1 a new instance whose postStart has not returned is not reported yet (pod-podinitializing)",
		pod: func() *corev1.Pod {
			p := kepPod()
			p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sleep", "5"}}}}
			return p
		}, container: "main", now: sat(30),
		mutate: func(_ *corev1.Pod, o *Observed) {
			addRunning(o, "main", sat(28)).PostStart = HookProgress{State: HookRunning, StartedAt: sat(28)}
		},
		want: containerView{State: waiting("PodInitializing", "")},
	}, {
		name: "§1 H1 once postStart returned the instance is reported Running",
		pod: func() *corev1.Pod {
			p := kepPod()
			p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sleep", "5"}}}}
			return p
		}, container: "main", now: sat(34),
		mutate: func(_ *corev1.Pod, o *Observed) {
			addRunning(o, "main", sat(28)).PostStart = HookProgress{State: HookSucceeded, StartedAt: sat(28), DoneAt: sat(33)}
		},
		want: containerView{State: runningState(sat(28)), Ready: true, Started: true, ContainerID: "runc://main-a"},
	}, {
		name: "§4.3 sidecar running with its startup probe pending: not started, not ready",
		pod:  kepPod, container: "sidecar-1", now: sat(9),
		mutate: func(_ *corev1.Pod, o *Observed) { addRunning(o, "sidecar-1", sat(7)) },
		want:   containerView{State: runningState(sat(7)), ContainerID: "runc://sidecar-1-a"},
	}, {
		name: "§4.3 sidecar whose startup probe succeeded: started, and ready (no readiness probe)",
		pod:  kepPod, container: "sidecar-1", now: sat(9),
		mutate: func(_ *corev1.Pod, o *Observed) { addRunning(o, "sidecar-1", sat(7)).Startup = ProbeSuccess },
		want:   containerView{State: runningState(sat(7)), Started: true, Ready: true, ContainerID: "runc://sidecar-1-a"},
	}, {
		name: "§4.3 P1 sidecar readiness probe failing: started but not ready",
		pod: func() *corev1.Pod {
			p := kepPod()
			p.Spec.InitContainers[1].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"false"}}}}
			return p
		}, container: "sidecar-1", now: sat(9),
		mutate: func(_ *corev1.Pod, o *Observed) {
			a := addRunning(o, "sidecar-1", sat(7))
			a.Startup, a.Readiness = ProbeSuccess, ProbeFailure
		},
		want: containerView{State: runningState(sat(7)), Started: true, ContainerID: "runc://sidecar-1-a"},
	}, {
		name: "§4.3 readiness probe without a result yet: not ready",
		pod: func() *corev1.Pod {
			p := plainPod(corev1.RestartPolicyAlways)
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
			return p
		}, container: "main", now: sat(2),
		mutate: func(_ *corev1.Pod, o *Observed) { addRunning(o, "main", sat(1)) },
		want:   containerView{State: runningState(sat(1)), Started: true, ContainerID: "runc://main-a"},
	}, {
		name: "§4.3 regular init container running: started, not ready",
		pod:  kepPod, container: "init-config", now: sat(3),
		mutate: func(_ *corev1.Pod, o *Observed) { addRunning(o, "init-config", sat(1)) },
		want:   containerView{State: runningState(sat(1)), Started: true, ContainerID: "runc://init-config-a"},
	}, {
		name: "§4.3 §8 regular init container exited 0: ready, not started",
		pod:  kepPod, container: "init-config", now: sat(9),
		mutate: func(_ *corev1.Pod, o *Observed) { addExited(o, "init-config", sat(1), sat(6), 0) },
		want:   containerView{State: terminated("runc://init-config-a", 0, "Completed", sat(1), sat(6)), Ready: true, ContainerID: "runc://init-config-a"},
	}, {
		name: "§17 sidecar exited 0 is not overwritten with CrashLoopBackOff (init containers done with 0 are skipped)",
		pod:  kepPod, container: "sidecar-1", now: sat(14),
		mutate: func(_ *corev1.Pod, o *Observed) {
			addExited(o, "sidecar-1", sat(1), sat(2), 0)
			addExited(o, "sidecar-1", sat(2), sat(3), 0)
			addExited(o, "sidecar-1", sat(3), sat(4), 0)
		},
		want: containerView{State: terminated("runc://sidecar-1-c", 0, "Completed", sat(3), sat(4)),
			LastState: terminated("runc://sidecar-1-b", 0, "Completed", sat(2), sat(3)), RestartCount: 2, ContainerID: "runc://sidecar-1-c"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod, obs := tc.pod(), baseObs()
			if tc.mutate != nil {
				tc.mutate(pod, &obs)
			}
			got := viewOf(statusOf(t, Status(pod, obs, tc.now), tc.container))
			diffOrFail(t, tc.container+" status", tc.want, got)
		})
	}
}

// TestContainerStatusFields covers the fields the kubelet fills besides
// the state: image, imageID, resources, allocatedResources, volumeMounts.
func TestContainerStatusFields(t *testing.T) {
	pod := plainPod(corev1.RestartPolicyAlways)
	pod.Spec.Containers[0].Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
	}
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{
		{Name: "shared", MountPath: "/shared"},
		{Name: "cfg", MountPath: "/etc/cfg", ReadOnly: true},
	}
	obs := baseObs()
	addRunning(&obs, "main", sat(1))

	mounts := []corev1.VolumeMountStatus{
		{Name: "shared", MountPath: "/shared"},
		{Name: "cfg", MountPath: "/etc/cfg", ReadOnly: true, RecursiveReadOnly: ptrTo(corev1.RecursiveReadOnlyDisabled)},
	}
	want := corev1.ContainerStatus{
		Name:        "main",
		State:       runningState(sat(1)),
		Ready:       true,
		Image:       "docker.io/library/busybox:latest",
		ImageID:     "sha256:feed",
		ContainerID: "runc://main-a",
		Started:     ptrTo(true),
		AllocatedResources: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
		Resources: &corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
		},
		VolumeMounts: mounts,
	}
	diffOrFail(t, "running container status", want, statusOf(t, Status(pod, obs, sat(2)), "main"))

	// Without an instance: the spec image, no ID, no resources, mounts.
	waitingWant := corev1.ContainerStatus{Name: "main", State: waiting("ContainerCreating", ""), Image: "busybox",
		Started: ptrTo(false), VolumeMounts: mounts}
	diffOrFail(t, "waiting container status", waitingWant, statusOf(t, Status(pod, baseObs(), sat(0)), "main"))
}
