package testimage

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"runtime"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BusyboxPath is where Debian's busybox-static package installs busybox.
const BusyboxPath = "/bin/busybox"

// BusyboxRef is the name the busybox image carries in the layouts this
// package writes, normalised as containerd names Docker Hub images.
const BusyboxRef = "docker.io/library/busybox:latest"

// Annotations an OCI layout index uses to name its images.
const (
	// AnnotationRefName is the OCI annotation holding an image's tag.
	AnnotationRefName = "org.opencontainers.image.ref.name"
	// AnnotationImageName is containerd's annotation holding an image's
	// full name.
	AnnotationImageName = "io.containerd.image.name"
)

// epoch is the modification and creation time of everything in the image,
// fixed so that builds are reproducible.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	passwd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
	group  = "root:x:0:\nnobody:x:65534:\n"
)

// BusyboxImage builds a busybox image from the host's /bin/busybox: one
// layer with /bin/busybox, a symbolic link per applet at the path busybox
// lists for it (including /bin/sh), /etc/passwd and /etc/group with root and
// nobody, and /tmp with mode 1777; the config runs "sh" with a standard
// PATH. It fails, naming the package to install, when /bin/busybox is
// missing or is not statically linked.
func BusyboxImage(ctx context.Context) (v1.Image, error) {
	return busyboxImage(ctx, BusyboxPath)
}

func busyboxImage(ctx context.Context, bin string) (v1.Image, error) {
	if err := checkStatic(bin); err != nil {
		return nil, err
	}
	applets, err := listApplets(ctx, bin)
	if err != nil {
		return nil, err
	}
	content, err := os.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("read busybox %q: %w", bin, err)
	}
	layerTar, err := busyboxTar(content, applets)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("busybox layer: %w", err)
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: epoch},
			CreatedBy: "podrun testimage: busybox from " + bin,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("busybox image: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("busybox image config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Architecture = runtime.GOARCH
	cf.OS = "linux"
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Cmd = []string{"sh"}
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("busybox image config: %w", err)
	}
	return img, nil
}

// Busybox writes an OCI image layout at dir (created if needed) holding
// the image BusyboxImage builds, named BusyboxRef in the layout's index,
// and returns dir.
func Busybox(ctx context.Context, dir string) (layoutPath string, err error) {
	img, err := BusyboxImage(ctx)
	if err != nil {
		return "", err
	}
	if err := WriteLayout(dir, img, BusyboxRef); err != nil {
		return "", err
	}
	return dir, nil
}

// WriteLayout writes img as the only image of a new OCI image layout at
// dir, annotated with ref as containerd names images and with ref's tag as
// the OCI ref name.
func WriteLayout(dir string, img v1.Image, ref string) error {
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("write OCI layout %q: %w", dir, err)
	}
	annotations := map[string]string{AnnotationImageName: ref}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		annotations[AnnotationRefName] = ref[i+1:]
	}
	if err := p.AppendImage(img, layout.WithAnnotations(annotations)); err != nil {
		return fmt.Errorf("write image %q to OCI layout %q: %w", ref, dir, err)
	}
	return nil
}

func checkStatic(bin string) error {
	f, err := elf.Open(bin)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("busybox %q not found: install the Debian package busybox-static (apt-get install busybox-static)", bin)
	}
	if err != nil {
		return fmt.Errorf("busybox %q: %w", bin, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("busybox %q is dynamically linked: install the Debian package busybox-static (apt-get install busybox-static)", bin)
		}
	}
	return nil
}

// listApplets returns the install path of every applet, relative to /,
// sorted, always including bin/sh.
func listApplets(ctx context.Context, bin string) ([]string, error) {
	out, err := exec.CommandContext(ctx, bin, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("list busybox applets with %q: %w", bin, err)
	}
	seen := map[string]bool{"bin/sh": true}
	for _, line := range strings.Split(string(out), "\n") {
		p := strings.Trim(path.Clean("/"+strings.TrimSpace(line)), "/")
		if p == "" || p == "bin/busybox" || strings.HasPrefix(p, "..") {
			continue
		}
		seen[p] = true
	}
	applets := make([]string, 0, len(seen))
	for p := range seen {
		applets = append(applets, p)
	}
	sort.Strings(applets)
	return applets, nil
}

func busyboxTar(content []byte, applets []string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]int64{
		"bin": 0o755, "dev": 0o755, "etc": 0o755, "home": 0o755, "proc": 0o755,
		"root": 0o700, "sbin": 0o755, "sys": 0o755, "tmp": 0o1777, "usr": 0o755,
		"usr/bin": 0o755, "usr/sbin": 0o755, "var": 0o755,
	}
	for _, a := range applets {
		for d := path.Dir(a); d != "."; d = path.Dir(d) {
			if _, ok := dirs[d]; !ok {
				dirs[d] = 0o755
			}
		}
	}
	names := make([]string, 0, len(dirs))
	for d := range dirs {
		names = append(names, d)
	}
	sort.Strings(names)
	var hdrs []*tar.Header
	for _, d := range names {
		hdrs = append(hdrs, &tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: dirs[d]})
	}
	write := func(h *tar.Header, body []byte) error {
		h.ModTime = epoch
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("busybox layer entry %q: %w", h.Name, err)
		}
		if _, err := tw.Write(body); err != nil {
			return fmt.Errorf("busybox layer entry %q: %w", h.Name, err)
		}
		return nil
	}
	for _, h := range hdrs {
		if err := write(h, nil); err != nil {
			return nil, err
		}
	}
	files := []struct {
		name string
		mode int64
		body []byte
	}{
		{"bin/busybox", 0o755, content},
		{"etc/group", 0o644, []byte(group)},
		{"etc/passwd", 0o644, []byte(passwd)},
	}
	for _, f := range files {
		h := &tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.body))}
		if err := write(h, f.body); err != nil {
			return nil, err
		}
	}
	for _, a := range applets {
		h := &tar.Header{Typeflag: tar.TypeSymlink, Name: a, Linkname: "/bin/busybox", Mode: 0o777}
		if err := write(h, nil); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("busybox layer: %w", err)
	}
	return buf.Bytes(), nil
}
