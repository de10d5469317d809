package cli

import (
	"archive/tar"
	"bytes"
	"context"
	"flag"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/podrun/podrun/internal/image/testimage"
)

// updateImageGolden rewrites this file's golden files; a package-wide
// -update flag, when another test file defines one, does too.
var updateImageGolden = flag.Bool("update-image", false, "rewrite the image command golden files")

func shouldUpdateGolden() bool {
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		return true
	}
	return *updateImageGolden
}

// smallImage is a deterministic one-layer image holding the file "hello".
func smallImage(t *testing.T) v1.Image {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := []byte("hello from podrun\n")
	if err := tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write(body)
	tw.Close()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestImageCommands(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to unpack layers with their owners")
	}
	ctx := context.Background()
	root := t.TempDir()
	img := smallImage(t)
	layoutDir := filepath.Join(t.TempDir(), "layout")
	if err := testimage.WriteLayout(layoutDir, img, "example.com/team/app:v1"); err != nil {
		t.Fatal(err)
	}
	var saved bytes.Buffer
	if err := tarball.Write(mustTag(t, "example.com/team/stdin:v3"), img, &saved); err != nil {
		t.Fatal(err)
	}
	archive := saved.Bytes()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ref, err := name.ParseReference(host + "/team/pulled:v2")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		args     []string
		stdin    []byte
		wantCode int
		// fields prints the output as space-separated fields, for tables
		// whose column widths depend on the registry's port.
		fields bool
	}{
		{args: []string{"image", "load", "-i", layoutDir}, wantCode: ExitOK},
		{args: []string{"image", "ls"}, wantCode: ExitOK},
		{args: []string{"image", "inspect", "example.com/team/app:v1"}, wantCode: ExitOK},
		{args: []string{"image", "load", "-i", "-"}, stdin: archive, wantCode: ExitOK},
		{args: []string{"image", "pull", host + "/team/pulled:v2"}, wantCode: ExitOK},
		{args: []string{"image", "ls"}, wantCode: ExitOK, fields: true},
		{args: []string{"image", "rm", "example.com/team/app:v1"}, wantCode: ExitOK},
		{args: []string{"image", "rm", "example.com/team/app:v1"}, wantCode: ExitFailed},
		{args: []string{"image", "rm", "Bad/Name"}, wantCode: ExitInput},
		{args: []string{"image", "prune"}, wantCode: ExitOK},
		{args: []string{"image", "rm", host + "/team/pulled:v2", host + "/team/pulled@sha256:" + digestHex(t, img), "example.com/team/stdin:v3"}, wantCode: ExitOK},
		{args: []string{"image", "prune"}, wantCode: ExitOK},
		{args: []string{"image", "ls"}, wantCode: ExitOK},
		{args: []string{"image", "pull", host + "/team/absent"}, wantCode: ExitFailed},
		{args: []string{"image", "load"}, wantCode: ExitInput},
	}
	var transcript strings.Builder
	for _, st := range steps {
		var out, errOut bytes.Buffer
		args := append([]string{"--root", root}, st.args...)
		code := Main(ctx, Streams{In: bytes.NewReader(st.stdin), Out: &out, ErrOut: &errOut}, args)
		if code != st.wantCode {
			t.Errorf("podrun %s: exit code %d, want %d\nstderr: %s", strings.Join(st.args, " "), code, st.wantCode, errOut.String())
		}
		transcript.WriteString("$ podrun " + strings.Join(st.args, " ") + "\n")
		if st.fields {
			for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
				transcript.WriteString(strings.Join(strings.Fields(line), " ") + "\n")
			}
		} else {
			transcript.WriteString(out.String())
		}
		if code != ExitOK {
			// Only the first line: the cause after it is the registry's.
			line, _, _ := strings.Cut(errOut.String(), "\n")
			if i := strings.Index(line, `": `); strings.Contains(line, "failed to pull") && i >= 0 {
				line = line[:i+1]
			}
			transcript.WriteString("stderr: " + line + "\n")
		}
	}
	got := strings.ReplaceAll(transcript.String(), host, "REGISTRY")
	got = strings.ReplaceAll(got, layoutDir, "LAYOUT")
	golden := filepath.Join("testdata", "image.golden")
	if shouldUpdateGolden() {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update-image to create)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("transcript (-want +got):\n%s", diff)
	}
}

func digestHex(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.Hex
}

func mustTag(t *testing.T, s string) name.Tag {
	t.Helper()
	tag, err := name.NewTag(s)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}
