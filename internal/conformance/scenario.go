package conformance

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// Scenario is one conformance file: a manifest and its expectations.
type Scenario struct {
	// Name is the file name without .yaml (001-init-serial-never).
	Name string
	// File is the path it was read from.
	File string
	// Kind is the manifest's kind: Pod or Job.
	Kind string
	// Pod is set for a Pod manifest; Job for a batch/v1 Job.
	Pod *corev1.Pod
	Job *batchv1.Job
	// Manifest is the first document as written.
	Manifest []byte
	Expect   Expect
}

// Expect is the expect block (INDEX.md "expect vocabulary").
type Expect struct {
	TimeoutSeconds float64                   `json:"timeoutSeconds,omitempty"`
	StopWhen       string                    `json:"stopWhen,omitempty"`
	FeatureGates   map[string]bool           `json:"featureGates,omitempty"`
	Optional       string                    `json:"optional,omitempty"`
	Static         bool                      `json:"static,omitempty"`
	Actions        []Action                  `json:"actions,omitempty"`
	Order          [][]string                `json:"order,omitempty"`
	Overlap        [][]string                `json:"overlap,omitempty"`
	Simultaneous   [][]string                `json:"simultaneous,omitempty"`
	During         []During                  `json:"during,omitempty"`
	Gaps           []Gap                     `json:"gaps,omitempty"`
	NeverStarts    []string                  `json:"neverStarts,omitempty"`
	MarksPresent   []string                  `json:"marksPresent,omitempty"`
	MarksAbsent    []string                  `json:"marksAbsent,omitempty"`
	MarksAfter     []MarksAfter              `json:"marksAfter,omitempty"`
	Invariant      *PodFacts                 `json:"invariant,omitempty"`
	Containers     map[string]ContainerFacts `json:"containers,omitempty"`
	Snapshots      []Snapshot                `json:"snapshots,omitempty"`
	Pod            *PodFacts                 `json:"pod,omitempty"`
	// Job, Pods and the validation keys are kept raw: Job and validation
	// scenarios are checked elsewhere.
	Job             map[string]any   `json:"job,omitempty"`
	Pods            map[string]any   `json:"pods,omitempty"`
	Rejected        *bool            `json:"rejected,omitempty"`
	Errors          []map[string]any `json:"errors,omitempty"`
	MessageContains any              `json:"messageContains,omitempty"`
	Variants        []Variant        `json:"variants,omitempty"`
	Notes           any              `json:"notes,omitempty"`
	// The static resource keys (059) are checked by internal/analysis.
	EffectiveRequests                map[string]string `json:"effectiveRequests,omitempty"`
	EffectiveRequestsWithoutOverhead map[string]string `json:"effectiveRequestsWithoutOverhead,omitempty"`
	EffectiveLimits                  map[string]string `json:"effectiveLimits,omitempty"`
	QOSClass                         string            `json:"qosClass,omitempty"`
	Breakdown                        map[string]any    `json:"breakdown,omitempty"`
}

// Action is a harness action: do (delete) DelaySeconds after event After.
type Action struct {
	After              string  `json:"after"`
	DelaySeconds       float64 `json:"delaySeconds,omitempty"`
	Do                 string  `json:"do"`
	GracePeriodSeconds *int64  `json:"gracePeriodSeconds,omitempty"`
}

// During says the listed containers ran when a marker was written.
type During struct {
	Mark    string   `json:"mark"`
	Running []string `json:"running"`
}

// Gap bounds the time from one event to another.
type Gap struct {
	From       string   `json:"from"`
	To         string   `json:"to"`
	MinSeconds *float64 `json:"minSeconds,omitempty"`
	MaxSeconds *float64 `json:"maxSeconds,omitempty"`
}

// MarksAfter says whether Token appears after the first Anchor line.
type MarksAfter struct {
	Anchor  string `json:"anchor"`
	Token   string `json:"token"`
	Present bool   `json:"present"`
}

// ContainerFacts are final per-container facts.
type ContainerFacts struct {
	ExitCode           *int32   `json:"exitCode,omitempty"`
	Reason             string   `json:"reason,omitempty"`
	Restarts           *int32   `json:"restarts,omitempty"`
	RestartsMin        *int32   `json:"restartsMin,omitempty"`
	Attempts           *int     `json:"attempts,omitempty"`
	LastExitCode       *int32   `json:"lastExitCode,omitempty"`
	LastReason         string   `json:"lastReason,omitempty"`
	FirstExitCode      *int32   `json:"firstExitCode,omitempty"`
	FinalState         string   `json:"finalState,omitempty"`
	WaitingReason      string   `json:"waitingReason,omitempty"`
	WaitingReasonOneOf []string `json:"waitingReasonOneOf,omitempty"`
	Ready              *bool    `json:"ready,omitempty"`
	Started            *bool    `json:"started,omitempty"`
}

