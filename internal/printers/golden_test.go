package printers

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

// checkGolden compares got with testdata/<name>.golden, or rewrites the
// file under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/printers -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// fixture gathers every pod, Job and event of the kubectl golden cases,
// with labels and namespaces varied so that the decorated columns show.
type fixture struct {
	pods   []*corev1.Pod
	jobs   []*batchv1.Job
	events []*corev1.Event
	now    time.Time
}

func loadFixture(t *testing.T) fixture {
	t.Helper()
	var f fixture
	for _, c := range loadGoldenCases(t) {
		if c.now.After(f.now) {
			f.now = c.now
		}
		if c.pod != nil {
			f.pods = append(f.pods, c.pod)
		}
		if c.job != nil {
			f.jobs = append(f.jobs, c.job)
		}
		f.events = append(f.events, eventPtrs(c.events)...)
	}
	for i, p := range f.pods {
		if i%3 == 1 {
			p.Namespace = "team-a"
			if p.Labels == nil {
				p.Labels = map[string]string{}
			}
			p.Labels["app"] = "web"
		}
	}
	return f
}

func TestGoldenTables(t *testing.T) {
	f := loadFixture(t)
	for _, tc := range []struct {
		name  string
		print func(*bytes.Buffer) error
	}{
		{"pods", func(b *bytes.Buffer) error { return PrintPods(b, f.pods, TableOptions{}, f.now) }},
		{"pods-wide-all-namespaces", func(b *bytes.Buffer) error {
			return PrintPods(b, f.pods, TableOptions{Wide: true, WithNamespace: true}, f.now)
		}},
		{"pods-show-labels", func(b *bytes.Buffer) error {
			return PrintPods(b, f.pods[:4], TableOptions{ShowLabels: true}, f.now)
		}},
		{"pods-label-columns-no-headers", func(b *bytes.Buffer) error {
			return PrintPods(b, f.pods[:4], TableOptions{ColumnLabels: []string{"app", "job-name"}, NoHeaders: true}, f.now)
		}},
		{"jobs", func(b *bytes.Buffer) error { return PrintJobs(b, f.jobs, TableOptions{}, f.now) }},
		{"jobs-wide", func(b *bytes.Buffer) error { return PrintJobs(b, f.jobs, TableOptions{Wide: true}, f.now) }},
		{"events", func(b *bytes.Buffer) error { return PrintEvents(b, f.events[:12], TableOptions{}, f.now) }},
		{"events-wide", func(b *bytes.Buffer) error { return PrintEvents(b, f.events[:12], TableOptions{Wide: true}, f.now) }},
		{"pods-empty", func(b *bytes.Buffer) error { return PrintPods(b, nil, TableOptions{}, f.now) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.print(&b); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.name, b.Bytes())
		})
	}
}

// TestTablePrinterWatch checks the `get -w` behaviour: one header, widths
// kept across batches.
func TestTablePrinterWatch(t *testing.T) {
	f := loadFixture(t)
	var b bytes.Buffer
	p := NewTablePrinter(&b, TableOptions{})
	for i, pod := range f.pods[:5] {
		if err := p.Pods([]*corev1.Pod{pod}, f.now.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	checkGolden(t, "pods-watch", b.Bytes())
}

func TestGoldenOutputFormats(t *testing.T) {
	f := loadFixture(t)
	pods := objects(f.pods[0], f.pods[1])
	for _, tc := range []struct {
		name string
		opts OutputOptions
		objs []runtime.Object
	}{
		{"pod-yaml", OutputOptions{Format: "yaml", SingleItem: true}, objects(f.pods[0])},
		{"pods-yaml-list", OutputOptions{Format: "yaml"}, pods},
		{"pods-name", OutputOptions{Format: "name"}, pods},
		{"jobs-name", OutputOptions{Format: "name"}, objects(f.jobs...)},
		{"pods-jsonpath", OutputOptions{Format: `jsonpath={range .items[*]}{.metadata.name}{"\t"}{.status.phase}{"\n"}{end}`}, pods},
		{"pod-jsonpath-single", OutputOptions{Format: "jsonpath={.status.containerStatuses[*].restartCount}", SingleItem: true}, objects(f.pods[0])},
		{"pods-jsonpath-as-json", OutputOptions{Format: "jsonpath-as-json={.items[*].metadata.name}"}, pods},
		{"pods-custom-columns", OutputOptions{Format: "custom-columns=NAME:.metadata.name,PHASE:status.phase,RESTARTS:{.status.containerStatuses[*].restartCount},NODE:{.spec.nodeName},MISSING:.status.nominatedNodeName"}, pods},
		{"pods-custom-columns-no-headers", OutputOptions{Format: "custom-columns=NAME:.metadata.name", NoHeaders: true}, pods},
		{"pods-go-template", OutputOptions{Format: `go-template={{range .items}}{{.metadata.name}} {{.metadata.uid}}{{"\n"}}{{end}}`}, pods},
		{"pod-json-list-of-one", OutputOptions{Format: "json"}, objects(f.pods[0])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := PrintObjects(&b, tc.objs, tc.opts); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.name, b.Bytes())
		})
	}
}

