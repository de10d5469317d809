package podworker

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podrun/podrun/internal/lifecycle"
)

// Event reasons the worker emits, as the kubelet's (pkg/kubelet/events).
const (
	EventScheduled              = "Scheduled"
	EventPulling                = "Pulling"
	EventPulled                 = "Pulled"
	EventFailed                 = "Failed"
	EventBackOff                = "BackOff"
	EventErrImageNeverPull      = "ErrImageNeverPull"
	EventCreated                = "Created"
	EventStarted                = "Started"
	EventKilling                = "Killing"
	EventUnhealthy              = "Unhealthy"
	EventFailedPostStartHook    = "FailedPostStartHook"
	EventFailedPreStopHook      = "FailedPreStopHook"
	EventDeadlineExceeded       = "DeadlineExceeded"
	EventInspectFailed          = "InspectFailed"
	EventFailedCreatePodSandBox = "FailedCreatePodSandBox"
)

// eventKey identifies events that aggregate into one (client-go's
// EventCorrelator without the similar-message folding).
type eventKey struct {
	object, eventType, reason, message string
}

// recorder keeps a pod's events, aggregating repeats into count and
// lastTimestamp as the kubelet's recorder does, and hands each new or
// updated event to the store.
type recorder struct {
	pod    *corev1.Pod
	node   string
	events []corev1.Event
	times  []EventRecord // the same events with nanosecond times
	index  map[eventKey]int
}

func newRecorder(pod *corev1.Pod, node string) *recorder {
	return &recorder{pod: pod, node: node, index: map[eventKey]int{}}
}

// fieldPath is the involvedObject.fieldPath of a container's events.
func fieldPath(pod *corev1.Pod, name string) string {
	if name == "" {
		return ""
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return "spec.initContainers{" + name + "}"
		}
	}
	return "spec.containers{" + name + "}"
}

// emit records an event about container (empty: the pod) at now and
// returns the event as it must be stored.
func (r *recorder) emit(now time.Time, container, eventType, reason, message string) corev1.Event {
	path := fieldPath(r.pod, container)
	key := eventKey{path, eventType, reason, message}
	if i, ok := r.index[key]; ok {
		ev := &r.events[i]
		ev.Count++
		ev.LastTimestamp = metav1.NewTime(now)
		r.times[i].Count, r.times[i].LastTime = ev.Count, now
		return *ev
	}
	ev := corev1.Event{
		TypeMeta: metav1.TypeMeta{Kind: "Event", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name:              fmt.Sprintf("%s.%x", r.pod.Name, now.UnixNano()+int64(len(r.events))),
			Namespace:         namespaceOf(r.pod),
			CreationTimestamp: metav1.NewTime(now),
		},
		InvolvedObject: corev1.ObjectReference{
			Kind: "Pod", APIVersion: "v1", Name: r.pod.Name, Namespace: namespaceOf(r.pod),
			UID: r.pod.UID, FieldPath: path,
		},
		Reason: reason, Message: message, Type: eventType,
		Count:               1,
		FirstTimestamp:      metav1.NewTime(now),
		LastTimestamp:       metav1.NewTime(now),
		Source:              corev1.EventSource{Component: "kubelet", Host: r.node},
		ReportingController: "kubelet",
		ReportingInstance:   r.node,
	}
	r.index[key] = len(r.events)
	r.events = append(r.events, ev)
	r.times = append(r.times, EventRecord{Type: eventType, Reason: reason, Message: message, Object: path, Count: 1, FirstTime: now, LastTime: now})
	return ev
}

// scheduled records the scheduler's Scheduled event, which has no count
// and timestamps but an eventTime, as the scheduler writes it.
func (r *recorder) scheduled(now time.Time) corev1.Event {
	ev := corev1.Event{
		TypeMeta: metav1.TypeMeta{Kind: "Event", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name:              fmt.Sprintf("%s.%x", r.pod.Name, now.UnixNano()),
			Namespace:         namespaceOf(r.pod),
			CreationTimestamp: metav1.NewTime(now),
		},
		InvolvedObject:      corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Name: r.pod.Name, Namespace: namespaceOf(r.pod), UID: r.pod.UID},
		Reason:              EventScheduled,
		Message:             fmt.Sprintf("Successfully assigned %s/%s to %s", namespaceOf(r.pod), r.pod.Name, r.node),
		Type:                corev1.EventTypeNormal,
		EventTime:           metav1.NewMicroTime(now),
		Action:              "Binding",
		ReportingController: "default-scheduler",
		ReportingInstance:   "default-scheduler-" + r.node,
	}
	r.events = append(r.events, ev)
	r.times = append(r.times, EventRecord{Type: ev.Type, Reason: ev.Reason, Message: ev.Message, Count: 1, FirstTime: now, LastTime: now})
	return ev
}

func namespaceOf(pod *corev1.Pod) string {
	if pod.Namespace == "" {
		return metav1.NamespaceDefault
	}
	return pod.Namespace
}

// podDesc is the kubelet's format.Pod: NAME_NAMESPACE(UID).
func podDesc(pod *corev1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, namespaceOf(pod), pod.UID)
}

// The kubelet's event messages (pkg/kubelet/kuberuntime, pkg/kubelet/images).
func msgPulling(image string) string { return fmt.Sprintf("Pulling image %q", image) }
func msgPulled(image string, took time.Duration, size int64) string {
	return fmt.Sprintf("Successfully pulled image %q in %s (%s including waiting). Image size: %d bytes.", image, took, took, size)
}
func msgPresent(image string) string {
	return fmt.Sprintf("Container image %q already present on machine and can be accessed by the pod", image)
}
func msgNeverPull(image string) string {
	return fmt.Sprintf("Container image %q is not present with pull policy of Never", image)
}
func msgPullFailed(image, text string) string {
	return fmt.Sprintf("Failed to pull image %q: %s", image, text)
}
func msgPullBackOff(image string) string { return fmt.Sprintf("Back-off pulling image %q", image) }
func msgError(reason string) string      { return "Error: " + reason }

const (
	msgCreated = "Container created"
	msgStarted = "Container started"
)

func msgBackOff(pod *corev1.Pod, container string) string {
	return fmt.Sprintf("Back-off restarting failed container %s in pod %s", container, podDesc(pod))
}

// msgKilling is the Killing event's message for a kill of reason.
func msgKilling(container string, reason lifecycle.KillReason) string {
	switch reason {
	case lifecycle.KillLivenessProbe:
		return fmt.Sprintf("Container %s failed liveness probe, will be restarted", container)
	case lifecycle.KillStartupProbe:
		return fmt.Sprintf("Container %s failed startup probe, will be restarted", container)
	case lifecycle.KillPostStartHook:
		return "FailedPostStartHook"
	}
	return fmt.Sprintf("Stopping container %s", container)
}

// msgExecHookFailed is the kubelet's message for a failed exec hook.
func msgExecHookFailed(cmd []string, container string, pod *corev1.Pod, err error, output string) string {
	return fmt.Sprintf("Exec lifecycle hook (%v) for Container %q in Pod %q failed - error: %v, message: %q",
		cmd, container, podDesc(pod), err, output)
}

// event records an event at the clock's now and stores it.
func (w *Worker) event(ctx context.Context, container, eventType, reason, message string) {
	w.eventAt(ctx, w.clock.Now(), container, eventType, reason, message)
}

// eventAt records an event that happened at at and stores it.
func (w *Worker) eventAt(ctx context.Context, at time.Time, container, eventType, reason, message string) {
	ev := w.rec.emit(at, container, eventType, reason, message)
	if err := w.store.AppendEvent(ctx, ev); err != nil {
		w.log.Error("store event", "reason", reason, "err", err)
	}
}

func uidOrName(pod *corev1.Pod) types.UID {
	if pod.UID != "" {
		return pod.UID
	}
	return types.UID(namespaceOf(pod) + "-" + strings.ToLower(pod.Name))
}

// absorb counts a repeat of an event that the store already holds at its
// new count (an adopted instance's Created and Started, which the worker
// that died had stored) without storing it again, so that the next
// repeat is stored with the right count. It reports whether the event
// was known; an event seen for the first time is left to the store,
// which holds it under the dead worker's name.
func (r *recorder) absorb(at time.Time, container, eventType, reason, message string) bool {
	i, ok := r.index[eventKey{fieldPath(r.pod, container), eventType, reason, message}]
	if !ok {
		return false
	}
	ev := &r.events[i]
	ev.Count++
	ev.LastTimestamp = metav1.NewTime(at)
	r.times[i].Count, r.times[i].LastTime = ev.Count, at
	return true
}
