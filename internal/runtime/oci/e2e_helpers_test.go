package oci

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podrun/podrun/internal/runtime"
)

// busyboxRef is the image name the fake image source answers.
const busyboxRef = "busybox:test"

// requireE2E skips the test unless it can run containers: PODRUN_E2E=1
// makes anything missing a failure instead of a skip.
func requireE2E(t *testing.T) {
	t.Helper()
	strict := os.Getenv("PODRUN_E2E") == "1"
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		missing = append(missing, "runc")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		missing = append(missing, "/bin/busybox (busybox-static)")
	}
	if len(missing) == 0 {
		return
	}
	if strict {
		t.Fatalf("PODRUN_E2E=1 but missing: %s", strings.Join(missing, ", "))
	}
	t.Skipf("end-to-end test needs %s (set PODRUN_E2E=1 to fail instead)", strings.Join(missing, ", "))
}

var (
	busyboxOnce  sync.Once
	busyboxLayer string
	busyboxErr   error
)

// busyboxRootfs builds, once per test binary, a layer directory holding
// /bin/busybox and a symlink per applet.
func busyboxRootfs(t *testing.T) string {
	t.Helper()
	busyboxOnce.Do(func() {
		if dir := os.Getenv(envChildLayer); dir != "" {
			// A child process of a test reuses its parent's layer.
			busyboxLayer, busyboxErr = dir, nil
			return
		}
		dir, err := os.MkdirTemp("", "podrun-oci-busybox-")
		if err != nil {
			busyboxErr = err
			return
		}
		busyboxLayer = dir
		busyboxErr = buildBusyboxLayer(dir)
	})
	if busyboxErr != nil {
		t.Fatalf("busybox layer: %v", busyboxErr)
	}
	return busyboxLayer
}

func buildBusyboxLayer(dir string) error {
	for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "tmp", "root"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		return err
	}
	data, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "busybox"), data, 0o755); err != nil {
		return err
	}
	out, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", applet)); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	passwd := "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
	return os.WriteFile(filepath.Join(dir, "etc", "passwd"), []byte(passwd), 0o644)
}

// fakeImages answers busyboxRef with the busybox layer.
type fakeImages struct{ layer string }

func (f fakeImages) Lookup(ctx context.Context, ref string) ([]string, *v1.ConfigFile, error) {
	if ref != busyboxRef {
		return nil, nil, fmt.Errorf("image %q: %w", ref, runtime.ErrNotFound)
	}
	return []string{f.layer}, &v1.ConfigFile{Config: v1.Config{
		Cmd: []string{"sh"},
		Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
	}}, nil
}

// testReaper returns the test binary's one Reaper, shared by all test
// Runtimes as main shares one in podrun.
func testReaper(t *testing.T) *Reaper {
	t.Helper()
	rp, err := processReaper()
	if err != nil {
		t.Fatalf("reaper: %v", err)
	}
	return rp
}

// testRuntime is a Runtime with a private root and cgroup parent whose
// cleanup asserts that nothing was left behind.
type testRuntime struct {
	*Runtime
	t      *testing.T
	pids   []int
	logDir string
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newTestRuntime starts a Runtime for one test. Its cleanup checks, after
// the test removed its sandboxes, that no process, mount, namespace file,
// cgroup, bundle or runc state remains.
func newTestRuntime(t *testing.T, mutate ...func(*Options)) *testRuntime {
	t.Helper()
	requireE2E(t)
	root, err := os.MkdirTemp("", "podrun-oci-")
	if err != nil {
		t.Fatal(err)
	}
	// Registered first, so it runs last: after the leftover checks.
	t.Cleanup(func() { os.RemoveAll(root) })
	opts := Options{
		Root:         root,
		Images:       fakeImages{layer: busyboxRootfs(t)},
		Logger:       slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		CgroupParent: "/podrun-test-" + randomHex(4),
		Reaper:       testReaper(t),
	}
	for _, m := range mutate {
		m(&opts)
	}
	r, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	tr := &testRuntime{Runtime: r, t: t, logDir: filepath.Join(root, "logs")}
	t.Cleanup(func() {
		// The runtime's own view first, then the machine's.
		r.mu.Lock()
		nSandboxes, nContainers := len(r.sandboxes), len(r.containers)
		r.mu.Unlock()
		if nSandboxes != 0 || nContainers != 0 {
			t.Errorf("runtime still tracks %d sandboxes and %d containers", nSandboxes, nContainers)
		}
		tr.assertNothingLeft()
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := removeCgroupTree(r.cgroups, opts.CgroupParent); err != nil {
			t.Errorf("remove cgroup parent: %v", err)
		}
		if err := removeStateDir(root); err != nil {
			t.Errorf("remove root: %v", err)
		}
	})
	return tr
}

// testWriter sends log output to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// assertNothingLeft checks the machine after the test's teardown.
func (tr *testRuntime) assertNothingLeft() {
	t := tr.t
	t.Helper()
	r := tr.Runtime
	if mounts, err := mountsUnder(r.opts.Root); err != nil || len(mounts) > 0 {
		t.Errorf("mounts left under %s: %v %v", r.opts.Root, mounts, err)
	}
	for _, sub := range []string{"sandboxes", "containers"} {
		entries, err := os.ReadDir(filepath.Join(r.opts.Root, sub))
		if err != nil || len(entries) > 0 {
			t.Errorf("%s left: %d entries (%v)", sub, len(entries), err)
		}
	}
	states, err := r.runc.List(context.Background())
	if err != nil || len(states) > 0 {
		t.Errorf("runc state left: %+v (%v)", states, err)
	}
	for _, m := range r.cgroups {
		entries, err := os.ReadDir(filepath.Join(m.Path, r.opts.CgroupParent))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup %s: %v", m.Path, err)
		}
		for _, e := range entries {
			if e.IsDir() {
				t.Errorf("cgroup left: %s", filepath.Join(m.Path, r.opts.CgroupParent, e.Name()))
			}
		}
	}
	// Orphans are reaped on SIGCHLD, asynchronously; make sure the pass
	// that the last kill triggered has happened.
	r.reaper.settle()
	for _, pid := range tr.pids {
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			t.Errorf("process %d still exists: %s", pid, st)
		}
	}
}

