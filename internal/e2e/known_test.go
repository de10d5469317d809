package e2e

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// knownFailures are failures of scenarios that run, caused by a bug
// outside this package, each with its diagnosis (reported to the owners)
// and the failures it covers; any other failure of the scenario is still
// an error. A known failure that no longer shows fails the test so that
// it gets removed from here.
var knownFailures = map[string]knownFailure{}

// knownFailure is a diagnosed failure of one scenario.
type knownFailure struct {
	why    string
	covers func(fail string) bool
}

func containsAll(parts ...string) func(string) bool {
	return func(s string) bool {
		for _, p := range parts {
			if !strings.Contains(s, p) {
				return false
			}
		}
		return true
	}
}

// Diagnoses of the known failures.
const (
	// markSameSecond: a marker line has whole-second precision
	// ("<epoch-seconds> <token>"); conformance.Check compares it as the
	// start of its second in order/gaps, so an event in the same second
	// but later than the full second (delete at 12:00:30.198, preStop
	// mark written at 12:00:30.xxx, recorded as 12:00:30.000) fails
	// [delete, mark]. Only such same-second conflicts are excused.
	markSameSecond = "conformance.Check compares whole-second marks as the start of their second (order within the same second)"
)

// markOrder matches an order failure between an event and a mark.
var markOrder = regexp.MustCompile(`^order: (\S+) \((\d\d:\d\d:\d\d)\.\d+\) must not be after (\S+) \((\d\d:\d\d:\d\d)\.\d+\)$`)

// excused returns the diagnosis of a failure caused by a known bug
// outside this package: the scenario's known failure, or an order
// between an event and a mark that lie in the same second.
func excused(scenario, fail string) (string, bool) {
	if kf, ok := knownFailures[scenario]; ok && kf.covers(fail) {
		return kf.why, true
	}
	if m := markOrder.FindStringSubmatch(fail); m != nil && m[2] == m[4] &&
		(strings.HasPrefix(m[1], "mark:") || strings.HasPrefix(m[3], "mark:")) {
		return markSameSecond, true
	}
	return "", false
}

// report fails t with every failure of res that no known failure covers,
// then skips it naming the known failures, if any; a known failure of
// name that no longer shows is an error.
func report(t *testing.T, name string, res childResult) {
	t.Helper()
	var known []string
	for _, f := range res.Fails {
		if why, ok := excused(name, f); ok {
			known = append(known, f+"\n    known: "+why)
			continue
		}
		t.Error(f)
	}
	if kf, ok := knownFailures[name]; ok && !slices.ContainsFunc(res.Fails, kf.covers) {
		t.Errorf("listed as a known failure (%s) but it no longer fails so: remove it from knownFailures", kf.why)
	}
	if t.Failed() {
		t.Log(res.Detail)
		return
	}
	if len(known) > 0 {
		t.Skipf("known failures only:\n%s", strings.Join(known, "\n"))
	}
}