func withTZ(now time.Time, zone string) time.Time { return now.In(time.FixedZone(zone, 2*3600)) }

// TestDescribeInNowLocation checks that absolute times follow now's zone,
// not the process's.
func TestDescribeInNowLocation(t *testing.T) {
	f := loadFixture(t)
	pod := f.pods[0]
	var b bytes.Buffer
	if err := DescribePod(&b, pod, nil, withTZ(f.now, "EET")); err != nil {
		t.Fatal(err)
	}
	want := "Start Time:       " + pod.Status.StartTime.In(time.FixedZone("EET", 2*3600)).Format(time.RFC1123Z) + "\n"
	if !bytes.Contains(b.Bytes(), []byte(want)) {
		t.Errorf("describe output lacks %q:\n%s", want, b.String())
	}
	if name, _ := pod.Status.StartTime.Zone(); name == "EET" {
		t.Errorf("DescribePod modified its argument")
	}
	checkGolden(t, "describe-no-events-eet", b.Bytes())
}

// TestDescribeJobRunning covers a Job without completion time or events.
func TestDescribeJobRunning(t *testing.T) {
	f := loadFixture(t)
	job := f.jobs[0].DeepCopy()
	job.Status.CompletionTime = nil
	job.Status.Conditions = nil
	job.Status.Active, job.Status.Succeeded = 1, 0
	job.DeletionTimestamp = &metav1.Time{Time: f.now.Add(-time.Second)}
	var b bytes.Buffer
	if err := DescribeJob(&b, job, nil, f.now); err != nil {
		t.Fatal(err)
	}
	if err := PrintJobs(&b, []*batchv1.Job{job}, TableOptions{}, f.now); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "job-running-terminating", b.Bytes())
}

// TestJSONRoundTrip checks that -o json of every pod decodes back into the
// same corev1.Pod, singly and inside a List.
func TestJSONRoundTrip(t *testing.T) {
	f := loadFixture(t)
	for _, pod := range f.pods {
		var b bytes.Buffer
		if err := PrintObjects(&b, objects(pod), OutputOptions{Format: "json", SingleItem: true}); err != nil {
			t.Fatal(err)
		}
		var got corev1.Pod
		if err := json.Unmarshal(b.Bytes(), &got); err != nil {
			t.Fatalf("decode -o json of %s: %v", pod.Name, err)
		}
		if diff := cmp.Diff(pod, &got); diff != "" {
			t.Errorf("pod %s changed through -o json (-want +got):\n%s", pod.Name, diff)
		}
	}
	var b bytes.Buffer
	if err := PrintObjects(&b, objects(f.pods...), OutputOptions{Format: "json"}); err != nil {
		t.Fatal(err)
	}
	var list corev1.PodList
	if err := json.Unmarshal(b.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != len(f.pods) {
		t.Fatalf("List holds %d pods, want %d", len(list.Items), len(f.pods))
	}
	for i := range list.Items {
		if diff := cmp.Diff(f.pods[i], &list.Items[i]); diff != "" {
			t.Errorf("pod %d changed through -o json List (-want +got):\n%s", i, diff)
		}
	}
}

// TestDescribeTerminatingLasts checks "Terminating (lasts X)" for a
// deletion in the past, measured at now rather than on the wall clock.
func TestDescribeTerminatingLasts(t *testing.T) {
	f := loadFixture(t)
	var pod *corev1.Pod
	for _, p := range f.pods {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			pod = p.DeepCopy()
			break
		}
	}
	if pod == nil {
		t.Fatal("no running pod in the fixture")
	}
	grace := int64(30)
	pod.DeletionTimestamp = &metav1.Time{Time: f.now.Add(-75 * time.Second)}
	pod.DeletionGracePeriodSeconds = &grace
	var b bytes.Buffer
	if err := DescribePod(&b, pod, nil, f.now); err != nil {
		t.Fatal(err)
	}
	if want := "Status:                    Terminating (lasts 75s)\n"; !bytes.Contains(b.Bytes(), []byte(want)) {
		t.Errorf("describe lacks %q:\n%s", want, b.String())
	}
	checkGolden(t, "describe-terminating-lasts", b.Bytes())
}
