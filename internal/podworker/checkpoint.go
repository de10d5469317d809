package podworker

import (
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/internal/lifecycle"
)

// CheckpointVersion is the version of the Checkpoint layout this package
// writes and reads.
const CheckpointVersion = 1

// Checkpoint is the state a worker owns, saved after every step so that a
// new worker (in a new supervisor, after the old one died) continues the
// pod where the old one stopped: the observation the planner reads, the
// run record, the aggregated events and the deletion in progress. The
// runtime's containers outlive the worker; the new worker re-observes
// them and adopts instances the checkpoint does not know yet.
//
// A Checkpoint whose Observed has no StartTime was never saved: the
// previous worker died before its first step ended.
type Checkpoint struct {
	Version int `json:"version"`
	// Observed is the planner's input as the worker last held it.
	Observed lifecycle.Observed `json:"observed"`
	// Record is the run record as last published; its Events carry the
	// events' times to the nanosecond.
	Record Record `json:"record"`
	// Events are the pod's events as aggregated so far (names, counts,
	// first and last times), so that repeats keep counting under the
	// same names.
	Events []corev1.Event `json:"events,omitempty"`
	// BackOffSeen lists the attempts whose BackOff event was emitted;
	// ProbeFailures counts the Unhealthy events per instance and probe.
	BackOffSeen   []string       `json:"backOffSeen,omitempty"`
	ProbeFailures map[string]int `json:"probeFailures,omitempty"`
	// DeletionTimestamp and DeletionGracePeriodSeconds are the deletion
	// the worker was carrying out, if any.
	DeletionTimestamp          *metav1.Time `json:"deletionTimestamp,omitempty"`
	DeletionGracePeriodSeconds *int64       `json:"deletionGracePeriodSeconds,omitempty"`
}

// saved reports whether cp holds a worker's state (see Checkpoint).
func (cp *Checkpoint) saved() bool {
	return cp != nil && !cp.Observed.StartTime.IsZero()
}

// checkpoint returns the worker's state to save. It shares the worker's
// maps and slices: the store must encode it before SaveCheckpoint returns
// and keep nothing of it.
func (w *Worker) checkpoint() *Checkpoint {
	seen := slices.Sorted(maps.Keys(w.backOffSeen))
	return &Checkpoint{
		Version:                    CheckpointVersion,
		Observed:                   w.obs,
		Record:                     w.record,
		Events:                     w.rec.events,
		BackOffSeen:                seen,
		ProbeFailures:              w.probeFailures,
		DeletionTimestamp:          w.pod.DeletionTimestamp,
		DeletionGracePeriodSeconds: w.pod.DeletionGracePeriodSeconds,
	}
}

// restore makes a new worker continue from cp (Config.Resume): the
// observation (under the new worker's settings), the record, the
// recorder's events, the BackOff and Unhealthy bookkeeping and the
// deletion. A Checkpoint that was never saved, of another layout
// version or of another pod (UID) restores nothing; the first step then
// finds the pod's sandbox in the runtime.
func (w *Worker) restore(cp *Checkpoint) {
	w.resuming = true
	if !cp.saved() {
		return
	}
	if cp.Version != CheckpointVersion {
		w.log.Error("checkpoint of an unknown version ignored", "version", cp.Version)
		return
	}
	if cp.Record.UID != "" && cp.Record.UID != string(w.pod.UID) {
		w.log.Error("checkpoint of another pod ignored", "uid", cp.Record.UID)
		return
	}
	settings := w.obs.Settings
	w.obs = cp.Observed
	w.obs.Settings = settings
	if w.obs.Containers == nil {
		w.obs.Containers = map[string]*lifecycle.ContainerObservation{}
	}
	w.started = true
	w.record = cp.Record
	w.pubRecord = cloneRecord(w.record)
	w.rec.restore(cp.Events, cp.Record.Events)
	for _, id := range cp.BackOffSeen {
		w.backOffSeen[id] = true
	}
	maps.Copy(w.probeFailures, cp.ProbeFailures)
	if cp.DeletionTimestamp != nil {
		w.pod.DeletionTimestamp = cp.DeletionTimestamp.DeepCopy()
		if g := cp.DeletionGracePeriodSeconds; g != nil {
			v := *g
			w.pod.DeletionGracePeriodSeconds = &v
		}
	}
}

// restore makes the recorder continue from saved events; times are the
// same events with nanosecond times (the record's), rebuilt from events
// when they do not match.
func (r *recorder) restore(events []corev1.Event, times []EventRecord) {
	r.events = slices.Clone(events)
	if len(times) != len(events) {
		times = nil
		for _, ev := range events {
			times = append(times, EventRecord{Type: ev.Type, Reason: ev.Reason, Message: ev.Message,
				Object: ev.InvolvedObject.FieldPath, Count: max(ev.Count, 1), FirstTime: ev.FirstTimestamp.Time, LastTime: ev.LastTimestamp.Time})
		}
	}
	r.times = slices.Clone(times)
	clear(r.index)
	for i, ev := range r.events {
		if ev.ReportingController == "default-scheduler" {
			continue // Scheduled never repeats
		}
		r.index[eventKey{ev.InvolvedObject.FieldPath, ev.Type, ev.Reason, ev.Message}] = i
	}
}
