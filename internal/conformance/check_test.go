package conformance

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/podrun/podrun/internal/podworker"
)

var t0 = time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC)

func at(sec float64) *time.Time {
	t := t0.Add(time.Duration(sec * float64(time.Second)))
	return &t
}

func code(c int32) *int32 { return &c }

// sampleRecord: sidecar runs 1..20 (exit 0 after SIGTERM), main runs
// 2..12 then exits 1 and again 22..25 exits 0; deleted at 10.
func sampleRecord() *Observation {
	rec := &podworker.Record{
		Name: "p", StartTime: at(0), DeletedAt: at(10), FinishedAt: at(26),
		Containers: []podworker.ContainerRecord{
			{Name: "side", Kind: "sidecar", Attempts: []podworker.AttemptRecord{
				{Attempt: 0, StartedAt: at(1), StartedTrueAt: at(1.5), FinishedAt: at(20), ExitCode: code(0), Reason: "Completed",
					ReadyTransitions: []podworker.ReadyTransition{{At: *at(3), Ready: true}}},
			}},
			{Name: "main", Kind: "regular", Attempts: []podworker.AttemptRecord{
				{Attempt: 0, StartedAt: at(2), FinishedAt: at(12), ExitCode: code(1), Reason: "Error"},
				{Attempt: 1, StartedAt: at(22), FinishedAt: at(25), ExitCode: code(0), Reason: "Completed"},
			}},
			{Name: "never", Kind: "regular", Attempts: []podworker.AttemptRecord{}},
		},
		StatusHistory: []podworker.StatusChange{
			{At: *at(0), Phase: corev1.PodPending, Columns: podworker.Columns{Status: "Init:0/1", Ready: "0/2", Restarts: "0"},
				Containers: []podworker.ContainerState{{Name: "side", State: "waiting", Reason: "PodInitializing"}, {Name: "main", State: "waiting", Reason: "PodInitializing"}}},
			{At: *at(2), Phase: corev1.PodRunning, Columns: podworker.Columns{Status: "Running", Ready: "2/2", Restarts: "0"},
				Conditions: []podworker.ConditionState{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
				Containers: []podworker.ContainerState{{Name: "side", State: "running", Ready: true, Started: true}, {Name: "main", State: "running", Ready: true, Started: true}}},
			{At: *at(26), Phase: corev1.PodSucceeded, Reason: "", Columns: podworker.Columns{Status: "Completed", Ready: "0/2", Restarts: "1 (4s ago)"},
				Conditions: []podworker.ConditionState{{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "PodCompleted", Message: "m"}},
				Containers: []podworker.ContainerState{{Name: "side", State: "terminated", Reason: "Completed"}, {Name: "main", State: "terminated", Reason: "Completed", RestartCount: 1}}},
		},
	}
	return &Observation{Record: rec, Marks: ParseMarks([]string{
		"1796317205 side:prestop", "1796317205 main:prestop", "bad line", "1796317213 main:prestop"})}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name   string
		expect string
		want   []string // failures, in order
	}{
		{name: "order holds", expect: `order: [[side.start, main.start], [main.exit#1, side.exit], ["main.start#last", pod.gone]]`},
		{name: "order broken", expect: `order: [[main.start, side.start]]`,
			want: []string{"order: main.start (17:00:02.000) must not be after side.start (17:00:01.000)"}},
		{name: "order on an event that never happened", expect: `order: [[never.start, main.start]]`,
			want: []string{"order: event never.start never happened"}},
		{name: "overlap", expect: `overlap: [[side, main]]`},
		{name: "no overlap", expect: `overlap: [[side, never]]`, want: []string{"overlap: side and never never ran at the same moment"}},
		{name: "gaps in bounds", expect: `gaps: [{from: "main.exit#1", to: "main.start#2", minSeconds: 9, maxSeconds: 11}]`},
		{name: "gap too short and too long", expect: `gaps: [{from: main.exit#1, to: main.start#2, minSeconds: 11}, {from: delete, to: pod.gone, maxSeconds: 10}]`,
			want: []string{"gap main.exit#1 -> main.start#2: 10.000s, want at least 11s", "gap delete -> pod.gone: 16.000s, want at most 10s"}},
		{name: "neverStarts", expect: `neverStarts: [never, main]`, want: []string{"neverStarts: main started at 17:00:02.000"}},
		{name: "marks", expect: "marksPresent: [side:prestop]\nmarksAbsent: [main:prestop]\nmarksAfter: [{anchor: side:prestop, token: main:prestop, present: true}]",
			want: []string{"marksAbsent: main:prestop is in the marker file"}},
		{name: "simultaneous", expect: `simultaneous: [["mark:side:prestop", "mark:main:prestop"], ["mark:side:prestop", "mark:main:prestop#last"]]`,
			want: []string{"simultaneous [mark:side:prestop mark:main:prestop#last]: spread over 8s, want within 1s"}},
		{name: "during", expect: `during: [{mark: "side:prestop", running: [side, main]}, {mark: "main:prestop#last", running: [main]}]`,
			want: []string{"during mark main:prestop#last (17:00:13.000): main was not running"}},
		{name: "containers", expect: `containers: {main: {exitCode: 0, reason: Completed, restarts: 1, attempts: 2, lastExitCode: 1, lastReason: Error, firstExitCode: 1, finalState: terminated}, side: {restartsMin: 1, ready: true}}`,
			want: []string{"containers.side.restartsMin: 0 restarts, want at least 1", "containers.side.ready: false, want true"}},
		{name: "snapshot at event plus offset", expect: `snapshots: [{at: "main.start + 0.5s", phase: Running, statusColumn: Running, readyColumn: "2/2", ready: {main: true}, started: {side: true}, conditions: {Ready: "True"}}]`},
		{name: "snapshot before any change", expect: `snapshots: [{at: "side.start", phase: Pending, waitingReasons: {main: PodInitializing}, statusColumnOneOf: ["Init:0/1"]}]`},
		{name: "snapshot mismatch", expect: `snapshots: [{at: "side.ready", phase: Pending, readyColumn: "1/2"}]`,
			want: []string{"snapshot at side.ready: phase Running, want Pending (status of 17:00:02.000)", `snapshot at side.ready: READY "2/2", want "1/2" (status of 17:00:02.000)`}},
		{name: "pod final", expect: `pod: {phase: Succeeded, statusColumn: Completed, restartsColumnPattern: "^1 \\([0-9]+s ago\\)$", conditionReasons: {Ready: PodCompleted}, conditionMessages: {Ready: m}}`},
		{name: "pod final mismatch", expect: `pod: {phaseOneOf: [Failed], conditions: {Initialized: "True"}}`,
			want: []string{"pod: phase Succeeded, want one of [Failed] (status of 17:00:26.000)", `pod: conditions.Initialized "<absent>", want "True" (status of 17:00:26.000)`}},
		{name: "invariant", expect: `invariant: {phase: Pending}`,
			want: []string{"invariant at 2026-12-03T17:00:02Z: phase Running, want Pending (status of 17:00:02.000)", "invariant at 2026-12-03T17:00:26Z: phase Succeeded, want Pending (status of 17:00:26.000)"}},
		{name: "bad reference", expect: `order: [[nope.start, main.start]]`, want: []string{`order: event "nope.start": no container "nope" in the pod`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e Expect
			if err := yaml.UnmarshalStrict([]byte(tc.expect), &e); err != nil {
				t.Fatalf("expect %q: %v", tc.expect, err)
			}
			got := Check(e, sampleRecord())
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Check(%s) failures mismatch (-want +got):\n%s", tc.expect, diff)
			}
		})
	}
}

