package lifecycle

import (
	"time"
)

// activeDeadline returns the instant the pod's activeDeadlineSeconds
// passes, counted from Observed.StartTime (status.startTime), or zero if
// the pod has no deadline or has not started (§6.1, kubelet
// active_deadline.go: the pod is past its deadline once now − startTime ≥
// activeDeadlineSeconds).
func (p *planner) activeDeadline() time.Time {
	ads := p.pod.Spec.ActiveDeadlineSeconds
	if ads == nil || p.obs.StartTime.IsZero() {
		return time.Time{}
	}
	return p.obs.StartTime.Add(seconds(*ads))
}
