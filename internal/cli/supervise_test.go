package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/image/testimage"
	"github.com/podrun/podrun/internal/runtime/oci/shimtest"
	"github.com/podrun/podrun/internal/store"
)

// The end-to-end tests of background pods run the podrun binary in
// separate processes (apply, get, delete, and the supervisors apply
// starts) on runc. They need PODRUN_E2E=1, root, runc and busybox-static.

// bg holds what the background e2e tests share: the podrun binary and
// the busybox image layout, built once.
var bg struct {
	once   sync.Once
	dir    string
	bin    string
	layout string
	err    error
}

func TestMain(m *testing.M) {
	if os.Getenv("PODRUN_E2E") == "1" {
		// The supervisors' runtime finds podrun-shim through $PODRUN_SHIM.
		if err := shimtest.Setenv(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	shimtest.Remove()
	if bg.dir != "" {
		_ = os.RemoveAll(bg.dir)
	}
	os.Exit(code)
}

// bgEnv is one state directory of a background e2e test.
type bgEnv struct {
	t    *testing.T
	root string
	st   *store.Store
}

// newBgEnv skips the test unless PODRUN_E2E=1, builds podrun once, and
// returns a fresh state directory with busybox loaded. At the end of the
// test it checks that nothing was left behind: no process naming the
// directory, no mount below it, no container or sandbox state.
func newBgEnv(t *testing.T) *bgEnv {
	t.Helper()
	if os.Getenv("PODRUN_E2E") != "1" {
		t.Skip("end-to-end test of background pods: set PODRUN_E2E=1 (needs root, runc and busybox-static)")
	}
	bg.once.Do(func() {
		if bg.dir, bg.err = os.MkdirTemp("", "podrun-bg-e2e-"); bg.err != nil {
			return
		}
		bg.bin = filepath.Join(bg.dir, "podrun")
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = "/usr/local/go/bin/go"
		}
		if out, err := exec.Command(goTool, "build", "-o", bg.bin, "github.com/podrun/podrun/cmd/podrun").CombinedOutput(); err != nil {
			bg.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		bg.layout, bg.err = testimage.Busybox(context.Background(), filepath.Join(bg.dir, "busybox"))
	})
	if bg.err != nil {
		t.Fatal(bg.err)
	}
	root, err := os.MkdirTemp("", "podrun-bg-root-")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	e := &bgEnv{t: t, root: root, st: st}
	t.Cleanup(e.cleanup)
	e.mustRun("image", "load", "-i", bg.layout)
	return e
}

// cleanup fails the test if anything of the state directory is left,
// and then removes it (killing leftovers first).
func (e *bgEnv) cleanup() {
	t := e.t
	var left []string
	// A supervisor removes its pod from the store and then exits: give
	// the last ones a moment to finish exiting.
	for deadline := time.Now().Add(10 * time.Second); len(pidsNaming(e.root)) > 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond) // process exits have no event here
	}
	if procs := processesNaming(e.root); len(procs) > 0 {
		left = append(left, "processes: "+strings.Join(procs, "; "))
	}
	if mounts, _ := mountsUnderRoot(e.root); len(mounts) > 0 {
		left = append(left, "mounts: "+strings.Join(mounts, ", "))
	}
	for _, d := range []string{"runtime/containers", "runtime/sandboxes", "logs", "supervise/default"} {
		if entries, _ := os.ReadDir(filepath.Join(e.root, d)); len(entries) > 0 {
			var names []string
			for _, en := range entries {
				names = append(names, en.Name())
			}
			left = append(left, d+": "+strings.Join(names, ", "))
		}
	}
	if pods, _ := e.st.ListPods(context.Background(), ""); len(pods) > 0 {
		left = append(left, fmt.Sprintf("%d pods in the store", len(pods)))
	}
	if len(left) > 0 {
		t.Errorf("left behind in %s:\n  %s", e.root, strings.Join(left, "\n  "))
		for _, pid := range pidsNaming(e.root) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		t.Logf("state directory %s kept for inspection", e.root)
		return
	}
	if err := os.RemoveAll(e.root); err != nil {
		t.Errorf("remove state directory: %v", err)
	}
}

// procResult is a finished podrun process.
type procResult struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

func (r procResult) String() string {
	return fmt.Sprintf("exit %d after %s\nstdout:\n%sstderr:\n%s", r.code, r.took.Round(time.Millisecond), r.stdout, r.stderr)
}

