package image

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/podrun/podrun/internal/image/testimage"
)

// tarDir writes the directory dir as a tar stream to w, gzipped when zip.
func tarDir(t *testing.T, dir, out string, zip bool) {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var w io.Writer = f
	if zip {
		zw := gzip.NewWriter(f)
		defer zw.Close()
		w = zw
	}
	tw := tar.NewWriter(w)
	defer tw.Close()
	if err := tw.AddFS(os.DirFS(dir)); err != nil {
		t.Fatalf("tar %s: %v", dir, err)
	}
}

func TestLoad(t *testing.T) {
	requireRoot(t)
	one, two := randomImage(t, 2), randomImage(t, 1)
	writeLayout := func(t *testing.T, dir string) string {
		p := filepath.Join(dir, "layout")
		if err := testimage.WriteLayout(p, one, "example.com/team/one:v1"); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name  string
		make  func(t *testing.T, dir string) string
		want  []string
		check map[string]v1.Image
	}{
		{
			name: "docker archive with two images",
			make: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "images.tar")
				refs := map[name.Reference]v1.Image{
					mustTag(t, "one:v1"):                  one,
					mustTag(t, "registry.local:5000/two"): two,
				}
				if err := tarball.MultiRefWriteToFile(p, refs); err != nil {
					t.Fatal(err)
				}
				return p
			},
			want:  []string{"docker.io/library/one:v1", "registry.local:5000/two:latest"},
			check: map[string]v1.Image{"one:v1": one, "registry.local:5000/two": two},
		},
		{
			name: "gzipped docker archive",
			make: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "one.tar")
				if err := tarball.WriteToFile(p, mustTag(t, "one:v1"), one); err != nil {
					t.Fatal(err)
				}
				gz := filepath.Join(dir, "one.tar.gz")
				gzipFile(t, p, gz)
				return gz
			},
			want:  []string{"docker.io/library/one:v1"},
			check: map[string]v1.Image{"one:v1": one},
		},
		{
			name: "docker save archive with uncompressed layers",
			make: func(t *testing.T, dir string) string {
				return dockerSaveArchive(t, dir, one, "one:v1")
			},
			want:  []string{"docker.io/library/one:v1"},
			check: map[string]v1.Image{"one:v1": one},
		},
		{
			name:  "OCI layout directory",
			make:  writeLayout,
			want:  []string{"example.com/team/one:v1"},
			check: map[string]v1.Image{"example.com/team/one:v1": one},
		},
		{
			name: "OCI archive",
			make: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "oci.tar")
				tarDir(t, writeLayout(t, dir), p, false)
				return p
			},
			want:  []string{"example.com/team/one:v1"},
			check: map[string]v1.Image{"example.com/team/one:v1": one},
		},
		{
			name: "gzipped OCI archive",
			make: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "oci.tar.gz")
				tarDir(t, writeLayout(t, dir), p, true)
				return p
			},
			want:  []string{"example.com/team/one:v1"},
			check: map[string]v1.Image{"example.com/team/one:v1": one},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, t.TempDir())
			path := tc.make(t, t.TempDir())
			loaded, err := s.Load(ctx, path)
			if err != nil {
				t.Fatalf("Load(%s): %v", path, err)
			}
			if diff := cmp.Diff(tc.want, names(loaded)); diff != "" {
				t.Errorf("loaded names (-want +got):\n%s", diff)
			}
			for ref, img := range tc.check {
				dirs, cfg, err := s.Lookup(ctx, ref)
				if err != nil {
					t.Fatalf("Lookup(%s): %v", ref, err)
				}
				wantCfg, _ := img.ConfigFile()
				if diff := cmp.Diff(wantCfg.RootFS.DiffIDs, cfg.RootFS.DiffIDs); diff != "" {
					t.Errorf("Lookup(%s) diffIDs (-want +got):\n%s", ref, diff)
				}
				if len(dirs) != len(wantCfg.RootFS.DiffIDs) {
					t.Errorf("Lookup(%s) = %d layer dirs, want %d", ref, len(dirs), len(wantCfg.RootFS.DiffIDs))
				}
			}
		})
	}
}

func TestLoadRejects(t *testing.T) {
	dir := t.TempDir()
	notImage := filepath.Join(dir, "plain.tar")
	tarDir(t, writeFiles(t, filepath.Join(dir, "x"), map[string]string{"hello": "world"}), notImage, false)
	s := openStore(t, t.TempDir())
	for path, want := range map[string]string{
		notImage:                          "not an image archive",
		filepath.Join(dir, "missing.tar"): "no such file",
	} {
		if _, err := s.Load(context.Background(), path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%s) error = %v, want one containing %q", path, err, want)
		}
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	for n, body := range files {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), fs.FileMode(0o644)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func mustTag(t *testing.T, s string) name.Tag {
	t.Helper()
	tag, err := name.NewTag(s)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

func gzipFile(t *testing.T, in, out string) {
	t.Helper()
	r, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	zw := gzip.NewWriter(w)
	if _, err := io.Copy(zw, r); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// dockerSaveArchive writes img as docker save does: a tar, with "./"
// names, of the config, one uncompressed layer.tar per layer and
// manifest.json.
func dockerSaveArchive(t *testing.T, dir string, img v1.Image, tag string) string {
	t.Helper()
	root := filepath.Join(dir, "save")
	cfg, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfgName, _ := img.ConfigName()
	files := map[string]string{cfgName.Hex + ".json": string(cfg)}
	layers, _ := img.Layers()
	var layerNames []string
	for _, l := range layers {
		diffID, _ := l.DiffID()
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		name := diffID.Hex + "/layer.tar"
		files[name] = string(b)
		layerNames = append(layerNames, name)
	}
	manifest, _ := json.Marshal([]map[string]any{{"Config": cfgName.Hex + ".json", "RepoTags": []string{tag}, "Layers": layerNames}})
	files["manifest.json"] = string(manifest)
	writeFiles(t, root, files)
	out := filepath.Join(dir, "save.tar")
	cmd := exec.Command("tar", "-C", root, "-cf", out, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, b)
	}
	return out
}

func TestLoadKeepsUncompressedLayers(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	img := randomImage(t, 2)
	s := openStore(t, t.TempDir())
	if _, err := s.Load(ctx, dockerSaveArchive(t, t.TempDir(), img, "saved:v1")); err != nil {
		t.Fatalf("Load: %v", err)
	}
	desc, err := s.find("saved:v1")
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.image(desc)
	if err != nil {
		t.Fatal(err)
	}
	m, err := stored.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	for i, l := range m.Layers {
		if l.MediaType != types.DockerUncompressedLayer || l.Digest != cf.RootFS.DiffIDs[i] {
			t.Errorf("layer %d stored as %s %s, want %s %s", i, l.MediaType, l.Digest, types.DockerUncompressedLayer, cf.RootFS.DiffIDs[i])
		}
	}
}