func TestStoppedAndDueAt(t *testing.T) {
	o := sampleRecord()
	for _, tc := range []struct {
		stopWhen string
		now      float64
		want     bool
	}{
		{"main.restarts>=1", 0, true},
		{"main.restarts>=2", 0, false},
		{"main.waitingReason==PodInitializing", 0, false},
		{"side.start + 20s", 20, false},
		{"side.start + 20s", 21, true},
		{"never.ready", 100, false},
		{"main.restarts>=1 && side.start + 20s", 21, true},
		{"main.restarts>=1 && side.start + 20s", 20, false},
	} {
		got, err := Expect{StopWhen: tc.stopWhen}.Stopped(o, *at(tc.now))
		if err != nil || got != tc.want {
			t.Errorf("Stopped(%q) at +%gs = %v, %v; want %v", tc.stopWhen, tc.now, got, err, tc.want)
		}
	}
	due, ok, err := Action{After: "main.start", DelaySeconds: 2, Do: "delete"}.DueAt(o)
	if err != nil || !ok || !due.Equal(*at(4)) {
		t.Errorf("DueAt = %s %v %v, want +4s", due, ok, err)
	}
	if _, ok, _ := (Action{After: "never.start"}).DueAt(o); ok {
		t.Errorf("DueAt of an event that never happened: ok, want not yet")
	}
}

