package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/conformance"
	"github.com/podrun/podrun/internal/podworker"
	"github.com/podrun/podrun/internal/store"
)

// podrunProc is one `podrun` process of a test, with its output.
type podrunProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout bytes.Buffer
	// lines carries every line of stdout and stderr, interleaved.
	mu     sync.Mutex
	all    []string
	seen   chan struct{}
	waited chan struct{}
	err    error
}

// startPodrun starts the podrun binary with args against the state
// directory root; cleanup kills it if the test left it running.
func startPodrun(t *testing.T, root string, args ...string) *podrunProc {
	t.Helper()
	p := &podrunProc{t: t, seen: make(chan struct{}, 1), waited: make(chan struct{})}
	p.cmd = exec.Command(suite.podrun, append([]string{"--root", root}, args...)...)
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = outW, errW
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start podrun: %v", err)
	}
	var readers sync.WaitGroup
	scan := func(r io.Reader, keep *bytes.Buffer) {
		defer readers.Done()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			p.mu.Lock()
			p.all = append(p.all, sc.Text())
			if keep != nil {
				keep.WriteString(sc.Text() + "\n")
			}
			p.mu.Unlock()
			select {
			case p.seen <- struct{}{}:
			default:
			}
		}
		_, _ = io.Copy(io.Discard, r)
	}
	readers.Add(2)
	go scan(outR, &p.stdout)
	go scan(errR, nil)
	go func() {
		defer close(p.waited)
		p.err = p.cmd.Wait()
		outW.Close()
		errW.Close()
		readers.Wait()
	}()
	t.Cleanup(func() {
		select {
		case <-p.waited:
			return
		default:
		}
		// Ctrl-C twice so that podrun kills its pod, then SIGKILL.
		t.Errorf("podrun was still running at the end of the test; interrupting it")
		_ = p.cmd.Process.Signal(syscall.SIGINT)
		_ = p.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-p.waited:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.waited
		}
	})
	return p
}

// waitLine waits until a line containing s appeared.
func (p *podrunProc) waitLine(s string, limit time.Duration) {
	p.t.Helper()
	deadline := time.After(limit)
	for {
		p.mu.Lock()
		for _, l := range p.all {
			if strings.Contains(l, s) {
				p.mu.Unlock()
				return
			}
		}
		p.mu.Unlock()
		select {
		case <-p.seen:
		case <-p.waited:
			p.t.Fatalf("podrun exited (%v) before printing %q:\n%s", p.err, s, p.output())
		case <-deadline:
			p.t.Fatalf("podrun did not print %q within %s:\n%s", s, limit, p.output())
		}
	}
}

// wait waits for the process and returns its exit code.
func (p *podrunProc) wait(limit time.Duration) int {
	p.t.Helper()
	select {
	case <-p.waited:
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.waited
		p.t.Fatalf("podrun did not exit within %s:\n%s", limit, p.output())
	}
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &ee) && ee.Exited():
		return ee.ExitCode()
	default:
		p.t.Fatalf("podrun: %v\n%s", p.err, p.output())
		return -1
	}
}

func (p *podrunProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.all, "\n")
}

