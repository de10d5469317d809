package image

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// readDockerManifest reads manifest.json of a Docker archive extracted in
// dir.
func readDockerManifest(dir string) (tarball.Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	var m tarball.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	return m, nil
}

// archiveImage is one image of a Docker archive extracted in dir. Its
// layers keep the form they have in the archive: a gzipped layer is stored
// as such, an uncompressed one (as docker save writes them) uncompressed,
// as containerd imports them, so loading never compresses anything.
type archiveImage struct {
	config   []byte
	manifest []byte
	layers   map[v1.Hash]*archiveLayer
}

type archiveLayer struct {
	path string
	desc v1.Descriptor
}

// newArchiveImage reads the image entry of a Docker archive extracted in
// dir.
func newArchiveImage(dir string, entry tarball.Descriptor) (v1.Image, error) {
	file := func(name string) string { return filepath.Join(dir, filepath.FromSlash(path.Clean("/"+name))) }
	config, err := os.ReadFile(file(entry.Config))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(config))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", entry.Config, err)
	}
	if len(cf.RootFS.DiffIDs) != len(entry.Layers) {
		return nil, fmt.Errorf("config %s lists %d layers, manifest.json %d", entry.Config, len(cf.RootFS.DiffIDs), len(entry.Layers))
	}
	configDigest, configSize, err := v1.SHA256(bytes.NewReader(config))
	if err != nil {
		return nil, err
	}
	img := &archiveImage{config: config, layers: map[v1.Hash]*archiveLayer{}}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.DockerManifestSchema2,
		Config:        v1.Descriptor{MediaType: types.DockerConfigJSON, Size: configSize, Digest: configDigest},
	}
	for i, name := range entry.Layers {
		l, err := readArchiveLayer(file(name), cf.RootFS.DiffIDs[i])
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", name, err)
		}
		img.layers[l.desc.Digest] = l
		m.Layers = append(m.Layers, l.desc)
	}
	if img.manifest, err = json.Marshal(m); err != nil {
		return nil, err
	}
	return partial.CompressedToImage(img)
}

// readArchiveLayer describes the layer file p: a gzipped layer by the
// digest of its content, an uncompressed one by its diffID (checked when
// the blob is written).
func readArchiveLayer(p string, diffID v1.Hash) (*archiveLayer, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	magic, _ := bufio.NewReader(f).Peek(2)
	if !bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		return &archiveLayer{path: p, desc: v1.Descriptor{MediaType: types.DockerUncompressedLayer, Size: fi.Size(), Digest: diffID}}, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	digest := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	return &archiveLayer{path: p, desc: v1.Descriptor{MediaType: types.DockerLayer, Size: fi.Size(), Digest: digest}}, nil
}

func (i *archiveImage) RawConfigFile() ([]byte, error) { return i.config, nil }

func (i *archiveImage) MediaType() (types.MediaType, error) { return types.DockerManifestSchema2, nil }

func (i *archiveImage) RawManifest() ([]byte, error) { return i.manifest, nil }

func (i *archiveImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	l, ok := i.layers[h]
	if !ok {
		return nil, fmt.Errorf("layer %s: %w", h, ErrNotFound)
	}
	return l, nil
}

func (l *archiveLayer) Digest() (v1.Hash, error) { return l.desc.Digest, nil }

func (l *archiveLayer) Compressed() (io.ReadCloser, error) { return os.Open(l.path) }

func (l *archiveLayer) Size() (int64, error) { return l.desc.Size, nil }

func (l *archiveLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }
