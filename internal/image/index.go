package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotations naming an image in an OCI layout's index.
const (
	// annotationImageName holds the full name (containerd's convention).
	annotationImageName = "io.containerd.image.name"
	// annotationRefName holds the tag (the OCI convention).
	annotationRefName = "org.opencontainers.image.ref.name"
)

func (s *Store) indexPath() string { return filepath.Join(s.dir, "index.json") }

// readIndex returns the store's index; it needs no lock because the index
// is only ever replaced by rename.
func (s *Store) readIndex() (*v1.IndexManifest, error) {
	b, err := os.ReadFile(s.indexPath())
	if errors.Is(err, os.ErrNotExist) {
		return &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read image index: %w", err)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("read image index %q: %w", s.indexPath(), err)
	}
	return &idx, nil
}

// updateIndex applies fn to the index under the index lock and replaces
// the index file atomically.
func (s *Store) updateIndex(fn func(idx *v1.IndexManifest) error) error {
	l, err := lockFile(filepath.Join(s.dir, "locks", "index.lock"), true)
	if err != nil {
		return err
	}
	defer l.Unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	if err := fn(idx); err != nil {
		return err
	}
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return fmt.Errorf("write image index: %w", err)
	}
	if err := writeFileAtomic(s.indexPath(), b); err != nil {
		return fmt.Errorf("write image index: %w", err)
	}
	return nil
}

// setName points the name at desc, replacing any entry of that name.
func setName(idx *v1.IndexManifest, fullName string, desc v1.Descriptor) {
	desc.Annotations = map[string]string{annotationImageName: fullName}
	if tag := tagOf(fullName); tag != "" {
		desc.Annotations[annotationRefName] = tag
	}
	desc.Platform = nil
	for i, d := range idx.Manifests {
		if d.Annotations[annotationImageName] == fullName {
			idx.Manifests[i] = desc
			return
		}
	}
	idx.Manifests = append(idx.Manifests, desc)
}

// tagOf returns the tag of a full name, or "" for a digest name.
func tagOf(fullName string) string {
	r, err := parse(fullName, nil)
	if err != nil {
		return ""
	}
	if t, ok := r.(interface{ TagStr() string }); ok {
		return t.TagStr()
	}
	return ""
}

// writeFileAtomic writes b to a temporary file beside path, syncs it and
// renames it over path.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
