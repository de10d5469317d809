package image

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// blobPath returns where the blob h lives.
func (s *Store) blobPath(h v1.Hash) string {
	return filepath.Join(s.dir, "blobs", h.Algorithm, h.Hex)
}

// hasBlob reports whether the blob h is stored with the given size (any
// size when size < 0).
func (s *Store) hasBlob(h v1.Hash, size int64) bool {
	fi, err := os.Stat(s.blobPath(h))
	return err == nil && fi.Mode().IsRegular() && (size < 0 || fi.Size() == size)
}

// writeBlob stores the content of r as the blob want: written to a
// temporary file, checked against want (and size when size >= 0), synced,
// then renamed into place. A blob already present is not read again; r is
// then left unread. progress, when set, is told the bytes copied so far.
func (s *Store) writeBlob(want v1.Hash, size int64, r io.Reader, progress func(int64)) error {
	if want.Algorithm != "sha256" {
		return fmt.Errorf("blob %s: unsupported digest algorithm", want)
	}
	if s.hasBlob(want, size) {
		return nil
	}
	dir := filepath.Join(s.dir, "blobs", want.Algorithm)
	f, err := os.CreateTemp(dir, ".tmp-"+want.Hex+"-")
	if err != nil {
		return fmt.Errorf("blob %s: %w", want, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h := sha256.New()
	var w io.Writer = io.MultiWriter(f, h)
	if progress != nil {
		w = &progressWriter{w: w, report: progress}
	}
	n, err := io.Copy(w, r)
	if err != nil {
		return fmt.Errorf("blob %s: %w", want, err)
	}
	if size >= 0 && n != size {
		return fmt.Errorf("blob %s: got %d bytes, want %d", want, n, size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want.Hex {
		return fmt.Errorf("blob %s: content has digest sha256:%s", want, got)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("blob %s: %w", want, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("blob %s: %w", want, err)
	}
	if err := os.Rename(f.Name(), s.blobPath(want)); err != nil {
		return fmt.Errorf("blob %s: %w", want, err)
	}
	return nil
}

// writeBlobBytes stores b as a blob and returns its digest.
func (s *Store) writeBlobBytes(b []byte) (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		return v1.Hash{}, err
	}
	return h, s.writeBlob(h, int64(len(b)), bytes.NewReader(b), nil)
}

// readBlob returns the content of the blob h.
func (s *Store) readBlob(h v1.Hash) ([]byte, error) {
	b, err := os.ReadFile(s.blobPath(h))
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", h, err)
	}
	return b, nil
}

type progressWriter struct {
	w      io.Writer
	n      int64
	report func(int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.n += int64(n)
	p.report(p.n)
	return n, err
}

// storedImage is an image whose manifest, config and layers are blobs of
// the store; partial turns it into a v1.Image.
type storedImage struct {
	s        *Store
	desc     v1.Descriptor
	manifest []byte
	parsed   *v1.Manifest
}

// image returns the stored image the manifest descriptor desc names.
func (s *Store) image(desc v1.Descriptor) (v1.Image, error) {
	raw, err := s.readBlob(desc.Digest)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", desc.Digest, err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", desc.Digest, err)
	}
	img, err := partial.CompressedToImage(&storedImage{s: s, desc: desc, manifest: raw, parsed: m})
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", desc.Digest, err)
	}
	return img, nil
}

func (i *storedImage) RawConfigFile() ([]byte, error) { return i.s.readBlob(i.parsed.Config.Digest) }

func (i *storedImage) MediaType() (types.MediaType, error) {
	if i.parsed.MediaType != "" {
		return i.parsed.MediaType, nil
	}
	return i.desc.MediaType, nil
}

func (i *storedImage) RawManifest() ([]byte, error) { return i.manifest, nil }

func (i *storedImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	for _, l := range i.parsed.Layers {
		if l.Digest == h {
			return &storedLayer{s: i.s, desc: l}, nil
		}
	}
	if i.parsed.Config.Digest == h {
		return &storedLayer{s: i.s, desc: i.parsed.Config}, nil
	}
	return nil, fmt.Errorf("layer %s: %w", h, ErrNotFound)
}

// storedLayer is a compressed layer blob of the store.
type storedLayer struct {
	s    *Store
	desc v1.Descriptor
}

func (l *storedLayer) Digest() (v1.Hash, error) { return l.desc.Digest, nil }

func (l *storedLayer) Compressed() (io.ReadCloser, error) {
	f, err := os.Open(l.s.blobPath(l.desc.Digest))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("layer %s: %w", l.desc.Digest, ErrNotFound)
	}
	return f, err
}

func (l *storedLayer) Size() (int64, error) { return l.desc.Size, nil }

func (l *storedLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }
