package podworkertest

import (
	"context"
	"encoding/json"
	"sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/podworker"
)

var _ podworker.Store = (*MemoryStore)(nil)

// MemoryStore is a podworker.Store in memory. It keeps every status saved
// (for tests that look at the sequence), the events by name in arrival
// order, and the last record.
type MemoryStore struct {
	mu       sync.Mutex
	statuses []corev1.PodStatus
	events   []corev1.Event
	byName   map[string]int
	record   []byte
	checkpt  []byte
	// Err, when set, is returned by every method.
	Err error
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore { return &MemoryStore{byName: map[string]int{}} }

// SaveStatus appends status.
func (s *MemoryStore) SaveStatus(ctx context.Context, pod *corev1.Pod, status corev1.PodStatus) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return s.Err
	}
	s.statuses = append(s.statuses, *status.DeepCopy())
	return nil
}

// AppendEvent stores ev, replacing an earlier event of the same name.
func (s *MemoryStore) AppendEvent(ctx context.Context, ev corev1.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return s.Err
	}
	if i, ok := s.byName[ev.Name]; ok {
		s.events[i] = ev
		return nil
	}
	s.byName[ev.Name] = len(s.events)
	s.events = append(s.events, ev)
	return nil
}

// SaveRecord stores a JSON copy of rec.
func (s *MemoryStore) SaveRecord(ctx context.Context, rec *podworker.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return s.Err
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	s.record = b
	return nil
}

// Statuses returns every status saved, oldest first.
func (s *MemoryStore) Statuses() []corev1.PodStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]corev1.PodStatus(nil), s.statuses...)
}

// Events returns the stored events in the order they first arrived.
func (s *MemoryStore) Events() []corev1.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]corev1.Event(nil), s.events...)
}

// Record decodes the last record saved; nil if none.
func (s *MemoryStore) Record() *podworker.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.record == nil {
		return nil
	}
	var r podworker.Record
	if err := json.Unmarshal(s.record, &r); err != nil {
		return nil
	}
	return &r
}

// SaveCheckpoint stores a JSON copy of cp.
func (s *MemoryStore) SaveCheckpoint(ctx context.Context, cp *podworker.Checkpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return s.Err
	}
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	s.checkpt = b
	return nil
}

// Checkpoint returns a copy of the last checkpoint saved, decoded from its
// JSON (as a new process would read it), or nil.
func (s *MemoryStore) Checkpoint() *podworker.Checkpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.checkpt == nil {
		return nil
	}
	var cp podworker.Checkpoint
	if err := json.Unmarshal(s.checkpt, &cp); err != nil {
		panic("podworkertest: checkpoint does not decode: " + err.Error())
	}
	return &cp
}
