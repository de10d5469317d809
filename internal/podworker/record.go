package podworker

import (
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/lifecycle"
)

// Record is the run record of one pod: every container attempt with its
// times, the pod's status history and its events. Its JSON form is stable
// (see doc.go); times are RFC3339Nano, absent times are omitted.
type Record struct {
	// Namespace, Name and UID identify the pod.
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid"`
	// Node is the node the pod ran on.
	Node string `json:"node,omitempty"`
	// StartTime is when the worker accepted the pod (pod.start).
	StartTime *time.Time `json:"startTime,omitempty"`
	// DeletedAt is when the pod was deleted (the delete event), if it was;
	// FinishedAt is when the worker finished it (pod.gone).
	DeletedAt  *time.Time `json:"deletedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	// Containers lists init containers then regular containers, in spec
	// order, each with every attempt.
	Containers []ContainerRecord `json:"containers"`
	// StatusHistory holds one entry per change of the pod's status.
	StatusHistory []StatusChange `json:"statusHistory"`
	// Events are the pod's events, repeats aggregated.
	Events []EventRecord `json:"events"`
}

// ContainerRecord is one container of the spec and its attempts.
type ContainerRecord struct {
	Name     string                  `json:"name"`
	Kind     lifecycle.ContainerKind `json:"kind"` // init, sidecar or regular
	Attempts []AttemptRecord         `json:"attempts"`
}

// AttemptRecord is one container instance.
type AttemptRecord struct {
	// Attempt is the instance number (restartCount when it was created).
	Attempt     int    `json:"attempt"`
	ContainerID string `json:"containerID,omitempty"`
	// CreatedAt, StartedAt (the runtime started the process),
	// StartedTrueAt (status.started became true) and FinishedAt.
	CreatedAt     *time.Time `json:"createdAt,omitempty"`
	StartedAt     *time.Time `json:"startedAt,omitempty"`
	StartedTrueAt *time.Time `json:"startedTrueAt,omitempty"`
	FinishedAt    *time.Time `json:"finishedAt,omitempty"`
	// ReadyTransitions are the changes of status.ready.
	ReadyTransitions []ReadyTransition `json:"readyTransitions,omitempty"`
	// ExitCode, Signal and Reason describe the exit; absent while running.
	ExitCode *int32 `json:"exitCode,omitempty"`
	Signal   int    `json:"signal,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Message  string `json:"message,omitempty"`
	// KilledFor is why the executor killed the instance, if it did;
	// Kill has the steps of that kill.
	KilledFor string      `json:"killedFor,omitempty"`
	Kill      *KillRecord `json:"kill,omitempty"`
	// PostStart is the postStart hook's run, if the container has one.
	PostStart *HookRecord `json:"postStart,omitempty"`
}

// KillRecord is the progress of killing one instance (SEMANTICS.md §6.3).
type KillRecord struct {
	// StartedAt is when the kill began (the Killing event); Grace its
	// budget in seconds.
	StartedAt    time.Time   `json:"startedAt"`
	GraceSeconds float64     `json:"graceSeconds"`
	PreStop      *HookRecord `json:"preStop,omitempty"`
	// SignaledAt is when the stop signal was sent, KilledAt when SIGKILL
	// was (absent if the process exited before).
	SignaledAt *time.Time `json:"signaledAt,omitempty"`
	KilledAt   *time.Time `json:"killedAt,omitempty"`
}

// HookRecord is one run of a lifecycle hook.
type HookRecord struct {
	// State is Running, Succeeded or Failed.
	State     lifecycle.HookState `json:"state"`
	StartedAt time.Time           `json:"startedAt"`
	DoneAt    *time.Time          `json:"doneAt,omitempty"`
	Message   string              `json:"message,omitempty"`
}

// hookRecord renders a hook's progress; nil if it never ran.
func hookRecord(h lifecycle.HookProgress) *HookRecord {
	if h.State == lifecycle.HookNotRun {
		return nil
	}
	return &HookRecord{State: h.State, StartedAt: h.StartedAt, DoneAt: timePtr(h.DoneAt), Message: h.Message}
}

// ReadyTransition is one change of a container's ready flag.
type ReadyTransition struct {
	At    time.Time `json:"at"`
	Ready bool      `json:"ready"`
}

// StatusChange is the pod's status at one moment it changed.
type StatusChange struct {
	At         time.Time        `json:"at"`
	Phase      corev1.PodPhase  `json:"phase"`
	Reason     string           `json:"reason,omitempty"`
	Conditions []ConditionState `json:"conditions,omitempty"`
	Containers []ContainerState `json:"containers,omitempty"`
	Columns    Columns          `json:"columns"`
}

// Columns are the kubectl get pods cells at a moment (lifecycle.Columns).
type Columns struct {
	Status   string `json:"status"`
	Ready    string `json:"ready"`
	Restarts string `json:"restarts"`
}

// ConditionState is one pod condition at a moment.
type ConditionState struct {
	Type    corev1.PodConditionType `json:"type"`
	Status  corev1.ConditionStatus  `json:"status"`
	Reason  string                  `json:"reason,omitempty"`
	Message string                  `json:"message,omitempty"`
}

