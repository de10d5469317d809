package lifecycle

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// observedFromGolden rebuilds the observation a kubelet had when it wrote
// the golden pod's status: one attempt per instance (the two newest from
// the statuses, older ones synthesised on the back-off curve), probe
// results matching started/ready, cached start failures, the sandbox, the
// termination, and the conditions of the previous report.
func observedFromGolden(t *testing.T, pod *corev1.Pod) Observed {
	t.Helper()
	s := DefaultSettings()
	s.NodeIP = pod.Status.HostIP
	s.RuntimeName = "containerd"
	obs := Observed{
		Settings:       s,
		StartTime:      pod.Status.StartTime.Time,
		Containers:     map[string]*ContainerObservation{},
		LastConditions: pod.Status.Conditions,
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReadyToStartContainers && c.Status == corev1.ConditionTrue {
			obs.Sandbox = &SandboxObservation{Ready: true}
		}
	}
	if pod.DeletionTimestamp != nil {
		obs.Termination = &Termination{Reason: TerminationDeleted, StartedAt: pod.DeletionTimestamp.Add(-10 * time.Second), Grace: 10 * time.Second}
	}
	all := append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, st := range all {
		spec := FindContainer(pod, st.Name)
		if spec == nil {
			t.Fatalf("status of unknown container %q", st.Name)
		}
		co := &ContainerObservation{}
		if w := st.State.Waiting; w != nil && w.Reason != waitingPodInitializing && w.Reason != waitingContainerCreating && w.Reason != waitingCrashLoopBackOff {
			co.StartFailure = &StartFailure{Reason: w.Reason, Message: w.Message}
		}
		if st.ContainerID != "" {
			co.Attempts = goldenAttempts(st, spec)
		}
		obs.Containers[st.Name] = co
	}
	if obs.Termination == nil && isTerminalPhase(pod.Status.Phase) {
		// The pod finished: every container has exited.
		obs.Termination = &Termination{Reason: TerminationCompleted}
	}
	return obs
}

// goldenAttempts returns restartCount+1 attempts ending with the
// instances the status shows.
func goldenAttempts(st corev1.ContainerStatus, spec *corev1.Container) []Attempt {
	var newest []Attempt
	if last := st.LastTerminationState.Terminated; last != nil {
		newest = append(newest, exitedAttempt(last, st))
	}
	switch {
	case st.State.Running != nil:
		a := Attempt{ID: trimID(st.ContainerID), State: AttemptRunning, Image: st.Image, ImageID: st.ImageID,
			CreatedAt: st.State.Running.StartedAt.Time, StartedAt: st.State.Running.StartedAt.Time}
		if st.Started != nil && *st.Started && spec.StartupProbe != nil {
			a.Startup = ProbeSuccess
		}
		if st.Ready && spec.ReadinessProbe != nil {
			a.Readiness = ProbeSuccess
		}
		if spec.ReadinessProbe != nil && !st.Ready {
			a.Readiness = ProbeFailure
		}
		newest = append(newest, a)
	case st.State.Terminated != nil:
		newest = append(newest, exitedAttempt(st.State.Terminated, st))
	}
	for i := range newest {
		if spec.Lifecycle != nil && spec.Lifecycle.PostStart != nil {
			newest[i].PostStart = HookProgress{State: HookSucceeded}
		}
	}
	attempts := make([]Attempt, int(st.RestartCount)+1-len(newest))
	// Older instances ran one second each and were restarted on the
	// default curve: 0 s, then 10 s doubling (§3.4).
	next := newest[0].CreatedAt
	for i := len(attempts) - 1; i >= 0; i-- {
		gap := time.Duration(0)
		if restart := i + 1; restart >= 2 {
			gap = InitialBackoff << (restart - 2)
		}
		finished := next.Add(-gap)
		attempts[i] = Attempt{ID: "old", State: AttemptExited, ExitCode: 1, CreatedAt: finished.Add(-time.Second),
			StartedAt: finished.Add(-time.Second), FinishedAt: finished}
		next = attempts[i].CreatedAt
	}
	return append(attempts, newest...)
}

// exitedAttempt converts a terminated state to an attempt.
func exitedAttempt(term *corev1.ContainerStateTerminated, st corev1.ContainerStatus) Attempt {
	return Attempt{ID: trimID(term.ContainerID), State: AttemptExited, Image: st.Image, ImageID: st.ImageID,
		CreatedAt: term.StartedAt.Time, StartedAt: term.StartedAt.Time, FinishedAt: term.FinishedAt.Time,
		ExitCode: term.ExitCode, Reason: term.Reason, Message: term.Message}
}

// trimID strips the runtime scheme of a containerID.
func trimID(id string) string {
	if i := strings.Index(id, "://"); i >= 0 {
		return id[i+3:]
	}
	return id
}

