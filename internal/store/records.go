package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// PutRecord stores the run record of the pod ns/name: opaque JSON that the
// podworker defines. DeletePod removes it.
func (s *Store) PutRecord(ctx context.Context, ns, name string, rec json.RawMessage) error {
	if err := checkObject(Records, ns, name); err != nil {
		return err
	}
	if !json.Valid(rec) {
		return fmt.Errorf("put record %s/%s: not valid JSON: %w", ns, name, ErrInvalid)
	}
	return s.withLock(ctx, func() error {
		if err := s.b.write(Records, ns, name, rec); err != nil {
			return fmt.Errorf("put record %s/%s: %w", ns, name, err)
		}
		return nil
	})
}

// GetRecord returns the run record of the pod ns/name, or ErrNotFound.
func (s *Store) GetRecord(ctx context.Context, ns, name string) (json.RawMessage, error) {
	if err := checkObject(Records, ns, name); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := s.b.read(Records, ns, name)
	if err != nil {
		return nil, fmt.Errorf("get record %s/%s: %w", ns, name, err)
	}
	return json.RawMessage(data), nil
}

// PutCheckpoint stores the executor checkpoint of the pod ns/name: opaque
// JSON that the podworker defines. DeletePod removes it. Writing it wakes
// no watcher.
func (s *Store) PutCheckpoint(ctx context.Context, ns, name string, cp json.RawMessage) error {
	if err := checkObject(Checkpoints, ns, name); err != nil {
		return err
	}
	if !json.Valid(cp) {
		return fmt.Errorf("put checkpoint %s/%s: not valid JSON: %w", ns, name, ErrInvalid)
	}
	return s.withLock(ctx, func() error {
		if err := s.b.write(Checkpoints, ns, name, cp); err != nil {
			return fmt.Errorf("put checkpoint %s/%s: %w", ns, name, err)
		}
		return nil
	})
}

// GetCheckpoint returns the executor checkpoint of the pod ns/name, or
// ErrNotFound.
func (s *Store) GetCheckpoint(ctx context.Context, ns, name string) (json.RawMessage, error) {
	if err := checkObject(Checkpoints, ns, name); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := s.b.read(Checkpoints, ns, name)
	if err != nil {
		return nil, fmt.Errorf("get checkpoint %s/%s: %w", ns, name, err)
	}
	return json.RawMessage(data), nil
}
