package fake

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/podrun/podrun/internal/runtime"
)

// syncAll advances every running container and exec to now in time
// order, so that a file one of them writes at 2 s is seen by another that
// tests it at 3 s. Callers hold r.mu.
func (r *Runtime) syncAll(now time.Time) {
	for i := 0; i < 1000000; i++ {
		var first func(time.Time)
		var at time.Time
		consider := func(w time.Time, adv func(time.Time)) {
			if !w.IsZero() && !w.After(now) && (first == nil || w.Before(at)) {
				first, at = adv, w
			}
		}
		for _, id := range r.order {
			c, ok := r.containers[id]
			if !ok || c.proc == nil || c.status.State != runtime.StateRunning {
				continue
			}
			consider(c.proc.nextWake(), func(t time.Time) { r.sync(c, t) })
		}
		for p := range r.execs {
			consider(p.nextWake(), p.advance)
		}
		if first == nil {
			break
		}
		first(at)
	}
	for _, id := range r.order {
		if c, ok := r.containers[id]; ok {
			r.sync(c, now)
		}
	}
}

// NextChange returns the earliest instant at which some running container
// changes by itself (an exit, a line of output), or the zero time if none
// will. Drivers that step a fake clock use it to jump straight there.
func (r *Runtime) NextChange() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.syncAll(r.clock.Now())
	var next time.Time
	for _, c := range r.containers {
		if c.proc == nil || c.status.State != runtime.StateRunning {
			continue
		}
		if w := c.proc.nextWake(); !w.IsZero() && (next.IsZero() || w.Before(next)) {
			next = w
		}
	}
	for p := range r.execs {
		if w := p.nextWake(); !w.IsZero() && (next.IsZero() || w.Before(next)) {
			next = w
		}
	}
	return next
}

// ReadVolumeFile returns the lines of a file in one of a sandbox's volumes
// (for example the conformance marker file /shared/marks of volume
// "shared" is ReadVolumeFile(id, "shared", "marks")), also after the
// sandbox was removed, so a test can read it once the pod is gone.
func (r *Runtime) ReadVolumeFile(sandboxID, volume, path string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.sandboxes[sandboxID]
	if !ok {
		s, ok = r.removed[sandboxID]
	}
	if !ok {
		return nil
	}
	r.syncAll(r.clock.Now())
	return slices.Clone(s.volumes[volume][strings.TrimPrefix(path, "/")])
}

// SandboxIDs returns the IDs of the sandboxes that exist, sorted; with
// removed true, also those removed since.
func (r *Runtime) SandboxIDs(removed bool) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for id := range r.sandboxes {
		ids = append(ids, id)
	}
	if removed {
		for id := range r.removed {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}