// PodFacts are assertions on the pod's status at a moment.
type PodFacts struct {
	Phase                 string              `json:"phase,omitempty"`
	PhaseOneOf            []string            `json:"phaseOneOf,omitempty"`
	Reason                string              `json:"reason,omitempty"`
	Conditions            map[string]string   `json:"conditions,omitempty"`
	ConditionReasons      map[string]string   `json:"conditionReasons,omitempty"`
	ConditionMessages     map[string]string   `json:"conditionMessages,omitempty"`
	StatusColumn          string              `json:"statusColumn,omitempty"`
	StatusColumnOneOf     []string            `json:"statusColumnOneOf,omitempty"`
	ReadyColumn           string              `json:"readyColumn,omitempty"`
	RestartsColumn        string              `json:"restartsColumn,omitempty"`
	RestartsColumnPattern string              `json:"restartsColumnPattern,omitempty"`
	Ready                 map[string]bool     `json:"ready,omitempty"`
	Started               map[string]bool     `json:"started,omitempty"`
	WaitingReasons        map[string]string   `json:"waitingReasons,omitempty"`
	WaitingReasonsOneOf   map[string][]string `json:"waitingReasonsOneOf,omitempty"`
}

// Snapshot asserts PodFacts at an event (plus an offset).
type Snapshot struct {
	At string `json:"at"`
	PodFacts
}

// Variant is an alternative setting that must give the same
// expectations except those it overrides (INDEX.md "Variants").
type Variant struct {
	Description   string                    `json:"description,omitempty"`
	RestartPolicy corev1.RestartPolicy      `json:"restartPolicy,omitempty"`
	Actions       []Action                  `json:"actions,omitempty"`
	Gaps          []Gap                     `json:"gaps,omitempty"`
	Pod           *PodFacts                 `json:"pod,omitempty"`
	Containers    map[string]ContainerFacts `json:"containers,omitempty"`
	FeatureGates  map[string]bool           `json:"featureGates,omitempty"`
	Rejected      *bool                     `json:"rejected,omitempty"`
	Job           map[string]any            `json:"job,omitempty"`
}

// Variant returns the scenario of sc's i-th variant, named
// NAME/variant-N, or why it cannot be run from its keys alone. A variant
// runs when it only changes the restartPolicy, the actions or the gaps;
// one that changes the manifest, the gates or the outcome in prose
// (Description) beyond its keys is reported, never guessed.
func (sc *Scenario) Variant(i int) (*Scenario, string) {
	v := sc.Expect.Variants[i]
	switch {
	case sc.Pod == nil:
		return nil, "variant of a non-pod scenario"
	case v.Pod != nil || v.Containers != nil || v.FeatureGates != nil || v.Rejected != nil || v.Job != nil:
		return nil, "the variant changes the outcome beyond restartPolicy, actions and gaps: " + v.Description
	case v.RestartPolicy == "" && v.Actions == nil && v.Gaps == nil:
		return nil, "the variant is described in prose only: " + v.Description
	}
	out := *sc
	out.Name = fmt.Sprintf("%s/variant-%d", sc.Name, i+1)
	out.Pod = sc.Pod.DeepCopy()
	if v.RestartPolicy != "" {
		out.Pod.Spec.RestartPolicy = v.RestartPolicy
		out.Name += "-" + string(v.RestartPolicy)
	}
	if v.Actions != nil {
		out.Expect.Actions = v.Actions
	}
	if v.Gaps != nil {
		out.Expect.Gaps = v.Gaps
	}
	out.Expect.Variants = nil
	return &out, ""
}

// Load reads one scenario file.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	docs := splitDocuments(data)
	if len(docs) != 2 {
		return nil, fmt.Errorf("scenario %s: %d YAML documents, want 2 (manifest, expect)", path, len(docs))
	}
	sc := &Scenario{Name: strings.TrimSuffix(filepath.Base(path), ".yaml"), File: path, Manifest: docs[0]}
	var meta struct {
		Kind string `json:"kind"`
	}
	if err := yaml.Unmarshal(docs[0], &meta); err != nil {
		return nil, fmt.Errorf("scenario %s: manifest: %w", path, err)
	}
	sc.Kind = meta.Kind
	switch meta.Kind {
	case "Pod":
		sc.Pod = &corev1.Pod{}
		if err := yaml.Unmarshal(docs[0], sc.Pod); err != nil {
			return nil, fmt.Errorf("scenario %s: pod: %w", path, err)
		}
	case "Job":
		sc.Job = &batchv1.Job{}
		if err := yaml.Unmarshal(docs[0], sc.Job); err != nil {
			return nil, fmt.Errorf("scenario %s: job: %w", path, err)
		}
	}
	var wrap struct {
		Expect Expect `json:"expect"`
	}
	if err := yaml.UnmarshalStrict(docs[1], &wrap); err != nil {
		return nil, fmt.Errorf("scenario %s: expect block: %w", path, err)
	}
	sc.Expect = wrap.Expect
	return sc, nil
}

// LoadDir reads every NNN-*.yaml scenario of dir, sorted by name.
func LoadDir(dir string) ([]*Scenario, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "[0-9][0-9][0-9]-*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var out []*Scenario
	for _, p := range paths {
		sc, err := Load(p)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, nil
}

// splitDocuments splits a YAML stream at lines that are exactly "---".
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	flush := func() {
		if len(bytes.TrimSpace(stripComments(cur.Bytes()))) > 0 {
			docs = append(docs, append([]byte(nil), cur.Bytes()...))
		}
		cur.Reset()
	}
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		if strings.TrimRight(string(line), " \r\n") == "---" {
			flush()
			continue
		}
		cur.Write(line)
	}
	flush()
	return docs
}

// stripComments drops whole-line comments (to tell empty documents).
func stripComments(b []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			out.Write(line)
			out.WriteByte('\n')
		}
	}
	return out.Bytes()
}
