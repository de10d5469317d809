package image

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestHelperProcessPull is not a test: it is the child process of
// TestTwoProcessesPullOnce, pulling $PODRUN_TEST_REF into $PODRUN_TEST_ROOT.
func TestHelperProcessPull(t *testing.T) {
	ref, root := os.Getenv("PODRUN_TEST_REF"), os.Getenv("PODRUN_TEST_ROOT")
	if ref == "" || root == "" {
		t.Skip("helper process only")
	}
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pull(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
}

func TestTwoProcessesPullOnce(t *testing.T) {
	requireRoot(t)
	reg := newTestRegistry(t, "", "")
	img := fixedImage(t, "p1", "p2", "p3", "p4")
	ref := reg.push(t, "team/app:v1", img)
	root := t.TempDir()
	var cmds []*exec.Cmd
	for range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessPull$", "-test.count=1")
		cmd.Env = append(os.Environ(), "PODRUN_TEST_REF="+ref, "PODRUN_TEST_ROOT="+root)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("pulling process %d: %v", i, err)
		}
	}
	_, blobGets := reg.counts()
	want := map[string]int{}
	layers, _ := img.Layers()
	for _, l := range layers {
		d, _ := l.Digest()
		want[d.String()] = 1
	}
	cfg, _ := img.ConfigName()
	want[cfg.String()] = 1
	if diff := cmp.Diff(want, blobGets); diff != "" {
		t.Errorf("blob downloads by two processes (-want +got):\n%s", diff)
	}
	if got := dirEntries(t, filepath.Join(root, "images", "blobs", "sha256")); len(got) != 6 {
		t.Errorf("blobs = %v, want 6 (4 layers, config, manifest)", got)
	}
	if got := dirEntries(t, filepath.Join(root, "images", "layers")); len(got) != 4 {
		t.Errorf("unpacked layers = %v, want 4", got)
	}
	s := openStore(t, root)
	if _, _, err := s.Lookup(context.Background(), ref); err != nil {
		t.Errorf("Lookup after the pulls: %v", err)
	}
}