// testPod returns a pod with a unique UID and the given containers.
func testPod(name string, containers ...corev1.Container) *corev1.Pod {
	for i := range containers {
		if containers[i].Image == "" {
			containers[i].Image = busyboxRef
		}
		if containers[i].TerminationMessagePath == "" {
			containers[i].TerminationMessagePath = corev1.TerminationMessagePathDefault
		}
		if containers[i].TerminationMessagePolicy == "" {
			containers[i].TerminationMessagePolicy = corev1.TerminationMessageReadFile
		}
	}
	return &corev1.Pod{
		ObjectMeta: metaFor(name),
		Spec:       corev1.PodSpec{Containers: containers},
	}
}

func metaFor(name string) (m metav1.ObjectMeta) {
	m.Name, m.Namespace, m.UID = name, "default", types.UID(randomHex(16))
	return m
}

// sandbox creates a sandbox for pod; cleanup removes it.
func (tr *testRuntime) sandbox(pod *corev1.Pod) string {
	t := tr.t
	t.Helper()
	ctx := context.Background()
	id, err := tr.RunPodSandbox(ctx, runtime.SandboxConfig{Pod: pod, LogDir: filepath.Join(tr.logDir, string(pod.UID))})
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	t.Cleanup(func() {
		if err := tr.RemovePodSandbox(context.Background(), id); err != nil {
			t.Errorf("RemovePodSandbox: %v", err)
		}
		if _, err := tr.PodSandboxStatus(context.Background(), id); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("PodSandboxStatus after removal = %v, want ErrNotFound", err)
		}
	})
	return id
}

// run creates and starts the pod's container name and returns its ID.
func (tr *testRuntime) run(sandboxID string, pod *corev1.Pod, name string) string {
	t := tr.t
	t.Helper()
	id := tr.create(sandboxID, pod, name)
	if err := tr.StartContainer(context.Background(), id); err != nil {
		t.Fatalf("StartContainer %s: %v", name, err)
	}
	st, err := tr.ContainerStatus(context.Background(), id)
	if err != nil {
		t.Fatalf("ContainerStatus %s: %v", name, err)
	}
	tr.pids = append(tr.pids, st.PID)
	return id
}

// create creates the pod's container name.
func (tr *testRuntime) create(sandboxID string, pod *corev1.Pod, name string) string {
	t := tr.t
	t.Helper()
	var spec *corev1.Container
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			spec = &pod.Spec.Containers[i]
		}
	}
	if spec == nil {
		t.Fatalf("pod has no container %q", name)
	}
	id, err := tr.CreateContainer(context.Background(), sandboxID, runtime.ContainerConfig{
		Name: name, Pod: pod, Container: spec, Image: spec.Image,
		LogPath: filepath.Join(tr.logDir, string(pod.UID), name, "0.log"),
	})
	if err != nil {
		t.Fatalf("CreateContainer %s: %v", name, err)
	}
	return id
}

// wait waits for a container's exit, at most a minute.
func (tr *testRuntime) wait(id string) runtime.ContainerStatus {
	tr.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := tr.WaitContainer(ctx, id)
	if err != nil {
		tr.t.Fatalf("WaitContainer %s: %v", id, err)
	}
	return st
}

// logContent returns the content of a container's CRI log, one string per
// entry as "stream tag content", and checks each timestamp.
func logContent(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read log: %v", err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if line == "" {
			continue
		}
		e, ok := parseLogLine(line)
		if !ok {
			t.Errorf("bad log line %q", line)
			continue
		}
		if _, err := time.Parse(time.RFC3339Nano, e.Time); err != nil || len(e.Time) != len("2026-12-03T17:20:13.123456789Z") {
			t.Errorf("bad timestamp in %q: %v", line, err)
		}
		tag := "F"
		if e.Partial {
			tag = "P"
		}
		out = append(out, e.Stream+" "+tag+" "+e.Content)
	}
	return out
}
