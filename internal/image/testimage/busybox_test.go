package testimage

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

func requireBusybox(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(BusyboxPath); err != nil {
		t.Skipf("busybox-static is not installed: %v", err)
	}
}

// entry is what a test checks of one tar entry.
type entry struct {
	Type     byte
	Mode     int64
	Linkname string
}

func layerEntries(t *testing.T, rc io.ReadCloser) map[string]entry {
	t.Helper()
	defer rc.Close()
	got := map[string]entry{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatalf("read layer: %v", err)
		}
		got[strings.TrimSuffix(h.Name, "/")] = entry{Type: h.Typeflag, Mode: h.Mode, Linkname: h.Linkname}
	}
}

func TestBusyboxImage(t *testing.T) {
	requireBusybox(t)
	ctx := context.Background()
	img, err := BusyboxImage(ctx)
	if err != nil {
		t.Fatalf("BusyboxImage: %v", err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("Layers() = %d layers, %v; want 1 layer", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatalf("Uncompressed: %v", err)
	}
	entries := layerEntries(t, rc)
	want := map[string]entry{
		"bin/busybox": {Type: tar.TypeReg, Mode: 0o755},
		"bin/sh":      {Type: tar.TypeSymlink, Mode: 0o777, Linkname: "/bin/busybox"},
		"usr/bin/env": {Type: tar.TypeSymlink, Mode: 0o777, Linkname: "/bin/busybox"},
		"bin/sleep":   {Type: tar.TypeSymlink, Mode: 0o777, Linkname: "/bin/busybox"},
		"etc/passwd":  {Type: tar.TypeReg, Mode: 0o644},
		"etc/group":   {Type: tar.TypeReg, Mode: 0o644},
		"tmp":         {Type: tar.TypeDir, Mode: 0o1777},
		"root":        {Type: tar.TypeDir, Mode: 0o700},
		"usr/sbin":    {Type: tar.TypeDir, Mode: 0o755},
		"etc/shadow":  {}, // absent
	}
	got := map[string]entry{}
	for name := range want {
		got[name] = entries[name]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("layer entries (-want +got):\n%s", diff)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatalf("ConfigFile: %v", err)
	}
	if diff := cmp.Diff([]string{"sh"}, cf.Config.Cmd); diff != "" {
		t.Errorf("Cmd (-want +got):\n%s", diff)
	}
	if len(cf.Config.Env) != 1 || !strings.HasPrefix(cf.Config.Env[0], "PATH=") {
		t.Errorf("Env = %q, want one PATH entry", cf.Config.Env)
	}
	if cf.OS != "linux" {
		t.Errorf("OS = %q, want linux", cf.OS)
	}
}

func TestBusyboxDeterministic(t *testing.T) {
	requireBusybox(t)
	ctx := context.Background()
	var digests []string
	for range 2 {
		img, err := BusyboxImage(ctx)
		if err != nil {
			t.Fatalf("BusyboxImage: %v", err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatalf("Digest: %v", err)
		}
		digests = append(digests, d.String())
	}
	if digests[0] != digests[1] {
		t.Errorf("two builds gave digests %s and %s, want the same", digests[0], digests[1])
	}
}

func TestBusyboxLayout(t *testing.T) {
	requireBusybox(t)
	dir := filepath.Join(t.TempDir(), "busybox")
	got, err := Busybox(context.Background(), dir)
	if err != nil {
		t.Fatalf("Busybox: %v", err)
	}
	if got != dir {
		t.Errorf("Busybox returned %q, want %q", got, dir)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("read layout: %v", err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatalf("IndexManifest: %v", err)
	}
	if len(m.Manifests) != 1 {
		t.Fatalf("layout has %d manifests, want 1", len(m.Manifests))
	}
	wantAnn := map[string]string{AnnotationImageName: BusyboxRef, AnnotationRefName: "latest"}
	if diff := cmp.Diff(wantAnn, m.Manifests[0].Annotations); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}
	if _, err := idx.Image(m.Manifests[0].Digest); err != nil {
		t.Errorf("image in layout: %v", err)
	}
}

func TestBusyboxMissingNamesPackage(t *testing.T) {
	_, err := busyboxImage(context.Background(), filepath.Join(t.TempDir(), "busybox"))
	if err == nil || !strings.Contains(err.Error(), "busybox-static") {
		t.Errorf("error = %v, want one naming busybox-static", err)
	}
}

func TestBusyboxDynamicRefused(t *testing.T) {
	// The test binary itself is dynamically linked only with cgo; /bin/ls
	// on Debian always is.
	if _, err := os.Stat("/bin/ls"); err != nil {
		t.Skip("no /bin/ls")
	}
	_, err := busyboxImage(context.Background(), "/bin/ls")
	if err == nil || !strings.Contains(err.Error(), "dynamically linked") {
		t.Errorf("error = %v, want dynamically linked", err)
	}
}
