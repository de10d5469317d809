package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// PruneResult says what Prune removed.
type PruneResult struct {
	// Blobs is the number of blobs removed.
	Blobs int
	// Layers is the number of unpacked layer directories removed.
	Layers int
	// Bytes is the total size of the removed blobs.
	Bytes int64
}

// Prune removes every blob and unpacked layer no stored name references,
// and leftovers of interrupted writes. It waits for pulls and loads in
// progress to finish, and keeps the unpacked layers a mounted overlay (a
// running container's root filesystem) uses as lower dirs.
func (s *Store) Prune(ctx context.Context) (PruneResult, error) {
	var res PruneResult
	gc, err := s.gcLock(true)
	if err != nil {
		return res, err
	}
	defer gc.Unlock()
	blobs, layers, err := s.referenced()
	if err != nil {
		return res, fmt.Errorf("prune images: %w", err)
	}
	blobDir := filepath.Join(s.dir, "blobs", "sha256")
	entries, err := os.ReadDir(blobDir)
	if err != nil {
		return res, fmt.Errorf("prune images: %w", err)
	}
	for _, e := range entries {
		if blobs[e.Name()] {
			continue
		}
		if fi, err := e.Info(); err == nil {
			res.Bytes += fi.Size()
		}
		if err := os.RemoveAll(filepath.Join(blobDir, e.Name())); err != nil {
			return res, fmt.Errorf("prune images: %w", err)
		}
		res.Blobs++
	}
	layerRoot := filepath.Join(s.dir, "layers")
	inUse, err := layersInUse(s.mountinfo, layerRoot)
	if err != nil {
		return res, fmt.Errorf("prune images: %w", err)
	}
	entries, err = os.ReadDir(layerRoot)
	if err != nil {
		return res, fmt.Errorf("prune images: %w", err)
	}
	for _, e := range entries {
		if layers[e.Name()] || inUse[e.Name()] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if err := os.RemoveAll(filepath.Join(layerRoot, e.Name())); err != nil {
			return res, fmt.Errorf("prune images: %w", err)
		}
		res.Layers++
	}
	return res, nil
}

// referenced returns the hex digests of the blobs and unpacked layers the
// stored names reference.
func (s *Store) referenced() (blobs, layers map[string]bool, err error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, nil, err
	}
	blobs, layers = map[string]bool{}, map[string]bool{}
	for _, d := range idx.Manifests {
		blobs[d.Digest.Hex] = true
		raw, err := s.readBlob(d.Digest)
		if err != nil {
			return nil, nil, err
		}
		m, err := v1.ParseManifest(bytes.NewReader(raw))
		if err != nil {
			return nil, nil, fmt.Errorf("manifest %s: %w", d.Digest, err)
		}
		blobs[m.Config.Digest.Hex] = true
		for _, l := range m.Layers {
			blobs[l.Digest.Hex] = true
		}
		rawConfig, err := s.readBlob(m.Config.Digest)
		if err != nil {
			return nil, nil, err
		}
		var cf struct {
			RootFS struct {
				DiffIDs []v1.Hash `json:"diff_ids"`
			} `json:"rootfs"`
		}
		if err := json.Unmarshal(rawConfig, &cf); err != nil {
			return nil, nil, fmt.Errorf("config %s: %w", m.Config.Digest, err)
		}
		for _, id := range cf.RootFS.DiffIDs {
			layers[id.Hex] = true
		}
	}
	return blobs, layers, nil
}
