package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// RecordEvent stores ev the way the kubelet's event recorder does: an
// event equal to a stored one (same involved object and field path, type,
// reason, message and source) increments that event's count and moves its
// lastTimestamp; any other event is stored under a new name
// "<involved name>.<hex UnixNano of its first time>". A missing count
// becomes 1, a missing lastTimestamp the firstTimestamp, a missing
// namespace the involved object's. It returns the stored event.
func (s *Store) RecordEvent(ctx context.Context, ev *corev1.Event) (*corev1.Event, error) {
	in := ev.DeepCopy()
	if in.Namespace == "" {
		in.Namespace = in.InvolvedObject.Namespace
	}
	ns, involved := in.Namespace, in.InvolvedObject.Name
	if err := checkObject(Events, ns, involved); err != nil {
		return nil, fmt.Errorf("record event %s: %w", in.Reason, err)
	}
	if in.Count == 0 {
		in.Count = 1
	}
	if in.LastTimestamp.IsZero() {
		in.LastTimestamp = in.FirstTimestamp
	}
	var stored *corev1.Event
	err := s.withLock(ctx, func() error {
		same, names, err := s.findEvent(ns, in)
		if err != nil {
			return err
		}
		if same != nil {
			same.Count += in.Count
			if !in.LastTimestamp.IsZero() {
				same.LastTimestamp = in.LastTimestamp
			}
			if in.Series != nil {
				same.Series = in.Series
			}
			stored = same
		} else {
			if in.Name == "" {
				in.Name = eventName(in, names)
			}
			stored = in
		}
		rv, err := s.nextRV()
		if err != nil {
			return err
		}
		stored.ResourceVersion = rv
		return s.putJSON(Events, ns, stored.Name, stored)
	})
	if err != nil {
		return nil, fmt.Errorf("record event %s of %s/%s: %w", ev.Reason, ns, involved, err)
	}
	return stored, nil
}

// PutEvent stores ev under its name, replacing a stored event of that
// name: the form of a producer that aggregates repeats itself and sends
// the whole event again with its new count (the podworker). An event
// without a name is recorded as RecordEvent records it.
func (s *Store) PutEvent(ctx context.Context, ev *corev1.Event) (*corev1.Event, error) {
	if ev.Name == "" {
		return s.RecordEvent(ctx, ev)
	}
	in := ev.DeepCopy()
	if in.Namespace == "" {
		in.Namespace = in.InvolvedObject.Namespace
	}
	if in.Count == 0 {
		in.Count = 1
	}
	if in.LastTimestamp.IsZero() {
		in.LastTimestamp = in.FirstTimestamp
	}
	if err := checkObject(Events, in.Namespace, in.Name); err != nil {
		return nil, fmt.Errorf("put event %s: %w", in.Reason, err)
	}
	err := s.withLock(ctx, func() error {
		rv, err := s.nextRV()
		if err != nil {
			return err
		}
		in.ResourceVersion = rv
		return s.putJSON(Events, in.Namespace, in.Name, in)
	})
	if err != nil {
		return nil, fmt.Errorf("put event %s of %s/%s: %w", ev.Reason, in.Namespace, in.InvolvedObject.Name, err)
	}
	return in, nil
}

// ListEvents returns the events of ns ("" for all namespaces) by
// namespace then name, which is the order of their first occurrence for
// one object, as the apiserver lists them.
func (s *Store) ListEvents(ctx context.Context, ns string) ([]*corev1.Event, error) {
	return listJSON[corev1.Event](s, ctx, Events, ns)
}

// EventsFor returns the events of the object with uid in ns, as `kubectl
// describe` selects them (involvedObject.uid).
func (s *Store) EventsFor(ctx context.Context, ns string, uid types.UID) ([]corev1.Event, error) {
	all, err := s.ListEvents(ctx, ns)
	if err != nil {
		return nil, err
	}
	var out []corev1.Event
	for _, e := range all {
		if e.InvolvedObject.UID == uid {
			out = append(out, *e)
		}
	}
	return out, nil
}

// findEvent returns the stored event that ev aggregates into, if any, and
// the names of the events stored for ev's involved object. Called with
// the lock held.
func (s *Store) findEvent(ns string, ev *corev1.Event) (*corev1.Event, map[string]bool, error) {
	cands, err := s.eventsNamed(ns, ev.InvolvedObject.Name)
	if err != nil {
		return nil, nil, err
	}
	names := map[string]bool{}
	var same *corev1.Event
	for _, c := range cands {
		names[c.Name] = true
		if same == nil && eventKey(c) == eventKey(ev) && (ev.Name == "" || ev.Name == c.Name) {
			same = c
		}
	}
	return same, names, nil
}

// eventsNamed returns the stored events whose name says they may concern
// an object named involved. Called with the lock held.
func (s *Store) eventsNamed(ns, involved string) ([]*corev1.Event, error) {
	names, err := s.b.list(Events, ns)
	if err != nil {
		return nil, err
	}
	var out []*corev1.Event
	for _, n := range names {
		if !strings.HasPrefix(n, involved+".") {
			continue
		}
		e, err := getJSON[corev1.Event](s, context.Background(), Events, ns, n)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// removeEventsOf removes the events of the object kind ns/name. Called
// with the lock held.
func (s *Store) removeEventsOf(ns, kind, name string) error {
	evs, err := s.eventsNamed(ns, name)
	if err != nil {
		return err
	}
	for _, e := range evs {
		if e.InvolvedObject.Kind == kind && e.InvolvedObject.Name == name {
			if err := s.b.remove(Events, ns, e.Name); err != nil {
				return fmt.Errorf("event %s: %w", e.Name, err)
			}
		}
	}
	return nil
}

// eventIdentity is what makes two events one occurrence repeated: the
// kubelet recorder's aggregation key.
type eventIdentity struct {
	kind, ns, name, apiVersion, fieldPath string
	uid                                   types.UID
	typ, reason, message                  string
	component, host, controller           string
}

func eventKey(e *corev1.Event) eventIdentity {
	o := e.InvolvedObject
	return eventIdentity{
		kind: o.Kind, ns: o.Namespace, name: o.Name, apiVersion: o.APIVersion, fieldPath: o.FieldPath, uid: o.UID,
		typ: e.Type, reason: e.Reason, message: e.Message,
		component: e.Source.Component, host: e.Source.Host, controller: e.ReportingController,
	}
}

// eventName names a new event after its object and first time, as the
// kubelet does, avoiding the names in taken.
func eventName(e *corev1.Event, taken map[string]bool) string {
	t := e.FirstTimestamp.Time
	if t.IsZero() {
		t = e.EventTime.Time
	}
	n := t.UnixNano()
	for {
		name := fmt.Sprintf("%s.%x", e.InvolvedObject.Name, n)
		if !taken[name] {
			return name
		}
		n++
	}
}
