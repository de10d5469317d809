package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/backend/local"
	"github.com/podrun/podrun/internal/conformance"
	"github.com/podrun/podrun/internal/printers"
)

// jobResult is what a Job run produced.
type jobResult struct {
	job  *batchv1.Job
	pods []*corev1.Pod
	// records are the pods' run records, in the order of pods.
	records  []*conformance.Observation
	timedOut bool
	out      []string
}

// runScenarioJob runs job through local.RunJob until it finishes or the
// scenario's timeout passes (then it is deleted with grace 0).
func (e *env) runScenarioJob(job *batchv1.Job, ex conformance.Expect) *jobResult {
	t := e.t
	t.Helper()
	w := newWatcher()
	deletes := make(chan *int64, 1)
	type ran struct {
		job  *batchv1.Job
		pods []*corev1.Pod
		err  error
	}
	done := make(chan ran, 1)
	go func() {
		j, pods, err := e.local.RunJob(context.Background(), job, local.RunOptions{Watch: w, Delete: deletes})
		done <- ran{j, pods, err}
	}()
	res := &jobResult{}
	var r ran
	select {
	case r = <-done:
	case <-time.After(ex.Timeout()):
		res.timedOut = true
		zero := int64(0)
		deletes <- &zero
		select {
		case r = <-done:
		case <-time.After(2 * time.Minute):
			t.Fatalf("RunJob did not return within 2m of a kill with grace 0")
		}
	}
	if r.err != nil {
		t.Errorf("RunJob: %v", r.err)
	}
	res.job, res.pods, res.out = r.job, r.pods, w.output()
	for _, p := range r.pods {
		var o *conformance.Observation
		if rec := e.record(p.Namespace, p.Name); rec != nil {
			o = &conformance.Observation{Record: rec}
		}
		res.records = append(res.records, o)
	}
	return res
}

// describe prints the Job's status and its pods' records.
func (r *jobResult) describe() string {
	var b strings.Builder
	if r.job != nil {
		st, _ := json.Marshal(r.job.Status)
		fmt.Fprintf(&b, "job %s status %s\n", r.job.Name, st)
	}
	for _, o := range r.records {
		if o != nil {
			b.WriteString(conformance.Describe(o.Record))
		}
	}
	b.WriteString(strings.Join(r.out, "\n"))
	return b.String()
}

// jobFacts are the `job` keys of an expect block.
type jobFacts struct {
	Conditions               map[string]string `json:"conditions"`
	ConditionReasons         map[string]string `json:"conditionReasons"`
	ConditionMessagePatterns map[string]string `json:"conditionMessagePatterns"`
	Succeeded                *int32            `json:"succeeded"`
	Failed                   *int32            `json:"failed"`
	StatusColumn             string            `json:"statusColumn"`
	CompletionsColumn        string            `json:"completionsColumn"`
}

// podsFacts are the `pods` keys: how many pods and what holds for each.
type podsFacts struct {
	Count    *int            `json:"count"`
	CountMin *int            `json:"countMin"`
	Each     json.RawMessage `json:"each"`
}

// reshape converts a raw expect value into a typed one.
func reshape(in any, out any) error {
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, out)
}

// checkJob checks a Job scenario: the job keys on the final Job, the pods
// keys on its pods' run records (each: the expect vocabulary of a pod),
// and the top-level order and gaps, whose events may be Job events
// (job.start, job.condition.TYPE, pod#n.created, pod#n.finished) or
// events of the first pod.
func checkJob(ex conformance.Expect, r *jobResult) []string {
	var fails []string
	failf := func(format string, args ...any) { fails = append(fails, fmt.Sprintf(format, args...)) }
	if r.timedOut {
		failf("job did not finish within %s", ex.Timeout())
	}
	if r.job == nil {
		return append(fails, "no Job returned")
	}
	var jf jobFacts
	if err := reshape(ex.Job, &jf); err != nil {
		return append(fails, fmt.Sprintf("job keys: %v", err))
	}
	fails = append(fails, jf.check(r.job)...)

	var pf podsFacts
	if err := reshape(ex.Pods, &pf); err != nil {
		return append(fails, fmt.Sprintf("pods keys: %v", err))
	}
	n := len(r.pods)
	if pf.Count != nil && n != *pf.Count {
		failf("pods.count: %d, want %d", n, *pf.Count)
	}
	if pf.CountMin != nil && n < *pf.CountMin {
		failf("pods.countMin: %d pods, want at least %d", n, *pf.CountMin)
	}
	if len(pf.Each) > 0 {
		var each conformance.Expect
		var facts conformance.PodFacts
		if err := json.Unmarshal(pf.Each, &each); err != nil {
			return append(fails, fmt.Sprintf("pods.each: %v", err))
		}
		if err := json.Unmarshal(pf.Each, &facts); err != nil {
			return append(fails, fmt.Sprintf("pods.each: %v", err))
		}
		if !isZeroFacts(facts) {
			each.Pod = &facts
		}
		for i, o := range r.records {
			if o == nil {
				failf("pod#%d %s: no run record", i+1, r.pods[i].Name)
				continue
			}
			for _, f := range conformance.Check(each, o) {
				failf("pod#%d %s: %s", i+1, r.pods[i].Name, f)
			}
		}
	}

	top := ex
	top.Job, top.Pods, top.Gaps, top.Order = nil, nil, nil, nil
	for _, g := range ex.Gaps {
		from, okF := r.time(g.From, &fails)
		to, okT := r.time(g.To, &fails)
		if !okF || !okT {
			continue
		}
		d := to.Sub(from).Seconds()
		if g.MinSeconds != nil && d < *g.MinSeconds {
			failf("gap %s -> %s: %.3fs, want at least %gs", g.From, g.To, d, *g.MinSeconds)
		}
		if g.MaxSeconds != nil && d > *g.MaxSeconds {
			failf("gap %s -> %s: %.3fs, want at most %gs", g.From, g.To, d, *g.MaxSeconds)
		}
	}
	for _, p := range ex.Order {
		if len(p) != 2 {
			failf("order %v: want a pair", p)
			continue
		}
		a, okA := r.time(p[0], &fails)
		b, okB := r.time(p[1], &fails)
		if okA && okB && a.After(b) {
			failf("order: %s must not be after %s", p[0], p[1])
		}
	}
	if len(r.records) > 0 && r.records[0] != nil {
		fails = append(fails, conformance.Check(top, r.records[0])...)
	}
	return fails
}

