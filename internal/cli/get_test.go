package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/podrun/podrun/internal/sharedtest"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podrun/podrun/internal/store"
)

// update rewrites the golden files of the view commands (get, describe,
// logs, events, wait, timeline): go test ./internal/cli -update.
var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// goldenCase is one capture of ../shared/kubectl-golden: kubectl's output
// with the objects it printed and the time it printed them.
type goldenCase struct {
	name      string
	dir       string
	now       time.Time
	pod       *corev1.Pod
	events    []corev1.Event
	job       *batchv1.Job
	jobEvents []corev1.Event
}

// kubectlGolden loads every case of ../shared/kubectl-golden (beside the
// module root); the data is required.
func kubectlGolden(t *testing.T) map[string]goldenCase {
	t.Helper()
	root := sharedtest.Dir(t, "kubectl-golden")
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatalf("kubectl golden data missing: %v", err)
	}
	cases := map[string]goldenCase{}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c := goldenCase{name: e.Name(), dir: filepath.Join(root, e.Name())}
		raw, err := os.ReadFile(filepath.Join(c.dir, "now.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if c.now, err = time.Parse(time.RFC3339Nano, strings.TrimSpace(string(raw))); err != nil {
			t.Fatalf("%s: now.txt: %v", c.name, err)
		}
		c.now = c.now.UTC()
		if decodeIfExists(t, filepath.Join(c.dir, "pod.json"), &c.pod) {
			var list corev1.EventList
			decodeIfExists(t, filepath.Join(c.dir, "events.json"), &list)
			c.events = list.Items
		}
		if decodeIfExists(t, filepath.Join(c.dir, "job.json"), &c.job) {
			var list corev1.EventList
			decodeIfExists(t, filepath.Join(c.dir, "job-events.json"), &list)
			c.jobEvents = list.Items
		}
		cases[c.name] = c
	}
	return cases
}

// decodeIfExists decodes the JSON file at path into v and reports whether
// the file exists.
func decodeIfExists(t *testing.T, path string, v any) bool {
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

// readGolden returns the content of a kubectl golden file.
func (c goldenCase) file(t *testing.T, name string) (string, bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b), true
}

