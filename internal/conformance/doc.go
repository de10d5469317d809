// Package conformance reads the scenario catalog (shared/conformance:
// NNN-name.yaml, a manifest and an expect block in the vocabulary of its
// INDEX.md) and checks an expect block against what a run produced — the
// pod's run record (podworker.Record) and the marker file — independently
// of the runtime, so the fake-runtime scenario tests and the runc
// end-to-end suite share it.
//
//	sc, _ := conformance.Load("009-main-crashloop-backoff-always.yaml")
//	// run sc.Pod, honouring sc.Expect.Actions (DueAt), Stopped, Timeout
//	fails := conformance.Check(sc.Expect, &conformance.Observation{Record: rec, Marks: marks})
//
// Check covers order, overlap, simultaneous, during, gaps, neverStarts,
// marksPresent / marksAbsent / marksAfter, invariant, containers,
// snapshots (the status in force at an event plus an offset, from the
// record's status history) and pod, including the kubectl columns. The
// Job keys (job, pods), validation keys (rejected, errors) and variants
// are parsed but not checked here.
//
// The catalog is copied into testdata/scenarios so tests are hermetic;
// TestCatalogCopyIsCurrent compares it with ../shared/conformance when
// that directory exists.
package conformance
