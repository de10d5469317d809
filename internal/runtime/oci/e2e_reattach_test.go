package oci

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/runtime"
	"github.com/podrun/podrun/internal/runtime/oci/shim"
)

// The re-attach test runs its first Runtime in a child process (this test
// binary again, running TestE2EReattachChild), kills it with SIGKILL while
// its containers run, and takes them over with a second Runtime here.
const (
	envChildRoot   = "PODRUN_OCI_CHILD_ROOT"
	envChildCgroup = "PODRUN_OCI_CHILD_CGROUP"
	envChildLayer  = "PODRUN_OCI_CHILD_LAYER"
)

// childResult is what the child reports of the pod it started.
type childResult struct {
	Pod        *corev1.Pod
	Sandbox    string
	Counter    runtime.ContainerStatus
	Short      runtime.ContainerStatus
	Later      runtime.ContainerStatus
	ChildPID   int
	LogDir     string
	CounterLog string
}

// reattachPod counts on stdout until SIGTERM (then exits 3); "short" waits
// for a file in its emptyDir and exits 5; "later" is only created by the
// first Runtime.
func reattachPod() *corev1.Pod {
	counter := sh("counter", `trap 'exit 3' TERM; i=0; while :; do i=$((i+1)); echo "line $i"; usleep 5000; done`)
	short := sh("short", `while [ ! -e /shared/go ]; do usleep 10000; done; echo bye; exit 5`)
	short.VolumeMounts = []corev1.VolumeMount{corev1VolumeMount("shared", "/shared")}
	pod := testPod("reattach-pod", counter, short, sh("later", "echo later"))
	pod.Spec.Volumes = emptyDirVolume("shared")
	return pod
}

