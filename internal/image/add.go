package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
)

// gcLock returns the store's collection lock: writers hold it shared,
// Prune exclusively.
func (s *Store) gcLock(exclusive bool) (*fileLock, error) {
	return lockFile(filepath.Join(s.dir, "locks", "gc.lock"), exclusive)
}

// layerReporter is told how a pull's layer downloads go; its methods are
// called from several goroutines at once.
type layerReporter interface {
	// begin lists the image's layers and which are already stored.
	begin(layers []v1.Descriptor, present map[v1.Hash]bool)
	// start, update and done follow one layer's download.
	start(digest v1.Hash)
	update(digest v1.Hash, n int64)
	done(digest v1.Hash)
}

// addImage stores img's blobs, unpacks its layers and points every name
// in names at it. Blobs already stored are not fetched again. The caller
// holds the collection lock shared.
func (s *Store) addImage(ctx context.Context, img v1.Image, names []string, report layerReporter) (v1.Descriptor, error) {
	rawManifest, err := img.RawManifest()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("manifest: %w", err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(rawManifest))
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("manifest: %w", err)
	}
	if err := s.addLayers(ctx, img, m.Layers, report); err != nil {
		return v1.Descriptor{}, err
	}
	if !s.hasBlob(m.Config.Digest, m.Config.Size) {
		rawConfig, err := img.RawConfigFile()
		if err != nil {
			return v1.Descriptor{}, fmt.Errorf("config: %w", err)
		}
		if err := s.writeBlob(m.Config.Digest, m.Config.Size, bytes.NewReader(rawConfig), nil); err != nil {
			return v1.Descriptor{}, fmt.Errorf("config: %w", err)
		}
	}
	digest, err := s.writeBlobBytes(rawManifest)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("manifest: %w", err)
	}
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("manifest: %w", err)
	}
	desc := v1.Descriptor{MediaType: mt, Size: int64(len(rawManifest)), Digest: digest}
	stored, err := s.image(desc)
	if err != nil {
		return v1.Descriptor{}, err
	}
	if _, err := s.unpackImage(ctx, stored); err != nil {
		return v1.Descriptor{}, err
	}
	err = s.updateIndex(func(idx *v1.IndexManifest) error {
		for _, n := range names {
			setName(idx, n, desc)
		}
		return nil
	})
	return desc, err
}

// maxParallelDownloads is how many layers a pull downloads at once, as
// containerd's default.
const maxParallelDownloads = 3

// addLayers stores the compressed blobs of img's layers that are not yet
// stored, downloading up to maxParallelDownloads at once.
func (s *Store) addLayers(ctx context.Context, img v1.Image, layers []v1.Descriptor, report layerReporter) error {
	var todo []v1.Descriptor
	seen := map[v1.Hash]bool{}
	present := map[v1.Hash]bool{}
	for _, l := range layers {
		if seen[l.Digest] {
			continue // a layer repeated in one image is stored once
		}
		seen[l.Digest] = true
		todo = append(todo, l)
		present[l.Digest] = s.hasBlob(l.Digest, l.Size)
	}
	if report != nil {
		report.begin(todo, present)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxParallelDownloads)
	for _, l := range todo {
		if present[l.Digest] {
			continue
		}
		g.Go(func() error { return s.addLayer(gctx, img, l, report) })
	}
	return g.Wait()
}

// addLayer downloads and stores the compressed blob of img's layer d.
func (s *Store) addLayer(ctx context.Context, img v1.Image, d v1.Descriptor, report layerReporter) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var progress func(int64)
	if report != nil {
		report.start(d.Digest)
		progress = func(n int64) { report.update(d.Digest, n) }
	}
	l, err := img.LayerByDigest(d.Digest)
	if err != nil {
		return fmt.Errorf("layer %s: %w", d.Digest, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return fmt.Errorf("layer %s: %w", d.Digest, err)
	}
	defer rc.Close()
	if err := s.writeBlob(d.Digest, d.Size, ctxReader{ctx: ctx, r: rc}, progress); err != nil {
		return err
	}
	if report != nil {
		report.done(d.Digest)
	}
	return nil
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// unpackImage unpacks every layer of img not yet unpacked and returns the
// layer directories, bottom layer first. The caller holds the collection
// lock shared.
func (s *Store) unpackImage(ctx context.Context, img v1.Image) ([]string, error) {
	// Fast path: every layer named by the config's diffIDs is unpacked
	// already. Asking a layer for its diffID may hash the whole layer.
	if cfg, err := img.ConfigFile(); err == nil && len(cfg.RootFS.DiffIDs) > 0 {
		dirs := make([]string, 0, len(cfg.RootFS.DiffIDs))
		for _, d := range cfg.RootFS.DiffIDs {
			dir := s.layerDir(d)
			if _, err := os.Stat(dir); err != nil {
				dirs = nil
				break
			}
			dirs = append(dirs, dir)
		}
		if dirs != nil {
			return dirs, nil
		}
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("layers: %w", err)
	}
	dirs := make([]string, 0, len(layers))
	for _, l := range layers {
		dir, err := s.unpackLayer(ctx, l)
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, dir)
	}
	return dirs, nil
}

// layerDir returns where the layer with uncompressed digest diffID is
// unpacked.
func (s *Store) layerDir(diffID v1.Hash) string {
	return filepath.Join(s.dir, "layers", diffID.Hex)
}

// unpackLayer unpacks l once, for overlay, into its layer directory: into
// a temporary directory under the layer's lock, checked against the
// layer's diffID, then renamed into place. The caller holds the collection
// lock shared.
func (s *Store) unpackLayer(ctx context.Context, l v1.Layer) (string, error) {
	diffID, err := l.DiffID()
	if err != nil {
		return "", fmt.Errorf("layer diffID: %w", err)
	}
	dir := s.layerDir(diffID)
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	lock, err := lockFile(filepath.Join(s.dir, "locks", "layer-"+diffID.Hex+".lock"), true)
	if err != nil {
		return "", err
	}
	defer lock.Unlock()
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	tmp, err := os.MkdirTemp(filepath.Join(s.dir, "layers"), ".tmp-"+diffID.Hex+"-")
	if err != nil {
		return "", fmt.Errorf("unpack layer %s: %w", diffID, err)
	}
	defer os.RemoveAll(tmp)
	rc, err := l.Uncompressed()
	if err != nil {
		return "", fmt.Errorf("unpack layer %s: %w", diffID, err)
	}
	defer rc.Close()
	h := sha256.New()
	r := io.TeeReader(rc, h)
	if err := Unpack(ctx, tmp, r, UnpackOptions{Overlay: true}); err != nil {
		return "", fmt.Errorf("unpack layer %s: %w", diffID, err)
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return "", fmt.Errorf("unpack layer %s: %w", diffID, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != diffID.Hex {
		return "", fmt.Errorf("unpack layer %s: content has digest sha256:%s", diffID, got)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("unpack layer %s: %w", diffID, err)
	}
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("unpack layer %s: %w", diffID, err)
	}
	return dir, nil
}
