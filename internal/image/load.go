package image

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// Add stores img under every name in names (normalised as Normalize does)
// and unpacks its layers.
func (s *Store) Add(ctx context.Context, img v1.Image, names ...string) (Image, error) {
	if len(names) == 0 {
		return Image{}, errors.New("add image: no name given")
	}
	full := make([]string, len(names))
	for i, n := range names {
		c, err := Normalize(n)
		if err != nil {
			return Image{}, err
		}
		full[i] = c
	}
	gc, err := s.gcLock(false)
	if err != nil {
		return Image{}, err
	}
	defer gc.Unlock()
	desc, err := s.addImage(ctx, img, full, nil)
	if err != nil {
		return Image{}, fmt.Errorf("add image %s: %w", quoteRefs(full), err)
	}
	return s.describe(full[0], desc)
}

// describe returns the Image for a stored name and manifest descriptor.
func (s *Store) describe(fullName string, desc v1.Descriptor) (Image, error) {
	raw, err := s.readBlob(desc.Digest)
	if err != nil {
		return Image{}, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return Image{}, fmt.Errorf("manifest %s: %w", desc.Digest, err)
	}
	img := Image{Name: fullName, Digest: desc.Digest, ID: m.Config.Digest, Size: desc.Size + m.Config.Size}
	for _, l := range m.Layers {
		img.Size += l.Size
	}
	return img, nil
}

// Load stores the images of an archive or directory made elsewhere: a
// Docker archive (docker save), an OCI archive (a tar of an OCI layout,
// as podman and buildkit write), either optionally gzipped, or an OCI
// layout directory. Images are named by the archive: RepoTags in a Docker
// archive, the io.containerd.image.name or org.opencontainers.image.ref.name
// annotation in an OCI layout.
func (s *Store) Load(ctx context.Context, path string) ([]Image, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load images: %w", err)
	}
	if fi.IsDir() {
		return s.loadLayout(ctx, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load images: %w", err)
	}
	defer f.Close()
	imgs, err := s.LoadArchive(ctx, f)
	if err != nil {
		return imgs, fmt.Errorf("load images from %q: %w", path, err)
	}
	return imgs, nil
}

// LoadArchive stores the images of a Docker or OCI archive, optionally
// gzipped, read from r (as `docker load` reads its standard input).
func (s *Store) LoadArchive(ctx context.Context, r io.Reader) ([]Image, error) {
	tmp, err := os.MkdirTemp(s.dir, ".tmp-load-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := extract(ctx, r, tmp); err != nil {
		return nil, err
	}
	switch {
	case exists(filepath.Join(tmp, "oci-layout")):
		// Also what docker save writes since Docker 25, besides manifest.json.
		return s.loadLayout(ctx, tmp)
	case exists(filepath.Join(tmp, "manifest.json")):
		return s.loadDockerArchive(ctx, tmp)
	}
	return nil, errors.New("not an image archive: neither oci-layout nor manifest.json found")
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// extract unpacks the tar stream r, gzipped or not, into dir, refusing
// entries that would land outside it.
func extract(ctx context.Context, r io.Reader, dir string) error {
	br := bufio.NewReader(r)
	var tr io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return err
		}
		defer zr.Close()
		tr = zr
	}
	if err := Unpack(ctx, dir, tr, UnpackOptions{}); err != nil {
		return fmt.Errorf("not an image archive: %w", err)
	}
	return nil
}

// loadDockerArchive stores the images of a Docker archive extracted in
// dir under their RepoTags.
func (s *Store) loadDockerArchive(ctx context.Context, dir string) ([]Image, error) {
	m, err := readDockerManifest(dir)
	if err != nil {
		return nil, err
	}
	var out []Image
	for i, entry := range m {
		if len(entry.RepoTags) == 0 {
			return out, fmt.Errorf("image %d (%s) has no name: save it with a name (docker save NAME:TAG)", i, entry.Config)
		}
		img, err := newArchiveImage(dir, entry)
		if err != nil {
			return out, fmt.Errorf("image %q: %w", entry.RepoTags[0], err)
		}
		added, err := s.Add(ctx, img, entry.RepoTags...)
		if err != nil {
			return out, err
		}
		out = append(out, added)
	}
	return out, nil
}

func (s *Store) loadLayout(ctx context.Context, dir string) ([]Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("load OCI layout %q: %w", dir, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("load OCI layout %q: %w", dir, err)
	}
	var out []Image
	for _, desc := range m.Manifests {
		ref := layoutName(desc)
		if ref == "" {
			return out, fmt.Errorf("load OCI layout %q: image %s has no name (annotation %s)", dir, desc.Digest, annotationImageName)
		}
		var img v1.Image
		if desc.MediaType.IsIndex() {
			child, err := idx.ImageIndex(desc.Digest)
			if err != nil {
				return out, fmt.Errorf("load %q from %q: %w", ref, dir, err)
			}
			img, err = s.platformImage(child)
			if err != nil {
				return out, fmt.Errorf("load %q from %q: %w", ref, dir, err)
			}
		} else {
			img, err = idx.Image(desc.Digest)
			if err != nil {
				return out, fmt.Errorf("load %q from %q: %w", ref, dir, err)
			}
		}
		added, err := s.Add(ctx, img, ref)
		if err != nil {
			return out, err
		}
		out = append(out, added)
	}
	return out, nil
}

// layoutName returns the name an OCI layout gives an image: containerd's
// full-name annotation, else the OCI ref name when it is a full name.
func layoutName(desc v1.Descriptor) string {
	if n := desc.Annotations[annotationImageName]; n != "" {
		return n
	}
	n := desc.Annotations[annotationRefName]
	if strings.ContainsAny(n, "/:@") {
		return n
	}
	return ""
}

// platformImage picks the image for the store's platform from an index.
func (s *Store) platformImage(idx v1.ImageIndex) (v1.Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range m.Manifests {
		if d.Platform != nil && d.Platform.Satisfies(s.opts.platform) && d.MediaType.IsImage() {
			return idx.Image(d.Digest)
		}
	}
	return nil, fmt.Errorf("no image for platform %s in index", s.opts.platform)
}