// roundTrip passes a status through JSON, as storing and printing it does
// (times to the second).
func roundTrip(t *testing.T, s corev1.PodStatus) corev1.PodStatus {
	t.Helper()
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var out corev1.PodStatus
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStatusGolden rebuilds the observation behind every golden pod and
// checks that Status reproduces the kubelet's status field for field.
func TestStatusGolden(t *testing.T) {
	// The crash-looping container of these cases was captured in the
	// state the real kubelet happened to have written by its sync timing
	// (§17 first bullet); podrun reports Waiting CrashLoopBackOff exactly
	// while the back-off holds the restart (§3.4, §9). want gives the
	// state podrun reports at now.txt; every other field must match.
	crashLoop := map[string]struct {
		container string
		state     corev1.ContainerState
	}{
		// 3 restarts: the 40 s back-off holds at +5 s.
		"pod-crashloop-error-restarts": {"regular-1", waitingState(waitingCrashLoopBackOff,
			"")},
		// 40 s back-off expired at +53 s: the kubelet, paused, still said
		// CrashLoopBackOff; the restart is due, so podrun shows Error.
		"pod-crashloopbackoff": {"regular-1", corev1.ContainerState{}},
		// 2 restarts: the 20 s back-off holds at +6 s.
		"pod-init-error-restarts": {"init1", waitingState(waitingCrashLoopBackOff, "")},
		// 2 restarts: the 20 s back-off holds at +7 s.
		"pod-running-sidecar-crashed": {"sidecar-1", waitingState(waitingCrashLoopBackOff, "")},
		// 10 s back-off expired at +14 s (kubelet paused).
		"pod-running-sidecar-crashloopbackoff": {"sidecar-1", corev1.ContainerState{}},
	}
	for _, gc := range goldenCases(t) {
		t.Run(gc.name, func(t *testing.T) {
			obs := observedFromGolden(t, gc.pod)
			if gc.name == "pod-podinitializing" {
				// main was already running its postStart hook (H1): the
				// kubelet reported no instance until the hook returned.
				co := obs.Container("main")
				co.Attempts = append(co.Attempts, Attempt{ID: "main-1", State: AttemptRunning,
					CreatedAt: gc.now.Add(-time.Second), StartedAt: gc.now.Add(-time.Second),
					PostStart: HookProgress{State: HookRunning, StartedAt: gc.now.Add(-time.Second)}})
			}
			pod := gc.pod.DeepCopy()
			pod.Status = corev1.PodStatus{}
			got := roundTrip(t, Status(pod, obs, gc.now))

			want := *gc.pod.Status.DeepCopy()
			// status.resources carries the pod cgroup's memory limit as
			// the kubelet read it at that moment (9007199254740988Ki =
			// unlimited), not a spec value; podrun reports the spec's.
			want.Resources = &corev1.ResourceRequirements{}
			if dev, ok := crashLoop[gc.name]; ok {
				applyCrashLoopDeviation(t, gc.pod, obs, &want, dev.container, dev.state)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Status(%s) mismatch (-want +got):\n%s", gc.name, diff)
			}
		})
	}
}

// waitingState is a Waiting state with reason and message.
func waitingState(reason, message string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}
}

// applyCrashLoopDeviation rewrites want's status of container to the
// state podrun reports: a zero state means the kubelet showed Waiting
// CrashLoopBackOff but the back-off has expired, so the exited instance
// shows Terminated; a Waiting state means the back-off holds, with the
// message computed from the pod when state's message is empty.
func applyCrashLoopDeviation(t *testing.T, pod *corev1.Pod, obs Observed, want *corev1.PodStatus, container string, state corev1.ContainerState) {
	t.Helper()
	st := findStatus(want.InitContainerStatuses, container)
	if st == nil {
		st = findStatus(want.ContainerStatuses, container)
	}
	if st == nil {
		t.Fatalf("no status of %q", container)
	}
	switch {
	case state.Waiting == nil:
		if st.State.Waiting == nil || st.State.Waiting.Reason != waitingCrashLoopBackOff {
			t.Fatalf("%s: golden state is not CrashLoopBackOff: %+v", container, st.State)
		}
		// The kubelet showed the newest exit in lastState; it becomes
		// the state again, and the previous (synthesised) instance
		// becomes lastState.
		prev := obs.Container(container).Previous()
		st.State = st.LastTerminationState
		st.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: prev.ExitCode, Reason: terminatedError, ContainerID: "containerd://" + prev.ID,
			StartedAt: metav1.NewTime(prev.StartedAt), FinishedAt: metav1.NewTime(prev.FinishedAt)}}
	default:
		if st.State.Terminated == nil {
			t.Fatalf("%s: golden state is not Terminated: %+v", container, st.State)
		}
		msg := state.Waiting.Message
		if msg == "" {
			msg = CrashLoopBackOffMessage(pod, container, InitialBackoff<<(st.RestartCount-1))
		}
		st.LastTerminationState = st.State
		st.State = waitingState(waitingCrashLoopBackOff, msg)
	}
}