// writeManifest writes a manifest into the test's temporary directory.
func writeManifest(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// storedRecord reads the run record of the only pod in root's store.
func storedRecord(t *testing.T, root string) *podworker.Record {
	t.Helper()
	st, err := store.Open(root)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	ctx := context.Background()
	pods, err := st.ListPods(ctx, "")
	if err != nil || len(pods) != 1 {
		t.Fatalf("pods in the store: %d (%v), want 1", len(pods), err)
	}
	raw, err := st.GetRecord(ctx, pods[0].Namespace, pods[0].Name)
	if err != nil {
		t.Fatalf("run record: %v", err)
	}
	rec := &podworker.Record{}
	if err := json.Unmarshal(raw, rec); err != nil {
		t.Fatalf("decode run record: %v", err)
	}
	return rec
}

const podHeader = `apiVersion: v1
kind: Pod
metadata:
  name: cli
spec:
  restartPolicy: Never
`

// sidecarPod has two sidecars that say when they get SIGTERM and a main
// container running the script main.
func sidecarPod(main string) string {
	return podHeader + `  terminationGracePeriodSeconds: 20
  initContainers:
  - name: sidecar-1
    image: busybox
    imagePullPolicy: IfNotPresent
    restartPolicy: Always
    command: ["sh", "-c", "trap 'echo sidecar-1 got SIGTERM; exit 0' TERM; sleep 600 & wait"]
  - name: sidecar-2
    image: busybox
    imagePullPolicy: IfNotPresent
    restartPolicy: Always
    command: ["sh", "-c", "trap 'echo sidecar-2 got SIGTERM; exit 0' TERM; sleep 600 & wait"]
  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", ` + yamlString(main) + `]
`
}

// yamlString quotes s as a YAML (JSON) string.
func yamlString(s string) string {
	data, _ := json.Marshal(s)
	return string(data)
}

// TestRunExitCodes checks podrun run's exit codes: 0 Succeeded, 1 Failed,
// 2 bad input (nothing started), 3 a runtime error.
func TestRunExitCodes(t *testing.T) {
	requireE2E(t)
	for _, tc := range []struct {
		name     string
		manifest string
		args     []string
		want     int
		output   string
	}{
		{name: "succeeded", manifest: sidecarPod("echo hello from main"), want: 0, output: "[main] hello from main"},
		{name: "failed", manifest: sidecarPod("echo failing; exit 1"), want: 1, output: "Failed"},
		{name: "bad-input", manifest: podHeader + "  containers:\n  - name: main\n    command: [sh]\n", want: 2, output: "image"},
		{name: "runtime-error", manifest: sidecarPod("exit 0"), args: []string{"--runtime", "/nonexistent/runc"}, want: 3, output: "/nonexistent/runc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			admit(t)
			e := newRoot(t)
			file := writeManifest(t, "pod.yaml", tc.manifest)
			p := startPodrun(t, e.root, append([]string{"run", "-f", file}, tc.args...)...)
			if got := p.wait(2 * time.Minute); got != tc.want {
				t.Errorf("exit code %d, want %d\n%s", got, tc.want, p.output())
			}
			if !strings.Contains(p.output(), tc.output) {
				t.Errorf("output lacks %q:\n%s", tc.output, p.output())
			}
			if tc.want == 2 {
				st, err := store.Open(e.root)
				if err != nil {
					t.Fatal(err)
				}
				if pods, _ := st.ListPods(context.Background(), ""); len(pods) > 0 {
					t.Errorf("bad input left %d pods in the store, want none started", len(pods))
				}
			}
		})
	}
}

