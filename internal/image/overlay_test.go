package image

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// TestOverlayLayersMount mounts layers unpacked for overlay and checks the
// kernel honours their whiteouts and opaque directories.
func TestOverlayLayersMount(t *testing.T) {
	requireRoot(t)
	layers := [][]tarEntry{{
		{Name: "a/x", Body: "1"}, {Name: "a/y", Body: "2"},
		{Name: "b/z", Body: "3"}, {Name: "c/gone", Body: "4"},
	}, {
		{Name: "a/.wh.x"},
		{Name: "b/.wh..wh..opq"}, {Name: "b/new", Body: "5"},
		{Name: ".wh.c"},
	}}
	base := t.TempDir()
	var dirs []string
	for i, l := range layers {
		dir := filepath.Join(base, "layer"+string(rune('0'+i)))
		if err := mkdir(dir); err != nil {
			t.Fatal(err)
		}
		if err := Unpack(context.Background(), dir, bytes.NewReader(makeTar(t, l)), UnpackOptions{Overlay: true}); err != nil {
			t.Fatalf("Unpack layer %d: %v", i, err)
		}
		dirs = append(dirs, dir)
	}
	upper, work, merged := filepath.Join(base, "upper"), filepath.Join(base, "work"), filepath.Join(base, "merged")
	for _, d := range []string{upper, work, merged} {
		if err := mkdir(d); err != nil {
			t.Fatal(err)
		}
	}
	// overlay lists lower dirs top layer first.
	opts := "lowerdir=" + dirs[1] + ":" + dirs[0] + ",upperdir=" + upper + ",workdir=" + work
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Skipf("cannot mount overlay here: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(merged, 0); err != nil {
			t.Errorf("unmount %s: %v", merged, err)
		}
	})
	got := describeTree(t, merged)
	for k, v := range got {
		got[k] = strings.Fields(v)[0] // the type is enough here
	}
	want := map[string]string{"a": "dir", "a/y": "file", "b": "dir", "b/new": "file"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged tree (-want +got):\n%s", diff)
	}
}

func mkdir(dir string) error { return unix.Mkdir(dir, 0o755) }

func TestFlatten(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	img := imageFromTars(t, [][]tarEntry{{
		{Name: "a/x", Body: "1"}, {Name: "a/y", Body: "2"}, {Name: "b/z", Body: "3"},
	}, {
		{Name: "a/.wh.x"}, {Name: "b/.wh..wh..opq"}, {Name: "b/new", Body: "5"},
	}})
	if _, err := s.Add(ctx, img, "flat"); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if err := s.Flatten(ctx, "flat", dst); err != nil {
		t.Fatalf("Flatten: %v", err)
	}
	want := map[string]string{
		"a":     "dir 0755 0:0",
		"a/y":   `file 0644 0:0 nlink=1 "2"`,
		"b":     "dir 0755 0:0",
		"b/new": `file 0644 0:0 nlink=1 "5"`,
	}
	if diff := cmp.Diff(want, describeTree(t, dst)); diff != "" {
		t.Errorf("flattened tree (-want +got):\n%s", diff)
	}
}

func TestPruneKeepsMountedLayers(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	if _, err := s.Add(ctx, fixedImage(t, "running"), "running"); err != nil {
		t.Fatal(err)
	}
	dirs, _, err := s.Lookup(ctx, "running")
	if err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	upper, work, merged := filepath.Join(base, "upper"), filepath.Join(base, "work"), filepath.Join(base, "merged")
	for _, d := range []string{upper, work, merged} {
		if err := mkdir(d); err != nil {
			t.Fatal(err)
		}
	}
	opts := "lowerdir=" + dirs[0] + ",upperdir=" + upper + ",workdir=" + work
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Skipf("cannot mount overlay here: %v", err)
	}
	mounted := true
	t.Cleanup(func() {
		if mounted {
			unix.Unmount(merged, 0)
		}
	})
	if err := s.Remove(ctx, "running"); err != nil {
		t.Fatal(err)
	}
	res, err := s.Prune(ctx)
	if err != nil || res.Layers != 0 || res.Blobs != 3 {
		t.Errorf("Prune while a container uses the layer = %+v, %v; want 3 blobs, 0 layers", res, err)
	}
	if err := unix.Unmount(merged, 0); err != nil {
		t.Fatal(err)
	}
	mounted = false
	res, err = s.Prune(ctx)
	if err != nil || res.Layers != 1 {
		t.Errorf("Prune after unmount = %+v, %v; want 1 layer", res, err)
	}
}

func TestLayersInUse(t *testing.T) {
	mountinfo := filepath.Join(t.TempDir(), "mountinfo")
	content := `22 1 0:21 / /proc rw,nosuid - proc proc rw
101 30 0:52 / /run/pods/a/rootfs rw,relatime - overlay overlay rw,lowerdir=/var/lib/podrun/images/layers/aaa:/var/lib/podrun/images/layers/bbb,upperdir=/x/upper,workdir=/x/work
102 30 0:53 / /run/pods/b/rootfs rw,relatime shared:5 - overlay overlay rw,lowerdir=/other/layers/ccc,upperdir=/y/upper,workdir=/y/work
103 30 0:54 / /run/pods/c/rootfs rw - overlay overlay rw,lowerdir=/var/lib/podrun/images/layers/d\040d,upperdir=/z/u,workdir=/z/w
`
	if err := os.WriteFile(mountinfo, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := layersInUse(mountinfo, "/var/lib/podrun/images/layers")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]bool{"aaa": true, "bbb": true, "d d": true}, got); diff != "" {
		t.Errorf("layers in use (-want +got):\n%s", diff)
	}
}