// TestLoadCatalog reads every scenario with the strict expect decoder, so
// a key outside the vocabulary fails here.
func TestLoadCatalog(t *testing.T) {
	scs, err := LoadDir("testdata/scenarios")
	if err != nil {
		t.Fatal(err)
	}
	if len(scs) < 50 {
		t.Errorf("loaded %d scenarios, want the 50 of the catalog", len(scs))
	}
	for _, sc := range scs {
		if (sc.Pod == nil) == (sc.Job == nil) {
			t.Errorf("%s: want exactly one of Pod or Job, kind %q", sc.Name, sc.Kind)
		}
		if sc.Expect.TimeoutSeconds == 0 && !sc.Expect.Static && sc.Expect.Rejected == nil {
			t.Errorf("%s: no timeoutSeconds", sc.Name)
		}
		for _, a := range sc.Expect.Actions {
			if a.Do != "delete" {
				t.Errorf("%s: unknown action %q", sc.Name, a.Do)
			}
		}
		for _, s := range sc.Expect.Snapshots {
			if _, _, err := splitOffset(s.At); err != nil {
				t.Errorf("%s: %v", sc.Name, err)
			}
		}
	}
}

// TestCatalogCopyIsCurrent compares testdata/scenarios with the shared
// catalog when it exists on this machine.
func TestCatalogCopyIsCurrent(t *testing.T) {
	const shared = "/work/shared/conformance"
	shScs, err := LoadDir(shared)
	if err != nil {
		t.Skipf("no shared catalog here (%v); the copy in testdata is used", err)
	}
	ours, err := LoadDir("testdata/scenarios")
	if err != nil {
		t.Fatal(err)
	}
	names := func(scs []*Scenario) string {
		var n []string
		for _, s := range scs {
			n = append(n, s.Name)
		}
		return strings.Join(n, "\n")
	}
	if diff := cmp.Diff(names(shScs), names(ours)); diff != "" {
		t.Errorf("scenario list differs from %s (-shared +copy); run cp %s/*.yaml testdata/scenarios/:\n%s", shared, shared, diff)
	}
	for i := range ours {
		if i < len(shScs) && string(ours[i].Manifest) != string(shScs[i].Manifest) {
			t.Errorf("%s: manifest differs from %s", ours[i].Name, shared)
		}
	}
}

func TestVariants(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string // variant names, or "pending: <prefix>"
	}{
		{"014-sidecar-runs-continuously-never.yaml", []string{"014-sidecar-runs-continuously-never/variant-1-Never", "014-sidecar-runs-continuously-never/variant-2-OnFailure"}},
		{"049-prestop-sleep-action.yaml", []string{"049-prestop-sleep-action/variant-1"}},
		{"052-poststart-failure.yaml", []string{"pending: the variant changes the outcome"}},
		{"064-container-restart-rules.yaml", []string{"pending: the variant changes the outcome", "pending: the variant is described in prose only"}},
	} {
		sc, err := Load(filepath.Join("testdata", "scenarios", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i := range sc.Expect.Variants {
			v, why := sc.Variant(i)
			if v == nil {
				got = append(got, "pending: "+why)
				continue
			}
			got = append(got, v.Name)
			if v.Pod == sc.Pod {
				t.Errorf("%s: variant shares the base pod", v.Name)
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: variants %q, want %q", tc.file, got, tc.want)
			continue
		}
		for i := range got {
			if !strings.HasPrefix(got[i], tc.want[i]) {
				t.Errorf("%s: variant %d = %q, want prefix %q", tc.file, i+1, got[i], tc.want[i])
			}
		}
	}
	sc, _ := Load(filepath.Join("testdata", "scenarios", "049-prestop-sleep-action.yaml"))
	v, _ := sc.Variant(0)
	if g := v.Expect.Actions[0].GracePeriodSeconds; g == nil || *g != 4 {
		t.Errorf("049 variant actions = %+v, want the delete with grace 4", v.Expect.Actions)
	}
	if sc.Expect.Actions[0].GracePeriodSeconds != nil {
		t.Errorf("the variant changed the base scenario's actions")
	}
}

func TestDescribe(t *testing.T) {
	got := Describe(sampleRecord().Record)
	for _, want := range []string{
		"pod /p deleted +10.000s gone +26.000s",
		"main#2 (regular): start +22.000s started - exit +25.000s code 0 Completed",
		"+26.000s Succeeded Completed 0/2 1 (4s ago)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Describe output lacks %q:\n%s", want, got)
		}
	}
	if Describe(nil) != "(no run record)" {
		t.Errorf("Describe(nil) = %q", Describe(nil))
	}
}