// TestRunTimeout runs lab variant 1 with --timeout: exit 1, naming the
// init container that never finished.
func TestRunTimeout(t *testing.T) {
	requireE2E(t)
	t.Parallel()
	admit(t)
	e := newRoot(t)
	start := time.Now()
	p := startPodrun(t, e.root, "run", "-f", filepath.Join(labDir, "1-init-container.yaml"), "--timeout", "4s")
	if got := p.wait(time.Minute); got != 1 {
		t.Errorf("exit code %d, want 1\n%s", got, p.output())
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("run took %s with --timeout 4s (grace 10s)", d)
	}
	out := p.output()
	for _, want := range []string{"timed out after 4s", `init container "postgres" of pod/lab-init-`, "never finished",
		"job.batch/lab-init Failed (DeadlineExceeded: Job was active longer than specified deadline)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The Job the run stopped says so, and no supervisor takes it up
	// again (it would start a new pod).
	get := startPodrun(t, e.root, "get", "jobs")
	if code := get.wait(time.Minute); code != 0 {
		t.Errorf("get jobs: exit %d\n%s", code, get.output())
	}
	if got := get.output(); !strings.Contains(got, "lab-init   Failed ") || strings.Contains(got, "warning") {
		t.Errorf("get jobs after the timed-out run:\n%s\nwant lab-init Failed, no warning", got)
	}
	st, err := store.Open(e.root)
	if err != nil {
		t.Fatal(err)
	}
	if pods, err := st.ListPods(context.Background(), "default"); err != nil || len(pods) != 1 {
		t.Errorf("pods after get jobs: %d (%v), want the run's one", len(pods), err)
	}
}

// interrupt sends SIGINT and waits for podrun's note; when podrun does
// not react within 10 s (as when cli.Main's signal forwarder read its own
// channel) it fails the test, kills podrun and removes what it left.
func (p *podrunProc) interrupt(e *env) {
	t := p.t
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for !strings.Contains(p.output(), "interrupted") {
		select {
		case <-p.seen:
		case <-p.waited:
			return
		case <-deadline:
			_ = p.cmd.Process.Kill()
			<-p.waited
			e.sandboxes.scan()
			forceCleanup(t, e.root, e.sandboxes.ids())
			t.Fatalf("podrun ignored SIGINT for 10s; killed it:\n%s", p.output())
		}
	}
}

// TestRunInterrupt sends SIGINT to podrun run: the pod terminates as on a
// deletion, main first, then the sidecars in reverse order, each by
// SIGTERM, and podrun exits leaving nothing running.
func TestRunInterrupt(t *testing.T) {
	requireE2E(t)
	t.Parallel()
	admit(t)
	e := newRoot(t)
	file := writeManifest(t, "pod.yaml", sidecarPod("trap 'echo main got SIGTERM; exit 0' TERM; echo main up; sleep 600 & wait"))
	p := startPodrun(t, e.root, "run", "-f", file)
	p.waitLine("[main] main up", time.Minute)
	p.interrupt(e)
	code := p.wait(time.Minute)
	t.Logf("exit code %d after Ctrl-C", code)
	out := p.output()
	for _, want := range []string{"interrupted", "[main] main got SIGTERM", "[sidecar-2] sidecar-2 got SIGTERM", "[sidecar-1] sidecar-1 got SIGTERM"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	rec := storedRecord(t, e.root)
	fails := conformance.Check(conformance.Expect{
		Order: [][]string{{"delete", "main.exit"}, {"main.exit", "sidecar-2.exit"}, {"sidecar-2.exit", "sidecar-1.exit"}},
		Containers: map[string]conformance.ContainerFacts{
			"main":      {ExitCode: ptr[int32](0), Reason: "Completed"},
			"sidecar-1": {ExitCode: ptr[int32](0), Reason: "Completed"},
			"sidecar-2": {ExitCode: ptr[int32](0), Reason: "Completed"},
		},
	}, &conformance.Observation{Record: rec})
	for _, f := range fails {
		t.Error(f)
	}
	if t.Failed() {
		t.Log(conformance.Describe(rec))
	}
}

// TestRunSecondInterrupt: a container ignoring SIGTERM would hold the pod
// for its 30 s grace period; a second SIGINT kills it at once.
func TestRunSecondInterrupt(t *testing.T) {
	requireE2E(t)
	t.Parallel()
	admit(t)
	e := newRoot(t)
	file := writeManifest(t, "pod.yaml", podHeader+`  terminationGracePeriodSeconds: 30
  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "echo main up; exec sleep 600"]
`)
	p := startPodrun(t, e.root, "run", "-f", file)
	p.waitLine("[main] main up", time.Minute)
	p.interrupt(e)
	time.Sleep(time.Second) // the first deletion is under way (sleep ignores SIGTERM)
	second := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	code := p.wait(time.Minute)
	if d := time.Since(second); d > 10*time.Second {
		t.Errorf("podrun took %s to exit after the second Ctrl-C, want at once", d)
	}
	if code != 1 {
		t.Errorf("exit code %d, want 1 (the pod failed: main was killed)\n%s", code, p.output())
	}
	rec := storedRecord(t, e.root)
	fails := conformance.Check(conformance.Expect{
		Containers: map[string]conformance.ContainerFacts{"main": {ExitCode: ptr[int32](137)}},
		Gaps:       []conformance.Gap{{From: "delete", To: "main.exit", MaxSeconds: ptr(10.0)}},
	}, &conformance.Observation{Record: rec})
	for _, f := range fails {
		t.Error(f)
	}
}

// TestRunOutputJSON: -o json prints the final objects as a v1 List.
func TestRunOutputJSON(t *testing.T) {
	requireE2E(t)
	t.Parallel()
	admit(t)
	e := newRoot(t)
	file := writeManifest(t, "pod.yaml", sidecarPod("echo done"))
	p := startPodrun(t, e.root, "run", "-f", file, "-o", "json")
	if code := p.wait(2 * time.Minute); code != 0 {
		t.Fatalf("exit code %d, want 0\n%s", code, p.output())
	}
	var list corev1.List
	dec := json.NewDecoder(bytes.NewReader(p.stdout.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&list); err != nil {
		t.Fatalf("stdout is not a v1 List: %v\n%s", err, p.stdout.String())
	}
	if list.APIVersion != "v1" || list.Kind != "List" || len(list.Items) != 1 {
		t.Fatalf("got apiVersion %q kind %q with %d items, want a v1 List of 1", list.APIVersion, list.Kind, len(list.Items))
	}
	var pod corev1.Pod
	if err := json.Unmarshal(list.Items[0].Raw, &pod); err != nil {
		t.Fatalf("item: %v", err)
	}
	if pod.Kind != "Pod" || pod.Name != "cli" || pod.Status.Phase != corev1.PodSucceeded {
		t.Errorf("item is %s %q phase %s, want Pod cli Succeeded", pod.Kind, pod.Name, pod.Status.Phase)
	}
	if got := len(pod.Status.InitContainerStatuses) + len(pod.Status.ContainerStatuses); got != 3 {
		t.Errorf("pod has %d container statuses, want 3", got)
	}
}

// TestRunRemove: --rm leaves nothing of the run in the state directory.
func TestRunRemove(t *testing.T) {
	requireE2E(t)
	t.Parallel()
	admit(t)
	e := newRoot(t)
	file := writeManifest(t, "pod.yaml", sidecarPod("echo done"))
	p := startPodrun(t, e.root, "run", "--rm", "-f", file)
	if code := p.wait(2 * time.Minute); code != 0 {
		t.Fatalf("exit code %d, want 0\n%s", code, p.output())
	}
	st, err := store.Open(e.root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if pods, err := st.ListPods(ctx, ""); err != nil || len(pods) > 0 {
		t.Errorf("pods left in the store: %d (%v)", len(pods), err)
	}
	if _, err := st.GetRecord(ctx, "default", "cli"); err == nil {
		t.Errorf("the run record of pod cli is still in the store")
	}
	if evs, err := st.ListEvents(ctx, ""); err != nil || len(evs) > 0 {
		t.Errorf("events left in the store: %d (%v)", len(evs), err)
	}
	logs, _ := os.ReadDir(filepath.Join(e.root, "logs"))
	for _, l := range logs {
		t.Errorf("log directory left: %s", l.Name())
	}
}

// TestRunDeleteJob: podrun delete of a Job that a podrun run drives (the
// run holds the Job's lock, as a supervisor does) terminates its pod and
// removes the Job; the run ends with exit 1.
func TestRunDeleteJob(t *testing.T) {
	requireE2E(t)
	t.Parallel()
	admit(t)
	e := newRoot(t)
	file := writeManifest(t, "job.yaml", `apiVersion: batch/v1
kind: Job
metadata:
  name: deleted
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 5
      containers:
      - name: main
        image: busybox
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "trap 'echo main got SIGTERM; exit 0' TERM; echo main up; sleep 600 & wait"]
`)
	p := startPodrun(t, e.root, "run", "-f", file)
	p.waitLine("[main] main up", time.Minute)
	del := startPodrun(t, e.root, "delete", "job", "deleted", "--timeout", "60s")
	if code := del.wait(90 * time.Second); code != 0 || !strings.Contains(del.output(), `job.batch "deleted" deleted`) {
		t.Errorf("delete job: exit %d\n%s", code, del.output())
	}
	if code := p.wait(time.Minute); code != 1 {
		t.Errorf("run of the deleted Job: exit %d, want 1\n%s", code, p.output())
	}
	if out := p.output(); !strings.Contains(out, "[main] main got SIGTERM") {
		t.Errorf("run output lacks the pod's termination:\n%s", out)
	}
	st, err := store.Open(e.root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := st.GetJob(ctx, "default", "deleted"); err == nil {
		t.Errorf("the Job is still in the store")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		pods, err := st.ListPods(ctx, "")
		if err == nil && len(pods) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("pods left in the store: %d (%v)", len(pods), err)
			break
		}
		time.Sleep(50 * time.Millisecond) // the deleter removes them after the run let go
	}
}