// ContainerState is one container's status at a moment.
type ContainerState struct {
	Name string `json:"name"`
	// State is running, waiting or terminated; Reason the waiting or
	// terminated reason.
	State        string `json:"state"`
	Reason       string `json:"reason,omitempty"`
	Ready        bool   `json:"ready"`
	Started      bool   `json:"started"`
	RestartCount int32  `json:"restartCount"`
}

// EventRecord is one event, aggregated as the kubelet's recorder does.
type EventRecord struct {
	Type    string `json:"type"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
	// Object is the field path of the container the event is about
	// (spec.containers{main}), empty for the pod.
	Object    string    `json:"object,omitempty"`
	Count     int32     `json:"count"`
	FirstTime time.Time `json:"firstTime"`
	LastTime  time.Time `json:"lastTime"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// buildContainers renders the attempts in obs, in spec order.
func buildContainers(pod *corev1.Pod, obs *lifecycle.Observed) []ContainerRecord {
	var out []ContainerRecord
	add := func(c *corev1.Container) {
		kind, _ := lifecycle.KindOf(pod, c.Name)
		cr := ContainerRecord{Name: c.Name, Kind: kind, Attempts: []AttemptRecord{}}
		for i, a := range attemptsOf(obs.Container(c.Name)) {
			ar := AttemptRecord{
				Attempt: i, ContainerID: a.ID,
				CreatedAt: timePtr(a.CreatedAt), StartedAt: timePtr(a.StartedAt),
				StartedTrueAt: timePtr(a.StartedTrueAt), FinishedAt: timePtr(a.FinishedAt),
				Reason: a.Reason, Message: a.Message, Signal: a.Signal,
			}
			for _, rt := range a.ReadyTransitions {
				ar.ReadyTransitions = append(ar.ReadyTransitions, ReadyTransition{At: rt.At, Ready: rt.Ready})
			}
			if a.State == lifecycle.AttemptExited {
				code := a.ExitCode
				ar.ExitCode = &code
			}
			if k := a.Kill; k != nil {
				ar.KilledFor = string(k.Reason)
				ar.Kill = &KillRecord{StartedAt: k.StartedAt, GraceSeconds: k.Grace.Seconds(), PreStop: hookRecord(k.PreStop),
					SignaledAt: timePtr(k.SignaledAt), KilledAt: timePtr(k.KilledAt)}
			}
			ar.PostStart = hookRecord(a.PostStart)
			cr.Attempts = append(cr.Attempts, ar)
		}
		out = append(out, cr)
	}
	for i := range pod.Spec.InitContainers {
		add(&pod.Spec.InitContainers[i])
	}
	for i := range pod.Spec.Containers {
		add(&pod.Spec.Containers[i])
	}
	return out
}

// statusChange summarises a status at now.
// StatusChangeOf is the status-history entry of pod with status st at now,
// for those who end a pod outside a worker (adoption after a supervisor
// died).
func StatusChangeOf(pod *corev1.Pod, st corev1.PodStatus, now time.Time) StatusChange {
	return statusChange(pod, st, now)
}

func statusChange(pod *corev1.Pod, st corev1.PodStatus, now time.Time) StatusChange {
	sc := StatusChange{At: now, Phase: st.Phase, Reason: st.Reason}
	for _, c := range st.Conditions {
		sc.Conditions = append(sc.Conditions, ConditionState{Type: c.Type, Status: c.Status, Reason: c.Reason, Message: c.Message})
	}
	for _, list := range [][]corev1.ContainerStatus{st.InitContainerStatuses, st.ContainerStatuses} {
		for _, cs := range list {
			s := ContainerState{Name: cs.Name, Ready: cs.Ready, Started: cs.Started != nil && *cs.Started, RestartCount: cs.RestartCount}
			switch {
			case cs.State.Running != nil:
				s.State = "running"
			case cs.State.Terminated != nil:
				s.State, s.Reason = "terminated", cs.State.Terminated.Reason
			case cs.State.Waiting != nil:
				s.State, s.Reason = "waiting", cs.State.Waiting.Reason
			}
			sc.Containers = append(sc.Containers, s)
		}
	}
	p := pod.DeepCopy()
	p.Status = st
	cols := lifecycle.Columns(p, now)
	sc.Columns = Columns{Status: cols.Status, Ready: cols.Ready, Restarts: cols.Restarts}
	return sc
}

// sameStatus reports whether two changes show the same status, ignoring
// the time and the "(Xs ago)" part of RESTARTS.
func sameStatus(a, b StatusChange) bool {
	a.At, b.At = time.Time{}, time.Time{}
	a.Columns.Restarts, b.Columns.Restarts = restartCount(a.Columns.Restarts), restartCount(b.Columns.Restarts)
	return a.Phase == b.Phase && a.Reason == b.Reason && a.Columns == b.Columns &&
		slices.Equal(a.Conditions, b.Conditions) && slices.Equal(a.Containers, b.Containers)
}

// restartCount strips " (Xs ago)" from a RESTARTS cell.
func restartCount(s string) string {
	for i := range s {
		if s[i] == ' ' {
			return s[:i]
		}
	}
	return s
}

// attemptsOf returns co's attempts (nil for a nil observation).
func attemptsOf(co *lifecycle.ContainerObservation) []lifecycle.Attempt {
	if co == nil {
		return nil
	}
	return co.Attempts
}
