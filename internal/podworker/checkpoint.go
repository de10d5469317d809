package podworker

import (
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
type Checkpoint struct {
	Version int `json:"version"`
	// Observed is the planner's input as the worker last held it.
	Observed lifecycle.Observed `json:"observed"`
	// Record is the run record as last published.
	Record Record `json:"record"`
	// Events are the pod's events as aggregated so far (counts, first
	// and last times), so that repeats keep counting.
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
