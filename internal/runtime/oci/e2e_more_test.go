package oci

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/podrun/podrun/internal/image"
	"github.com/podrun/podrun/internal/image/testimage"
)

// TestE2EImageStore runs a container from the image store's unpacked
// layers of the offline busybox image.
func TestE2EImageStore(t *testing.T) {
	t.Parallel()
	requireE2E(t)
	ctx := context.Background()
	store, err := image.Open(t.TempDir())
	if err != nil {
		t.Fatalf("open image store: %v", err)
	}
	img, err := testimage.BusyboxImage(ctx)
	if err != nil {
		t.Fatalf("busybox image: %v", err)
	}
	if _, err := store.Add(ctx, img, testimage.BusyboxRef); err != nil {
		t.Fatalf("add busybox: %v", err)
	}
	tr := newTestRuntime(t, func(o *Options) { o.Images = store })
	c := sh("main", "echo from-store; ls /bin/busybox")
	c.Image = testimage.BusyboxRef
	pod := testPod("store-pod", c)
	sb := tr.sandbox(pod)
	st := tr.wait(tr.run(sb, pod, "main"))
	want := []string{"stdout F from-store", "stdout F /bin/busybox"}
	if diff := cmp.Diff(want, logContent(t, st.LogPath)); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}

// TestE2ECopiedRootfs runs a container on a copied rootfs (no overlay):
// writes stay in the container's copy, not in the layer.
func TestE2ECopiedRootfs(t *testing.T) {
	t.Parallel()
	tr := newTestRuntime(t, func(o *Options) { o.NoOverlay = true })
	pod := testPod("copy-pod", sh("main", "echo changed > /etc/motd && rm /bin/yes && cat /etc/motd"))
	sb := tr.sandbox(pod)
	st := tr.wait(tr.run(sb, pod, "main"))
	if st.ExitCode != 0 {
		t.Fatalf("exit %d; log %q", st.ExitCode, logContent(t, st.LogPath))
	}
	layer := busyboxRootfs(t)
	if _, err := os.Lstat(filepath.Join(layer, "bin", "yes")); err != nil {
		t.Errorf("the container's rm reached the image layer: %v", err)
	}
	if _, err := os.Stat(filepath.Join(layer, "etc", "motd")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the container's write reached the image layer: %v", err)
	}
}

// TestE2EOrphanedExecChild kills a `runc exec` process while its child
// runs: the child, a zombie in the container's PID namespace re-parented
// to this subreaper, must be reaped or the container's exit is never seen.
func TestE2EOrphanedExecChild(t *testing.T) {
	t.Parallel()
	tr := newTestRuntime(t)
	pod := testPod("orphan-pod", sh("main", "exec sleep 1000"))
	sb := tr.sandbox(pod)
	id := tr.run(sb, pod, "main")
	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	cmd := exec.Command(tr.runc.Command, "--root", tr.runc.Root, "exec", "--pid-file", pidFile, id, "sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var childPid int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if data, err := os.ReadFile(pidFile); err == nil {
			if childPid, err = strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
				break
			}
		}
	}
	if childPid == 0 {
		t.Fatal("runc exec wrote no pid file")
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if err := syscall.Kill(childPid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill exec child: %v", err)
	}
	if err := tr.SignalContainer(context.Background(), id, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if st := tr.wait(id); st.ExitCode != 137 {
		t.Errorf("exit %d, want 137", st.ExitCode)
	}
	tr.pids = append(tr.pids, childPid)
}

// TestE2EHostNetworkAndHostname checks /etc/hosts, the hostname with
// spec.hostname and subdomain, and a hostNetwork pod seeing the host's
// interfaces.
func TestE2EHostNetworkAndHostname(t *testing.T) {
	t.Parallel()
	tr := newTestRuntime(t)
	pod := testPod("named-pod", sh("main", "hostname; grep web /etc/hosts; cat /etc/hostname"))
	pod.Spec.Hostname, pod.Spec.Subdomain = "web", "svc"
	sb := tr.sandbox(pod)
	st := tr.wait(tr.run(sb, pod, "main"))
	want := []string{"stdout F web", "stdout F 127.0.0.1\tweb.svc.default.svc.cluster.local\tweb", "stdout F web"}
	if diff := cmp.Diff(want, logContent(t, st.LogPath)); diff != "" {
		t.Errorf("named pod log (-want +got):\n%s", diff)
	}

	host := testPod("host-pod", sh("main", "ls /sys/class/net | wc -l"))
	host.Spec.HostNetwork = true
	sb = tr.sandbox(host)
	st = tr.wait(tr.run(sb, host, "main"))
	hostIfaces, err := os.ReadDir("/sys/class/net")
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"stdout F " + strconv.Itoa(len(hostIfaces))}
	if diff := cmp.Diff(want, logContent(t, st.LogPath)); diff != "" {
		t.Errorf("host-network pod log (-want +got):\n%s", diff)
	}
}