// time resolves a top-level event of a Job scenario.
func (r *jobResult) time(ref string, fails *[]string) (time.Time, bool) {
	base, off, _ := strings.Cut(ref, "+")
	base = strings.TrimSpace(base)
	var offset time.Duration
	if strings.TrimSpace(off) != "" {
		d, err := time.ParseDuration(strings.TrimSpace(off))
		if err != nil {
			*fails = append(*fails, fmt.Sprintf("event %q: bad offset: %v", ref, err))
			return time.Time{}, false
		}
		offset = d
	}
	var at time.Time
	switch {
	case base == "job.start":
		if r.job.Status.StartTime != nil {
			at = r.job.Status.StartTime.Time
		}
	case strings.HasPrefix(base, "job.condition."):
		typ := strings.TrimPrefix(base, "job.condition.")
		for _, c := range r.job.Status.Conditions {
			if string(c.Type) == typ && c.Status == corev1.ConditionTrue {
				at = c.LastTransitionTime.Time
			}
		}
	case strings.HasPrefix(base, "pod#"):
		var n int
		var what string
		if _, err := fmt.Sscanf(base, "pod#%d.%s", &n, &what); err != nil || n < 1 {
			*fails = append(*fails, fmt.Sprintf("event %q: want pod#N.created or pod#N.finished", ref))
			return time.Time{}, false
		}
		if n <= len(r.pods) {
			switch what {
			case "created":
				at = r.pods[n-1].CreationTimestamp.Time
			case "finished":
				if o := r.records[n-1]; o != nil && o.Record.FinishedAt != nil {
					at = *o.Record.FinishedAt
				}
			}
		}
	default:
		if len(r.records) == 0 || r.records[0] == nil {
			*fails = append(*fails, fmt.Sprintf("event %q: no pod ran", ref))
			return time.Time{}, false
		}
		t, ok, err := r.records[0].Time(ref)
		if err != nil || !ok {
			*fails = append(*fails, fmt.Sprintf("event %q did not happen (%v)", ref, err))
			return time.Time{}, false
		}
		return t, true
	}
	if at.IsZero() {
		*fails = append(*fails, fmt.Sprintf("event %s never happened", ref))
		return time.Time{}, false
	}
	return at.Add(offset), true
}

// check compares the Job's final status with the facts.
func (f jobFacts) check(j *batchv1.Job) []string {
	var fails []string
	failf := func(format string, args ...any) { fails = append(fails, fmt.Sprintf(format, args...)) }
	cond := func(typ string) *batchv1.JobCondition {
		for i := range j.Status.Conditions {
			if string(j.Status.Conditions[i].Type) == typ {
				return &j.Status.Conditions[i]
			}
		}
		return nil
	}
	for _, typ := range sortedKeys(f.Conditions) {
		got := "<absent>"
		if c := cond(typ); c != nil {
			got = string(c.Status)
		}
		if got != f.Conditions[typ] {
			failf("job.conditions.%s: %s, want %s", typ, got, f.Conditions[typ])
		}
	}
	for _, typ := range sortedKeys(f.ConditionReasons) {
		got := "<absent>"
		if c := cond(typ); c != nil {
			got = c.Reason
		}
		if got != f.ConditionReasons[typ] {
			failf("job.conditionReasons.%s: %s, want %s", typ, got, f.ConditionReasons[typ])
		}
	}
	for _, typ := range sortedKeys(f.ConditionMessagePatterns) {
		re, err := regexp.Compile(f.ConditionMessagePatterns[typ])
		if err != nil {
			failf("job.conditionMessagePatterns.%s: %v", typ, err)
			continue
		}
		got := "<absent>"
		if c := cond(typ); c != nil {
			got = c.Message
		}
		if !re.MatchString(got) {
			failf("job.conditionMessagePatterns.%s: %q does not match %s", typ, got, re)
		}
	}
	if f.Succeeded != nil && j.Status.Succeeded != *f.Succeeded {
		failf("job.succeeded: %d, want %d", j.Status.Succeeded, *f.Succeeded)
	}
	if f.Failed != nil && j.Status.Failed != *f.Failed {
		failf("job.failed: %d, want %d", j.Status.Failed, *f.Failed)
	}
	if f.StatusColumn != "" || f.CompletionsColumn != "" {
		row := printers.JobTable([]*batchv1.Job{j}, time.Now()).Rows[0].Cells
		if got := fmt.Sprint(row[1]); f.StatusColumn != "" && got != f.StatusColumn {
			failf("job STATUS %q, want %q", got, f.StatusColumn)
		}
		if got := fmt.Sprint(row[2]); f.CompletionsColumn != "" && got != f.CompletionsColumn {
			failf("job COMPLETIONS %q, want %q", got, f.CompletionsColumn)
		}
	}
	return fails
}

// isZeroFacts reports whether no pod fact is set.
func isZeroFacts(f conformance.PodFacts) bool {
	data, _ := json.Marshal(f)
	return string(data) == "{}"
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
