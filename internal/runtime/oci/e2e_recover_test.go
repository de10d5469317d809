package oci

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/podrun/podrun/internal/runtime"
)

// TestE2ERemoveSandboxOfADeadProcess lets one Runtime stop supervising a
// running pod (as a crashed supervisor would) and removes the sandbox
// through a second Runtime on the same root, which loads it from its
// records: nothing may be left.
func TestE2ERemoveSandboxOfADeadProcess(t *testing.T) {
	t.Parallel()
	testRemoveSandboxOfADeadProcess(t, false)
}

// TestE2ERemoveSandboxOfAnOlderBuild is TestE2ERemoveSandboxOfADeadProcess
// with the records an older build wrote (no configuration): the sandbox
// cannot be loaded, only removed.
func TestE2ERemoveSandboxOfAnOlderBuild(t *testing.T) {
	t.Parallel()
	testRemoveSandboxOfADeadProcess(t, true)
}

func testRemoveSandboxOfADeadProcess(t *testing.T, oldRecords bool) {
	requireE2E(t)
	root, err := os.MkdirTemp("", "podrun-oci-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	parent := "/podrun-test-" + randomHex(4)
	first, err := New(Options{Root: root, Images: fakeImages{layer: busyboxRootfs(t)}, CgroupParent: parent,
		Reaper: testReaper(t), Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	share := true
	c := sh("main", "exec sleep 1000")
	c.VolumeMounts = append(c.VolumeMounts, corev1VolumeMount("scratch", "/scratch"))
	pod := testPod("orphaned-pod", c, sh("never-started", "true"))
	pod.Spec.ShareProcessNamespace = &share
	pod.Spec.Volumes = emptyDirVolume("scratch")
	ctx := context.Background()
	sb, err := first.RunPodSandbox(ctx, runtime.SandboxConfig{Pod: pod, LogDir: filepath.Join(root, "logs")})
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	var pids []int
	for i := range pod.Spec.Containers {
		spec := &pod.Spec.Containers[i]
		id, err := first.CreateContainer(ctx, sb, runtime.ContainerConfig{Name: spec.Name, Pod: pod, Container: spec,
			Image: spec.Image, LogPath: filepath.Join(root, "logs", spec.Name+".log")})
		if err != nil {
			t.Fatalf("CreateContainer: %v", err)
		}
		if i == 0 {
			if err := first.StartContainer(ctx, id); err != nil {
				t.Fatalf("StartContainer: %v", err)
			}
			st, _ := first.ContainerStatus(ctx, id)
			pids = append(pids, st.PID)
		}
	}
	pids = append(pids, sandboxPausePID(first, sb))
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// A dead process's registrations die with it; in this test the
	// Reaper is shared and outlives the first Runtime.
	first.reaper.unwatch(pids[len(pids)-1])

	if oldRecords {
		rewriteAsOldRecords(t, root, sb)
	}
	second := newTestRuntime(t, func(o *Options) { o.Root, o.CgroupParent = root, parent })
	second.pids = pids
	if _, err := second.PodSandboxStatus(ctx, sb); oldRecords != errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("PodSandboxStatus of the sandbox left = %v; want it found only from current records", err)
	}
	if err := second.RemovePodSandbox(ctx, sb); err != nil {
		t.Fatalf("RemovePodSandbox through another Runtime: %v", err)
	}
	// newTestRuntime's cleanup asserts that nothing is left.
}

// sandboxPausePID returns the PID-namespace holder's PID.
func sandboxPausePID(r *Runtime, id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if sb := r.sandboxes[id]; sb != nil && sb.pause != nil {
		return sb.pause.Process.Pid
	}
	return 0
}

// rewriteAsOldRecords rewrites the sandbox's records as a build without
// re-attach wrote them.
func rewriteAsOldRecords(t *testing.T, root, sb string) {
	t.Helper()
	dir := filepath.Join(root, "sandboxes", sb)
	var rec sandboxRecord
	readRecord(t, filepath.Join(dir, sandboxRecordFile), &rec)
	old := sandboxRecord{ID: rec.ID, Cgroup: rec.Cgroup, PausePID: rec.PausePID, PauseStart: rec.PauseStart}
	if err := writeRecord(dir, sandboxRecordFile, old); err != nil {
		t.Fatal(err)
	}
	bundles, _ := filepath.Glob(filepath.Join(root, "containers", "*", containerRecordFile))
	for _, f := range bundles {
		var c containerRecord
		readRecord(t, f, &c)
		old := containerRecord{ID: c.ID, Sandbox: c.Sandbox, Cgroup: c.Cgroup, Overlay: c.Overlay}
		if err := writeRecord(filepath.Dir(f), containerRecordFile, old); err != nil {
			t.Fatal(err)
		}
	}
}

func readRecord(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}