// fill stores a case's objects (in namespace ns when not empty).
func (c goldenCase) fill(t *testing.T, s *store.Store, ns string) {
	t.Helper()
	ctx := context.Background()
	if c.pod != nil {
		p := c.pod.DeepCopy()
		if ns != "" {
			p.Namespace = ns
		}
		if _, err := s.PutPod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if c.job != nil {
		j := c.job.DeepCopy()
		if ns != "" {
			j.Namespace = ns
		}
		if _, err := s.PutJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	for _, evs := range [][]corev1.Event{c.events, c.jobEvents} {
		for _, e := range evs {
			e := e.DeepCopy()
			if ns != "" {
				e.Namespace, e.InvolvedObject.Namespace = ns, ns
			}
			if _, err := s.RecordEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// newTestStore opens a state directory in a temporary directory.
func newTestStore(t *testing.T) (*store.Store, *globalOptions) {
	t.Helper()
	root := t.TempDir()
	s, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	return s, &globalOptions{root: root}
}

// viewCommand builds one view command with a clock.
type viewCommand func(g *globalOptions, streams Streams, clk clock.Clock) *cobra.Command

// result is what a command printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// execute runs a view command with args and returns what it printed and
// the exit code Main would return.
func execute(t *testing.T, ctx context.Context, newCmd viewCommand, g *globalOptions, clk clock.Clock, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	err := executeTo(ctx, newCmd, g, clk, Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, args...)
	code := exitCode(err, &errOut)
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// executeTo runs a view command writing to streams.
func executeTo(ctx context.Context, newCmd viewCommand, g *globalOptions, clk clock.Clock, streams Streams, args ...string) error {
	cmd := newCmd(g, streams, clk)
	if args == nil {
		args = []string{} // not os.Args
	}
	cmd.SetArgs(args)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	return cmd.ExecuteContext(ctx)
}

// exitCode maps err to Main's exit code, printing it as Main does.
func exitCode(err error, errOut io.Writer) int {
	if err == nil {
		return ExitOK
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		if exit.Err != nil {
			fmt.Fprintf(errOut, "error: %v\n", exit.Err)
		}
		return exit.Code
	}
	fmt.Fprintf(errOut, "error: %v\n", err)
	if isUsageError(err) {
		return ExitInput
	}
	return ExitRuntime
}

// transcript renders a run as a golden file section.
func transcript(verb string, args []string, r result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "$ podrun %s\n", strings.Join(append([]string{verb}, args...), " "))
	b.WriteString(r.stdout)
	if r.stderr != "" {
		fmt.Fprintf(&b, "--- stderr\n%s", r.stderr)
	}
	fmt.Fprintf(&b, "--- exit %d\n\n", r.code)
	return b.String()
}

// checkGolden compares got with testdata/<path>, rewriting it with -update.
func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	path = filepath.Join("testdata", path)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// TestGetMatchesKubectl stores each captured object and runs podrun get at
// the capture time: the output must be kubectl's, byte for byte.
func TestGetMatchesKubectl(t *testing.T) {
	compared := 0
	for _, c := range kubectlGolden(t) {
		t.Run(c.name, func(t *testing.T) {
			s, g := newTestStore(t)
			c.fill(t, s, "")
			clk := clocktesting.NewFakeClock(c.now)
			var runs []struct {
				file string
				args []string
			}
			add := func(file string, args ...string) {
				runs = append(runs, struct {
					file string
					args []string
				}{file, args})
			}
			if c.pod != nil {
				add("get.txt", "pods", c.pod.Name)
				add("get-wide.txt", "pod", c.pod.Name, "-o", "wide")
				add("get-events.txt", "events")
			}
			if c.job != nil {
				add("get-job.txt", "jobs", c.job.Name)
			}
			for _, r := range runs {
				want, ok := c.file(t, r.file)
				if !ok {
					continue
				}
				compared++
				got := execute(t, t.Context(), getCommand, g, clk, r.args...)
				if got.code != 0 || got.stderr != "" {
					t.Errorf("get %v: exit %d, stderr %q", r.args, got.code, got.stderr)
				}
				if diff := cmp.Diff(want, got.stdout); diff != "" {
					t.Errorf("podrun get %s vs kubectl's %s (-kubectl +podrun):\n%s", strings.Join(r.args, " "), r.file, diff)
				}
			}
		})
	}
	if compared < 40 {
		t.Errorf("only %d outputs compared with kubectl's", compared)
	}
}

// viewFixture is a store holding several captured pods and Jobs (one in
// namespace "other") at a fixed now, for podrun's own golden files.
func viewFixture(t *testing.T) (*store.Store, *globalOptions, *clocktesting.FakeClock) {
	t.Helper()
	cases := kubectlGolden(t)
	s, g := newTestStore(t)
	for _, name := range []string{
		"job-complete-sidecar", "job-failed-podfailurepolicy", "pod-crashloop-error-restarts",
		"pod-failed-init-error", "pod-init-errimagepull", "pod-notready", "pod-running-2of2-sidecar",
	} {
		cases[name].fill(t, s, "")
	}
	cases["pod-running-sidecar-crashed"].fill(t, s, "other")
	return s, g, clocktesting.NewFakeClock(time.Date(2026, 12, 3, 17, 30, 0, 0, time.UTC))
}

// TestGetTranscript covers get's arguments, flags and errors.
func TestGetTranscript(t *testing.T) {
	_, g, clk := viewFixture(t)
	_, empty := newTestStore(t)
	var b strings.Builder
	for _, tc := range []struct {
		g    *globalOptions
		args []string
	}{
		{g, []string{"pods"}},
		{g, []string{"po", "-A"}},
		{g, []string{"pods", "-n", "other", "-o", "wide"}},
		{g, []string{"jobs"}},
		{g, []string{"job.batch", "-o", "wide"}},
		{g, []string{"pods,jobs"}},
		{g, []string{"pod/c009-crashloop", "job/c053-job-sidecar"}},
		{g, []string{"pod/c009-crashloop"}},
		{g, []string{"pods", "-l", "job-name=c053-job-sidecar"}},
		{g, []string{"pods", "-l", "job-name", "--show-labels"}},
		{g, []string{"pods", "-L", "job-name"}},
		{g, []string{"pods", "--no-headers"}},
		{g, []string{"pods", "-o", "name"}},
		{g, []string{"pods,jobs", "-o", "name"}},
		{g, []string{"all"}},
		{g, []string{"all", "-n", "other"}},
		{empty, []string{"all"}},
		{g, []string{"pods", "c009-crashloop", "-o", "jsonpath={.status.phase}"}},
		{g, []string{"pods", "-o", "jsonpath={range .items[*]}{.metadata.name} {.status.phase}{\"\\n\"}{end}"}},
		{g, []string{"pods", "-o", "custom-columns=NAME:.metadata.name,NODE:.spec.nodeName"}},
		{g, []string{"pods", "c009-crashloop", "missing", "c008-poststart-blocks"}},
		{g, []string{"pod", "missing"}},
		{g, []string{"job", "missing"}},
		{g, []string{"pod", "missing", "-o", "json"}},
		{g, []string{"pods", "-n", "empty"}},
		{g, []string{"pods", "-A", "-l", "app=none"}},
		{empty, []string{"events", "-A"}},
		{g, []string{"events", "-n", "other", "-o", "wide"}},
		{g, []string{"deployments"}},
		{g, []string{}},
		{g, []string{"pods", "x", "-l", "a=b"}},
		{g, []string{"pods", "x", "-A"}},
		{g, []string{"pods", "-l", "a=(b"}},
		{g, []string{"pods", "-o", "bogus"}},
	} {
		b.WriteString(transcript("get", tc.args, execute(t, t.Context(), getCommand, tc.g, clk, tc.args...)))
	}
	checkGolden(t, "get/transcript.txt", b.String())
}

// lineReader collects the lines written to its writer, so a test can wait
// for output instead of sleeping.
type lineReader struct {
	t     *testing.T
	lines chan string
}

func newLineReader(t *testing.T) (*lineReader, io.Writer) {
	pr, pw := io.Pipe()
	l := &lineReader{t: t, lines: make(chan string, 100)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			l.lines <- sc.Text()
		}
		close(l.lines)
	}()
	t.Cleanup(func() { pw.Close(); <-done })
	return l, pw
}

// next returns the next line written; it fails the test if none comes
// within a generous bound (a guard against hanging, not a timing).
func (l *lineReader) next() string {
	l.t.Helper()
	select {
	case line, ok := <-l.lines:
		if !ok {
			l.t.Fatal("output closed while a line was expected")
		}
		return line
	case <-time.After(30 * time.Second):
		l.t.Fatal("no output line within 30s")
		return ""
	}
}

// rest returns the lines written but not yet read.
func (l *lineReader) rest() []string {
	var out []string
	for {
		select {
		case line := <-l.lines:
			out = append(out, line)
		default:
			return out
		}
	}
}

// TestGetJSONRoundTrips checks that get -o json of a stored pod decodes
// back through k8s.io/api into the same pod.
func TestGetJSONRoundTrips(t *testing.T) {
	s, g, clk := viewFixture(t)
	want, err := s.GetPod(t.Context(), "default", "c009-crashloop")
	if err != nil {
		t.Fatal(err)
	}
	r := execute(t, t.Context(), getCommand, g, clk, "pod", "c009-crashloop", "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var got corev1.Pod
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	want.TypeMeta = got.TypeMeta // the store may keep it empty; -o json always sets it
	if got.Kind != "Pod" || got.APIVersion != "v1" {
		t.Errorf("kind/apiVersion = %q/%q, want Pod/v1", got.Kind, got.APIVersion)
	}
	if diff := cmp.Diff(want, &got); diff != "" {
		t.Errorf("pod after -o json (-stored +printed):\n%s", diff)
	}
}

// TestGetWatch runs get -w and changes the store underneath: each change
// prints one row, a deleted pod its last state, and cancelling ends it.
func TestGetWatch(t *testing.T) {
	s, g, clk := viewFixture(t)
	ctx, cancel := context.WithCancel(t.Context())
	lines, out := newLineReader(t)
	done := make(chan error, 1)
	go func() {
		done <- executeTo(ctx, getCommand, g, clk, Streams{Out: out, ErrOut: io.Discard}, "pods", "-w", "-l", "job-name")
	}()
	var got []string
	for range 3 { // the header and two rows: the watch is running
		got = append(got, lines.next())
	}
	bg := context.Background()
	// A change to another kind or to a pod the selector leaves out prints
	// nothing; a change to a watched pod prints its row.
	if err := s.PutRecord(bg, "default", "c009-crashloop", json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdatePod(bg, "default", "c009-crashloop", func(p *corev1.Pod) error { p.Labels = map[string]string{"x": "y"}; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdatePod(bg, "default", "c053-job-sidecar-qcr7r", func(p *corev1.Pod) error {
		deleted := metav1.NewTime(clk.Now().Add(-5 * time.Second))
		p.DeletionTimestamp = &deleted
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got = append(got, lines.next())
	if err := s.DeletePod(bg, "default", "c055-job-pfp-failjob-kdsmd"); err != nil {
		t.Fatal(err)
	}
	got = append(got, lines.next())
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("get -w returned %v after cancel", err)
	}
	if extra := lines.rest(); len(extra) > 0 {
		t.Errorf("unexpected lines after the deletion: %q", extra)
	}
	checkGolden(t, "get/watch.txt", strings.Join(got, "\n")+"\n")
}

// TestViewsRegistered runs the views through podrun's root command: each
// verb is attached, and --root reaches the state directory.
func TestViewsRegistered(t *testing.T) {
	s, g := newTestStore(t)
	if _, err := s.CreatePod(t.Context(), storetestPod("web")); err != nil {
		t.Fatal(err)
	}
	root := NewRootCommand(Streams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard})
	for _, verb := range []string{"get", "describe", "logs", "events", "wait", "timeline"} {
		if c, _, err := root.Find([]string{verb}); err != nil || c.Name() != verb {
			t.Errorf("podrun %s is not registered (found %v, %v)", verb, c, err)
		}
	}
	var out, errOut bytes.Buffer
	code := Main(t.Context(), Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, []string{"--root", g.root, "get", "pods", "-o", "name"})
	if code != 0 || out.String() != "pod/web\n" {
		t.Errorf("podrun --root DIR get pods -o name: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}

func storetestPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "busybox"}}},
	}
}
