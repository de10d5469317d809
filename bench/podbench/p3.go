package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/podrun/podrun/internal/podworker"
)

// p3Result holds the P3 latencies, in milliseconds, one sample per run.
type p3Result struct {
	// ExitToKill is main's finishedAt → the sidecar's Killing event: the
	// executor emits that event, then sends the stop signal, in the same
	// action list, so it is a lower bound of the SIGTERM moment.
	ExitToKill summary
	// ExitToSidecarExit is main's finishedAt → the sidecar's finishedAt
	// (its trap exits at once): an upper bound of the SIGTERM moment.
	ExitToSidecarExit summary
	// SidecarToMainStarted is the sidecar's startedAt → main's startedAt,
	// both as the runtime reported them: it includes building main's
	// bundle and `runc create` + `runc start`.
	SidecarToMainStarted summary
	// SidecarToMainCreate is the sidecar's startedAt → main's createdAt
	// (the moment the executor asked the runtime to create it): the
	// executor's own reaction, without the runtime's work.
	SidecarToMainCreate summary
}

// p3Latencies is one run's figures.
type p3Latencies struct {
	exitToKill, exitToSidecarExit, sidecarToMainStarted, sidecarToMainCreate time.Duration
}

// p3 runs the benchmark pod runs times, one after the other, each under
// its own name, and reads the latencies from the run records.
func (e *env) p3(ctx context.Context, runs int) (p3Result, error) {
	logf, err := os.Create(filepath.Join(e.work, "p3.log"))
	if err != nil {
		return p3Result{}, err
	}
	defer logf.Close()
	var kill, sidecarExit, started, created []float64
	for i := 0; i < runs; i++ {
		name := fmt.Sprintf("bench-p3-%d", i)
		manifest := filepath.Join(e.work, name+".yaml")
		if err := writeManifest(manifest, benchPod(name, `["true"]`)); err != nil {
			return p3Result{}, err
		}
		if _, _, err := timeRun(ctx, e.podrun("run", "-f", manifest), logf); err != nil {
			return p3Result{}, fmt.Errorf("podrun run %s: %w (see %s)", name, err, logf.Name())
		}
		rec, err := e.record(name)
		if err != nil {
			return p3Result{}, err
		}
		l, err := latencies(rec)
		if err != nil {
			return p3Result{}, fmt.Errorf("run record of %s: %w", name, err)
		}
		kill = append(kill, ms(l.exitToKill))
		sidecarExit = append(sidecarExit, ms(l.exitToSidecarExit))
		started = append(started, ms(l.sidecarToMainStarted))
		created = append(created, ms(l.sidecarToMainCreate))
	}
	return p3Result{ExitToKill: summarize(kill), ExitToSidecarExit: summarize(sidecarExit),
		SidecarToMainStarted: summarize(started), SidecarToMainCreate: summarize(created)}, nil
}

// record reads the run record of pod default/name from the state
// directory.
func (e *env) record(name string) (*podworker.Record, error) {
	path := filepath.Join(e.root, "namespaces", "default", "records", name+".json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("run record of %s: %w", name, err)
	}
	rec := &podworker.Record{}
	if err := json.Unmarshal(data, rec); err != nil {
		return nil, fmt.Errorf("run record %s: %w", path, err)
	}
	return rec, nil
}

// latencies computes one run's figures from its record.
func latencies(rec *podworker.Record) (p3Latencies, error) {
	sidecar, err := firstAttempt(rec, "sidecar")
	if err != nil {
		return p3Latencies{}, err
	}
	mainC, err := firstAttempt(rec, "main")
	if err != nil {
		return p3Latencies{}, err
	}
	for _, t := range []*time.Time{sidecar.StartedAt, sidecar.FinishedAt, mainC.CreatedAt, mainC.StartedAt, mainC.FinishedAt} {
		if t == nil {
			return p3Latencies{}, fmt.Errorf("an attempt time is missing (sidecar %+v, main %+v)", sidecar, mainC)
		}
	}
	var killing *time.Time
	for _, ev := range rec.Events {
		if ev.Reason == "Killing" && ev.Object == "spec.initContainers{sidecar}" {
			t := ev.FirstTime
			killing = &t
		}
	}
	if killing == nil {
		return p3Latencies{}, fmt.Errorf("no Killing event for the sidecar")
	}
	return p3Latencies{
		exitToKill:           killing.Sub(*mainC.FinishedAt),
		exitToSidecarExit:    sidecar.FinishedAt.Sub(*mainC.FinishedAt),
		sidecarToMainStarted: mainC.StartedAt.Sub(*sidecar.StartedAt),
		sidecarToMainCreate:  mainC.CreatedAt.Sub(*sidecar.StartedAt),
	}, nil
}

// firstAttempt returns the first attempt of the named container.
func firstAttempt(rec *podworker.Record, name string) (podworker.AttemptRecord, error) {
	for _, c := range rec.Containers {
		if c.Name == name && len(c.Attempts) > 0 {
			return c.Attempts[0], nil
		}
	}
	return podworker.AttemptRecord{}, fmt.Errorf("no attempt of container %q", name)
}