// TestE2EReattachChild is the first Runtime of TestE2EReattach: it starts
// the pod, reports it on stdout and waits to be killed.
func TestE2EReattachChild(t *testing.T) {
	root := os.Getenv(envChildRoot)
	if root == "" {
		t.Skip("child of TestE2EReattach")
	}
	r, err := New(Options{Root: root, Images: fakeImages{layer: busyboxRootfs(t)},
		CgroupParent: os.Getenv(envChildCgroup), Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx := context.Background()
	pod := reattachPod()
	logDir := filepath.Join(root, "logs")
	sb, err := r.RunPodSandbox(ctx, runtime.SandboxConfig{Pod: pod, LogDir: logDir})
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	res := childResult{Pod: pod, Sandbox: sb, ChildPID: os.Getpid(), LogDir: logDir}
	for i := range pod.Spec.Containers {
		spec := &pod.Spec.Containers[i]
		logPath := filepath.Join(logDir, spec.Name, "0.log")
		id, err := r.CreateContainer(ctx, sb, runtime.ContainerConfig{Name: spec.Name, Pod: pod, Container: spec,
			Image: spec.Image, LogPath: logPath})
		if err != nil {
			t.Fatalf("CreateContainer: %v", err)
		}
		if spec.Name != "later" {
			if err := r.StartContainer(ctx, id); err != nil {
				t.Fatalf("StartContainer: %v", err)
			}
		}
		st, err := r.ContainerStatus(ctx, id)
		if err != nil {
			t.Fatalf("ContainerStatus: %v", err)
		}
		switch spec.Name {
		case "counter":
			res.Counter, res.CounterLog = st, logPath
		case "short":
			res.Short = st
		default:
			res.Later = st
		}
	}
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("RESULT %s\n", data)
	select {} // until killed
}

// TestE2EReattach kills the Runtime that started a pod (SIGKILL of its
// process) and takes the pod over with a new Runtime on the same root: the
// running container keeps its ID and start time and obeys signals, one
// that exited meanwhile reports its exit, the log has every line, also
// those written while no runtime was attached, the sandbox takes a new
// container, and its removal leaves nothing.
func TestE2EReattach(t *testing.T) {
	t.Parallel()
	requireE2E(t)
	root, err := os.MkdirTemp("", "podrun-oci-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	parent := "/podrun-test-" + randomHex(4)
	// This process is a child subreaper (as podrun's e2e suite is): the
	// orphaned shims become its children, which the new Runtime reaps.
	testReaper(t)
	res := startChild(t, root, parent)

	// No runtime is attached now. Let the short container finish and
	// the counter go on meanwhile.
	linesAtKill := len(counterLines(t, res.CounterLog))
	if err := os.WriteFile(filepath.Join(root, "sandboxes", res.Sandbox, "volumes", "shared", "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	shortBundle := filepath.Join(root, "containers", res.Short.ID)
	waitShimExit(t, shortBundle)

	tr := newTestRuntime(t, func(o *Options) { o.Root, o.CgroupParent = root, parent })
	tr.pids = append(tr.pids, res.ChildPID, res.Counter.PID, res.Short.PID)
	for _, id := range []string{res.Counter.ID, res.Short.ID} {
		if st, err := shim.ReadState(filepath.Join(root, "containers", id)); err == nil {
			tr.pids = append(tr.pids, st.ShimPID)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	if _, err := tr.RunPodSandbox(ctx, runtime.SandboxConfig{Pod: res.Pod, LogDir: res.LogDir}); !errors.Is(err, runtime.ErrAlreadyExists) {
		t.Errorf("RunPodSandbox over the sandbox on disk = %v, want ErrAlreadyExists", err)
	}
	sandboxes, err := tr.ListPodSandbox(ctx, string(res.Pod.UID))
	if err != nil || len(sandboxes) != 1 || sandboxes[0].ID != res.Sandbox || !sandboxes[0].Ready {
		t.Fatalf("ListPodSandbox = %+v, %v; want the one sandbox %s, ready", sandboxes, err, res.Sandbox)
	}
	list, err := tr.ListContainers(ctx, res.Sandbox)
	if err != nil {
		t.Fatalf("ListContainers: %v", err)
	}
	got := map[string]runtime.ContainerStatus{}
	for _, st := range list {
		got[st.Name] = st
	}
	counter, short, later := got["counter"], got["short"], got["later"]
	if counter.ID != res.Counter.ID || counter.State != runtime.StateRunning || !counter.StartedAt.Equal(res.Counter.StartedAt) ||
		counter.PID != res.Counter.PID || !counter.CreatedAt.Equal(res.Counter.CreatedAt) {
		t.Errorf("counter after re-attach = %+v\nwant Running as started: %+v", counter, res.Counter)
	}
	if short.ID != res.Short.ID || short.State != runtime.StateExited || short.ExitCode != 5 || short.Reason != "Error" ||
		!short.FinishedAt.After(short.StartedAt) || short.FinishedAt.After(time.Now()) || !short.StartedAt.Equal(res.Short.StartedAt) {
		t.Errorf("short after re-attach = %+v\nwant Exited with code 5 and its times (started %v)", short, res.Short.StartedAt)
	}

	if later.ID != res.Later.ID || later.State != runtime.StateCreated || len(list) != 3 {
		t.Errorf("containers after re-attach = %+v\nwant later Created, as the first Runtime left it", list)
	}
	if out, err := tr.ExecSync(ctx, counter.ID, []string{"echo", "in"}, time.Minute); err != nil || string(out.Stdout) != "in\n" {
		t.Errorf("ExecSync in the re-attached container = %+v, %v; want stdout \"in\\n\"", out, err)
	}
	if err := tr.StartContainer(ctx, later.ID); err != nil {
		t.Fatalf("StartContainer of the container the first Runtime created: %v", err)
	}
	if st := tr.wait(later.ID); st.ExitCode != 0 || st.Reason != "Completed" {
		t.Errorf("later ended %+v, want Completed", st)
	}

	// A new attempt in the re-attached sandbox.
	spec := &res.Pod.Spec.Containers[1]
	next, err := tr.CreateContainer(ctx, res.Sandbox, runtime.ContainerConfig{Name: "short", Attempt: 1, Pod: res.Pod,
		Container: spec, Image: spec.Image, LogPath: filepath.Join(res.LogDir, "short", "1.log")})
	if err != nil {
		t.Fatalf("CreateContainer of a new attempt: %v", err)
	}
	if err := tr.StartContainer(ctx, next); err != nil {
		t.Fatalf("StartContainer of a new attempt: %v", err)
	}
	if st := tr.wait(next); st.ExitCode != 5 {
		t.Errorf("new attempt ended %+v, want exit code 5 (it sees the emptyDir's file)", st)
	}
	if diff := logContent(t, filepath.Join(res.LogDir, "short", "1.log")); len(diff) != 1 || diff[0] != "stdout F bye" {
		t.Errorf("new attempt's log = %q, want [stdout F bye]", diff)
	}

	// The running container obeys signals and reports its exit.
	if err := tr.SignalContainer(ctx, res.Counter.ID, syscall.SIGTERM); err != nil {
		t.Fatalf("SignalContainer: %v", err)
	}
	if st := tr.wait(res.Counter.ID); st.ExitCode != 3 || st.Reason != "Error" {
		t.Errorf("counter ended %+v, want exit code 3 (its TERM trap)", st)
	}
	lines := counterLines(t, res.CounterLog)
	for i, n := range lines {
		if n != i+1 {
			t.Fatalf("counter log line %d says %d: a line was lost or repeated (%d lines)", i+1, n, len(lines))
		}
	}
	if len(lines) <= linesAtKill {
		t.Errorf("counter logged %d lines, %d when its runtime was killed: nothing was logged while unattached", len(lines), linesAtKill)
	}
	if err := tr.RemovePodSandbox(ctx, res.Sandbox); err != nil {
		t.Fatalf("RemovePodSandbox: %v", err)
	}
	// newTestRuntime's cleanup asserts that nothing is left.
}

// startChild runs TestE2EReattachChild with root and parent, waits for its
// report and kills it with SIGKILL.
func startChild(t *testing.T, root, parent string) childResult {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestE2EReattachChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envChildRoot+"="+root, envChildCgroup+"="+parent, envChildLayer+"="+busyboxRootfs(t))
	cmd.Stderr = testWriter{t}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var res childResult
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "RESULT "); ok {
			if err := json.Unmarshal([]byte(data), &res); err != nil {
				t.Fatalf("child's result: %v", err)
			}
			break
		}
		t.Logf("child: %s", sc.Text())
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if res.Sandbox == "" {
		t.Fatalf("the child Runtime reported no pod (%v)", sc.Err())
	}
	return res
}

// waitShimExit waits (at most a minute) until the shim of the container in
// bundle has written exit.json and exited.
func waitShimExit(t *testing.T, bundle string) {
	t.Helper()
	st, err := shim.ReadState(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if p := openRecorded(st.ShimPID, st.ShimStart); p != nil {
		done := make(chan error, 1)
		go func() { done <- p.wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("shim %d still runs", st.ShimPID)
		}
		p.close()
	}
	if _, err := shim.ReadExit(bundle); err != nil {
		t.Fatalf("shim left no exit: %v", err)
	}
}

// counterLines returns the numbers of the counter's "line N" entries.
func counterLines(t *testing.T, path string) []int {
	t.Helper()
	var out []int
	for _, e := range logContent(t, path) {
		n, err := strconv.Atoi(strings.TrimPrefix(e, "stdout F line "))
		if err != nil {
			t.Fatalf("unexpected counter log entry %q", e)
		}
		out = append(out, n)
	}
	return out
}

// TestE2EShimLost kills a container's shim: nothing records the
// container's exit any more, so the container is killed and reported as
// the kubelet reports a container it cannot locate.
func TestE2EShimLost(t *testing.T) {
	t.Parallel()
	tr := newTestRuntime(t)
	pod := testPod("shim-lost-pod", sh("main", "exec sleep 1000"))
	sb := tr.sandbox(pod)
	id := tr.run(sb, pod, "main")
	st, err := shim.ReadState(filepath.Join(tr.opts.Root, "containers", id))
	if err != nil {
		t.Fatal(err)
	}
	tr.pids = append(tr.pids, st.ShimPID)
	if err := syscall.Kill(st.ShimPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	got := tr.wait(id)
	if got.ExitCode != 137 || got.Reason != ReasonContainerStatusUnknown || got.Message != shimLostMessage || got.FinishedAt.IsZero() {
		t.Errorf("status after the shim died = %+v, want exit code 137, reason %s and message %q",
			got, ReasonContainerStatusUnknown, shimLostMessage)
	}
	// The removal (cleanup) checks that the container process is gone.
}
