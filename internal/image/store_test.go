package image

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/podrun/podrun/internal/image/testimage"
)

func openStore(t *testing.T, root string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(root, opts...)
	if err != nil {
		t.Fatalf("Open(%q): %v", root, err)
	}
	return s
}

func randomImage(t *testing.T, layers int64) v1.Image {
	t.Helper()
	img, err := random.Image(512, layers)
	if err != nil {
		t.Fatalf("random.Image: %v", err)
	}
	return img
}

func busybox(t *testing.T) v1.Image {
	t.Helper()
	if _, err := os.Stat(testimage.BusyboxPath); err != nil {
		t.Skipf("busybox-static is not installed: %v", err)
	}
	img, err := testimage.BusyboxImage(context.Background())
	if err != nil {
		t.Fatalf("BusyboxImage: %v", err)
	}
	return img
}

func names(imgs []Image) []string {
	var out []string
	for _, i := range imgs {
		out = append(out, i.Name)
	}
	sort.Strings(out)
	return out
}

func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestAddLookup(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	img := busybox(t)
	added, err := s.Add(ctx, img, "busybox", "docker.io/library/busybox:latest")
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	digest, _ := img.Digest()
	cfgName, _ := img.ConfigName()
	if added.Name != "docker.io/library/busybox:latest" || added.Digest != digest || added.ID != cfgName {
		t.Errorf("Add = %+v, want name docker.io/library/busybox:latest, digest %s, id %s", added, digest, cfgName)
	}
	for _, ref := range []string{"busybox", "busybox:latest", "docker.io/library/busybox", "busybox@" + digest.String()} {
		dirs, cfg, err := s.Lookup(ctx, ref)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", ref, err)
		}
		if len(dirs) != 1 {
			t.Fatalf("Lookup(%q) = %d layer dirs, want 1", ref, len(dirs))
		}
		if fi, err := os.Stat(filepath.Join(dirs[0], "bin", "busybox")); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("Lookup(%q): bin/busybox in layer dir: %v, %v", ref, fi, err)
		}
		if diff := cmp.Diff([]string{"sh"}, cfg.Config.Cmd); diff != "" {
			t.Errorf("Lookup(%q) Cmd (-want +got):\n%s", ref, diff)
		}
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if diff := cmp.Diff([]string{"docker.io/library/busybox:latest"}, names(list)); diff != "" {
		t.Errorf("List names (-want +got):\n%s", diff)
	}
}

func TestLookupErrors(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	if _, _, err := s.Lookup(ctx, "nothere:1.0"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup(absent) error = %v, want ErrNotFound", err)
	}
	if _, _, err := s.Lookup(ctx, "UPPER/Case"); !errors.Is(err, ErrInvalidImageName) {
		t.Errorf("Lookup(bad name) error = %v, want ErrInvalidImageName", err)
	}
	if err := s.Remove(ctx, "nothere"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Remove(absent) error = %v, want ErrNotFound", err)
	}
}

func TestLayersStoredOnce(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	root := t.TempDir()
	s := openStore(t, root)
	img := randomImage(t, 2)
	for _, n := range []string{"one:1", "two:2"} {
		if _, err := s.Add(ctx, img, n); err != nil {
			t.Fatalf("Add(%s): %v", n, err)
		}
	}
	// Two layers, a config and a manifest.
	if got := dirEntries(t, filepath.Join(root, "images", "blobs", "sha256")); len(got) != 4 {
		t.Errorf("blobs = %v, want 4", got)
	}
	if got := dirEntries(t, filepath.Join(root, "images", "layers")); len(got) != 2 {
		t.Errorf("unpacked layers = %v, want 2", got)
	}
}

func TestRemovePrune(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	root := t.TempDir()
	s := openStore(t, root)
	keep, drop := randomImage(t, 1), randomImage(t, 2)
	if _, err := s.Add(ctx, keep, "keep"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(ctx, drop, "drop", "drop:alias"); err != nil {
		t.Fatal(err)
	}
	res, err := s.Prune(ctx)
	if err != nil || res != (PruneResult{}) {
		t.Errorf("Prune with every image named = %+v, %v; want nothing removed", res, err)
	}
	for _, n := range []string{"drop", "drop:alias"} {
		if err := s.Remove(ctx, n); err != nil {
			t.Fatalf("Remove(%s): %v", n, err)
		}
	}
	res, err = s.Prune(ctx)
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	if res.Blobs != 4 || res.Layers != 2 || res.Bytes == 0 {
		t.Errorf("Prune = %+v, want 4 blobs (2 layers, config, manifest) and 2 layers", res)
	}
	if _, _, err := s.Lookup(ctx, "keep"); err != nil {
		t.Errorf("Lookup(keep) after prune: %v", err)
	}
	if _, _, err := s.Lookup(ctx, "drop"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup(drop) after prune error = %v, want ErrNotFound", err)
	}
	if got := dirEntries(t, filepath.Join(root, "images", "blobs", "sha256")); len(got) != 3 {
		t.Errorf("blobs after prune = %v, want 3", got)
	}
}

func TestLookupUnpacksMissingLayer(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	root := t.TempDir()
	s := openStore(t, root)
	if _, err := s.Add(ctx, randomImage(t, 1), "img"); err != nil {
		t.Fatal(err)
	}
	dirs, _, err := s.Lookup(ctx, "img")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dirs[0]); err != nil {
		t.Fatal(err)
	}
	again, _, err := s.Lookup(ctx, "img")
	if err != nil {
		t.Fatalf("Lookup after the layer dir vanished: %v", err)
	}
	if _, err := os.Stat(again[0]); err != nil {
		t.Errorf("layer not unpacked again: %v", err)
	}
}

// The runtime looks images up through this interface (internal/runtime/oci).
var _ interface {
	Lookup(ctx context.Context, ref string) (layerDirs []string, config *v1.ConfigFile, err error)
} = (*Store)(nil)
