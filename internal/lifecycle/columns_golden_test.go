package lifecycle

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/podrun/podrun/internal/sharedtest"
	corev1 "k8s.io/api/core/v1"
)

// goldenCase is one folder of ../shared/kubectl-golden with a pod.
type goldenCase struct {
	name string
	dir  string
	pod  *corev1.Pod
	now  time.Time
}

// goldenDir locates ../shared/kubectl-golden from the module root; the
// shared tree is part of the project, so its absence fails the test.
func goldenDir(t *testing.T) string {
	t.Helper()
	return sharedtest.Dir(t, "kubectl-golden")
}

// goldenCases loads every case that has pod.json, now.txt and get.txt.
func goldenCases(t *testing.T) []goldenCase {
	t.Helper()
	root := goldenDir(t)
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "pod.json")); err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, "pod.json"))
		if err != nil {
			t.Fatal(err)
		}
		pod := &corev1.Pod{}
		if err := json.Unmarshal(raw, pod); err != nil {
			t.Fatalf("decode %s/pod.json: %v", e.Name(), err)
		}
		nowRaw, err := os.ReadFile(filepath.Join(dir, "now.txt"))
		if err != nil {
			t.Fatal(err)
		}
		now, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(nowRaw)))
		if err != nil {
			t.Fatalf("parse %s/now.txt: %v", e.Name(), err)
		}
		cases = append(cases, goldenCase{name: e.Name(), dir: dir, pod: pod, now: now})
	}
	if len(cases) == 0 {
		t.Fatalf("no golden case with pod.json under %s", root)
	}
	return cases
}

var cellSep = regexp.MustCompile(`\s{2,}`)

// readGetTxt returns the row of `kubectl get pod` in dir as header→cell.
func readGetTxt(t *testing.T, dir string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "get.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%s/get.txt: want a header and one row, got %q", dir, lines)
	}
	header := cellSep.Split(strings.TrimSpace(lines[0]), -1)
	row := cellSep.Split(strings.TrimSpace(lines[1]), -1)
	if len(header) != len(row) {
		t.Fatalf("%s/get.txt: %d headers, %d cells", dir, len(header), len(row))
	}
	cells := map[string]string{}
	for i := range header {
		cells[header[i]] = row[i]
	}
	return cells
}

// TestColumnsGolden checks READY, STATUS, RESTARTS and AGE against what
// kubectl 1.37.2 printed for every golden pod (§10, §17).
func TestColumnsGolden(t *testing.T) {
	for _, gc := range goldenCases(t) {
		t.Run(gc.name, func(t *testing.T) {
			cells := readGetTxt(t, gc.dir)
			want := PodColumns{Ready: cells["READY"], Status: cells["STATUS"], Restarts: cells["RESTARTS"], Age: cells["AGE"]}
			if diff := cmp.Diff(want, Columns(gc.pod, gc.now)); diff != "" {
				t.Errorf("Columns(%s) mismatch (-kubectl +got):\n%s", gc.name, diff)
			}
		})
	}
}