// run runs podrun with args against the state directory.
func (e *bgEnv) run(args ...string) procResult {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bg.bin, append([]string{"--root", e.root}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	r := procResult{stdout: out.String(), stderr: errOut.String(), took: time.Since(start)}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		e.t.Fatalf("podrun %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// mustRun runs podrun and fails the test unless it exits 0.
func (e *bgEnv) mustRun(args ...string) procResult {
	e.t.Helper()
	r := e.run(args...)
	e.t.Logf("podrun %s: exit %d after %s", strings.Join(args, " "), r.code, r.took.Round(time.Millisecond))
	if r.code != 0 {
		e.t.Fatalf("podrun %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// manifest writes a manifest file for the test.
func (e *bgEnv) manifest(name, content string) string {
	path := filepath.Join(e.t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return path
}

// waitPod waits until cond holds for the pod (nil when it is gone).
func (e *bgEnv) waitPod(name string, within time.Duration, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	changes, err := e.st.Watch(ctx, "default")
	if err != nil {
		e.t.Fatal(err)
	}
	for {
		p, err := e.st.GetPod(ctx, "default", name)
		if errors.Is(err, store.ErrNotFound) {
			p = nil
		} else if err != nil && ctx.Err() == nil {
			e.t.Fatalf("get pod %s: %v", name, err)
		}
		if cond(p) {
			return p
		}
		select {
		case <-ctx.Done():
			e.t.Fatalf("pod %s: not %s within %s; last seen: %s\nsupervisor log:\n%s", name, what, within, describePod(p), e.supervisorLog(name))
		case <-changes:
		}
	}
}

func (e *bgEnv) supervisorLog(name string) string {
	data, _ := os.ReadFile(filepath.Join(e.root, "supervise", "default", "pod-"+name+".log"))
	return string(data)
}

func describePod(p *corev1.Pod) string {
	if p == nil {
		return "gone"
	}
	var cs []string
	for _, s := range append(append([]corev1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		state := "waiting"
		switch {
		case s.State.Running != nil:
			state = "running"
		case s.State.Terminated != nil:
			state = fmt.Sprintf("terminated(%d %s)", s.State.Terminated.ExitCode, s.State.Terminated.Reason)
		}
		cs = append(cs, s.Name+"="+state)
	}
	return fmt.Sprintf("phase %s deleted %v [%s]", p.Status.Phase, p.DeletionTimestamp != nil, strings.Join(cs, " "))
}

func running(container string) func(*corev1.Pod) bool {
	return func(p *corev1.Pod) bool {
		if p == nil {
			return false
		}
		for _, s := range append(append([]corev1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			if s.Name == container && s.State.Running != nil {
				return true
			}
		}
		return false
	}
}

func gone(p *corev1.Pod) bool { return p == nil }

func terminal(p *corev1.Pod) bool {
	return p != nil && (p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed)
}

// pidsNaming lists the processes whose command line names s.
func pidsNaming(s string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, en := range entries {
		var pid int
		if _, err := fmt.Sscan(en.Name(), &pid); err != nil || pid == os.Getpid() {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", en.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmd, []byte(s)) {
			out = append(out, pid)
		}
	}
	return out
}

func processesNaming(s string) []string {
	var out []string
	for _, pid := range pidsNaming(s) {
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		out = append(out, fmt.Sprintf("%d %s", pid, strings.ReplaceAll(strings.TrimRight(string(cmd), "\x00"), "\x00", " ")))
	}
	return out
}

func mountsUnderRoot(root string) ([]string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == root || strings.HasPrefix(f[4], root+"/")) {
			out = append(out, f[4])
		}
	}
	return out, nil
}

// bgPod is a pod whose container prints numbered lines and exits 0 on
// SIGTERM.
func bgPod(name string, grace int) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: %d
  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "trap 'echo got SIGTERM; exit 0' TERM; i=0; while true; do echo line $i; i=$((i+1)); sleep 0.1; done"]
`, name, grace)
}

// TestBackgroundSupervisorKilled kills a supervisor with SIGKILL while
// its pod runs; the next podrun command that touches the pod starts a
// new supervisor, which continues the pod: the same container instance
// goes on running under it (no restart), it goes on logging — also while
// no supervisor lived — and every line is in the log once, whole and in
// order. Deleting the pod then ends it through the new supervisor.
func TestBackgroundSupervisorKilled(t *testing.T) {
	e := newBgEnv(t)
	path := e.manifest("pod.yaml", bgPod("orphan", 30))
	e.mustRun("apply", "-f", path)
	pod := e.waitPod("orphan", time.Minute, "running", running("main"))
	logFile := filepath.Join(e.st.LogDir("default", "orphan", pod.UID), "main", "0.log")
	waitLines(t, logFile, 5)
	pid, alive, err := e.st.Supervisor("default", "orphan")
	if err != nil || !alive || pid == 0 {
		t.Fatalf("supervisor: pid %d alive %v err %v", pid, alive, err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e.waitSupervisorGone("orphan")
	before := readLines(t, logFile)
	waitLines(t, logFile, len(before)+3) // written with no supervisor

	// Applying again notices the dead supervisor and starts a new one.
	if r := e.mustRun("apply", "-f", path); r.stdout != "pod/orphan unchanged\n" {
		t.Errorf("apply after the kill: %s", r)
	}
	if npid, alive, err := e.st.Supervisor("default", "orphan"); err != nil || !alive || npid == pid {
		t.Fatalf("new supervisor: pid %d (old %d) alive %v err %v", npid, pid, alive, err)
	}
	waitLines(t, logFile, len(before)+8)
	cur, err := e.st.GetPod(context.Background(), "default", "orphan")
	if err != nil {
		t.Fatal(err)
	}
	cs := cur.Status.ContainerStatuses
	if cur.Status.Phase != corev1.PodRunning || len(cs) != 1 || cs[0].State.Running == nil ||
		cs[0].ContainerID != pod.Status.ContainerStatuses[0].ContainerID || cs[0].RestartCount != 0 {
		t.Errorf("pod under the new supervisor: %s, want Running, the same main instance (%s), no restart",
			describePod(cur), pod.Status.ContainerStatuses[0].ContainerID)
	}
	after := readLines(t, logFile)
	for i, l := range after {
		if want := fmt.Sprintf("line %d", i); l != want {
			t.Errorf("log line %d = %q, want %q (torn, missing or repeated)", i, l, want)
			break
		}
	}
	e.mustRun("delete", "pod", "orphan") // the new supervisor ends it
}

// TestBackgroundSupervisorTerminated sends SIGTERM to a supervisor: it
// stops supervising and leaves the container running (it does not kill
// the pod); the next podrun command starts a new supervisor.
func TestBackgroundSupervisorTerminated(t *testing.T) {
	e := newBgEnv(t)
	path := e.manifest("pod.yaml", bgPod("left", 30))
	e.mustRun("apply", "-f", path)
	pod := e.waitPod("left", time.Minute, "running", running("main"))
	pid, alive, err := e.st.Supervisor("default", "left")
	if err != nil || !alive || pid == 0 {
		t.Fatalf("supervisor: pid %d alive %v err %v", pid, alive, err)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	e.waitSupervisorGone("left")
	id := strings.TrimPrefix(pod.Status.ContainerStatuses[0].ContainerID, "runc://")
	out, err := exec.Command("runc", "--root", filepath.Join(e.root, "runtime", "runtime"), "state", id).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"status": "running"`) {
		t.Errorf("container %s after SIGTERM to its supervisor: %v\n%s\nwant it still running", id, err, out)
	}
	if p, _ := e.st.GetPod(context.Background(), "default", "left"); p == nil || p.Status.Phase != corev1.PodRunning {
		t.Errorf("pod after SIGTERM to its supervisor: %s, want untouched (Running)", describePod(p))
	}
	e.mustRun("delete", "pod", "left") // starts a new supervisor, which ends it
}

// waitSupervisorGone waits until the pod's supervisor lock is free.
func (e *bgEnv) waitSupervisorGone(name string) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, alive, err := e.st.Supervisor("default", name)
		if err == nil && !alive {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("supervisor of %s still alive after SIGKILL (%v)", name, err)
		}
		time.Sleep(20 * time.Millisecond) // a process's death has no store event
	}
}

// readLines returns the contents of the CRI log entries of path, failing
// on any entry that does not parse.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		f := strings.SplitN(l, " ", 4)
		if len(f) != 4 || (f[1] != "stdout" && f[1] != "stderr") || f[2] != "F" {
			t.Fatalf("%s: torn or foreign entry %q", path, l)
		}
		if _, err := time.Parse(time.RFC3339Nano, f[0]); err != nil {
			t.Fatalf("%s: bad timestamp in %q", path, l)
		}
		out = append(out, f[3])
	}
	return out
}

// waitLines waits until the log holds n lines.
func waitLines(t *testing.T, path string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		data, _ := os.ReadFile(path)
		if bytes.Count(data, []byte("\n")) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: fewer than %d lines after 30s", path, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
