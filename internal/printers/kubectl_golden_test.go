package printers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/podrun/podrun/internal/sharedtest"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// kubectlGoldenDir returns ../shared/kubectl-golden relative to the module
// root. The data is required: a missing directory fails the test.
func kubectlGoldenDir(t *testing.T) string {
	t.Helper()
	return sharedtest.Dir(t, "kubectl-golden")
}

// goldenCase is one capture of kubectl output with the objects it printed.
type goldenCase struct {
	name      string
	dir       string
	now       time.Time
	pod       *corev1.Pod
	events    []corev1.Event
	job       *batchv1.Job
	jobEvents []corev1.Event
}

func loadGoldenCases(t *testing.T) []goldenCase {
	t.Helper()
	root := kubectlGoldenDir(t)
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c := goldenCase{name: e.Name(), dir: filepath.Join(root, e.Name())}
		raw := readFile(t, filepath.Join(c.dir, "now.txt"))
		c.now, err = time.Parse(time.RFC3339Nano, strings.TrimSpace(string(raw)))
		if err != nil {
			t.Fatalf("%s: now.txt: %v", c.name, err)
		}
		c.now = c.now.UTC()
		if decodeOptional(t, filepath.Join(c.dir, "pod.json"), &c.pod) {
			var list corev1.EventList
			decodeOptional(t, filepath.Join(c.dir, "events.json"), &list)
			c.events = list.Items
		}
		if decodeOptional(t, filepath.Join(c.dir, "job.json"), &c.job) {
			var list corev1.EventList
			decodeOptional(t, filepath.Join(c.dir, "job-events.json"), &list)
			c.jobEvents = list.Items
		}
		cases = append(cases, c)
	}
	if len(cases) == 0 {
		t.Fatalf("no cases in %s", root)
	}
	return cases
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeOptional decodes path into v and reports whether the file exists.
func decodeOptional(t *testing.T, path string, v any) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return true
}

func eventPtrs(evs []corev1.Event) []*corev1.Event {
	out := make([]*corev1.Event, len(evs))
	for i := range evs {
		out[i] = &evs[i]
	}
	return out
}

// TestKubectlGolden renders every captured case at its capture time and
// compares with what kubectl 1.37.2 printed, byte for byte.
func TestKubectlGolden(t *testing.T) {
	type render func(c goldenCase, buf *bytes.Buffer) error
	printers := []struct {
		file string
		skip func(c goldenCase) bool
		render
	}{
		{"get.txt", noPod, func(c goldenCase, b *bytes.Buffer) error {
			return PrintPods(b, []*corev1.Pod{c.pod}, TableOptions{}, c.now)
		}},
		{"get-wide.txt", noPod, func(c goldenCase, b *bytes.Buffer) error {
			return PrintPods(b, []*corev1.Pod{c.pod}, TableOptions{Wide: true}, c.now)
		}},
		{"describe.txt", noPod, func(c goldenCase, b *bytes.Buffer) error {
			return DescribePod(b, c.pod, c.events, c.now)
		}},
		{"get-events.txt", noPod, func(c goldenCase, b *bytes.Buffer) error {
			return PrintEvents(b, eventPtrs(c.events), TableOptions{}, c.now)
		}},
		{"get-job.txt", noJob, func(c goldenCase, b *bytes.Buffer) error {
			return PrintJobs(b, []*batchv1.Job{c.job}, TableOptions{}, c.now)
		}},
		{"describe-job.txt", noJob, func(c goldenCase, b *bytes.Buffer) error {
			return DescribeJob(b, c.job, c.jobEvents, c.now)
		}},
		{"pod.json", noPod, func(c goldenCase, b *bytes.Buffer) error {
			return PrintObjects(b, objects(c.pod), OutputOptions{Format: "json", SingleItem: true})
		}},
		{"job.json", noJob, func(c goldenCase, b *bytes.Buffer) error {
			return PrintObjects(b, objects(c.job), OutputOptions{Format: "json", SingleItem: true})
		}},
		{"events.json", noPod, func(c goldenCase, b *bytes.Buffer) error {
			return PrintObjects(b, objects(eventPtrs(c.events)...), OutputOptions{Format: "json"})
		}},
	}
	compared := map[string]int{}
	for _, c := range loadGoldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			for _, p := range printers {
				want, err := os.ReadFile(filepath.Join(c.dir, p.file))
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if p.skip(c) {
					t.Errorf("%s exists but its objects were not loaded", p.file)
					continue
				}
				var got bytes.Buffer
				if err := p.render(c, &got); err != nil {
					t.Errorf("%s: %v", p.file, err)
					continue
				}
				compared[p.file]++
				if diff := cmp.Diff(string(want), got.String()); diff != "" {
					t.Errorf("%s mismatch at now=%s (-kubectl +podrun):\n%s", p.file, c.now.Format(time.RFC3339Nano), diff)
				}
			}
		})
	}
	// Every kind of file the README lists must have been compared.
	for _, f := range []string{"get.txt", "get-wide.txt", "describe.txt", "get-events.txt", "get-job.txt", "describe-job.txt"} {
		if compared[f] == 0 {
			t.Errorf("no case exercised %s", f)
		}
	}
}

func noPod(c goldenCase) bool { return c.pod == nil }
func noJob(c goldenCase) bool { return c.job == nil }

// objects converts typed objects to the []runtime.Object PrintObjects takes.
func objects[T runtime.Object](xs ...T) []runtime.Object {
	out := make([]runtime.Object, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}
