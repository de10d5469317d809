package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Store is podrun's image store under one state directory. Its methods are
// safe for concurrent use, also by several Store values and processes on
// one directory.
type Store struct {
	dir       string
	opts      options
	mountinfo string // where Prune reads the mounts, /proc/self/mountinfo
}

// Option configures a Store.
type Option func(*options)

type options struct {
	insecure     []string
	dockerConfig string
	transport    http.RoundTripper
	progress     io.Writer
	terminal     bool
	platform     v1.Platform
}

// WithInsecureRegistries lets the store talk plain HTTP to the registries
// named by host[:port], besides localhost and loopback addresses, which
// are always allowed.
func WithInsecureRegistries(hosts ...string) Option {
	return func(o *options) { o.insecure = append(o.insecure, hosts...) }
}

// WithDockerConfig reads registry credentials from the config.json in dir
// instead of the default Docker config ($DOCKER_CONFIG or ~/.docker).
func WithDockerConfig(dir string) Option {
	return func(o *options) { o.dockerConfig = dir }
}

// WithTransport sets the HTTP transport used to reach registries (default:
// a clone of http.DefaultTransport, which trusts the system CAs).
func WithTransport(rt http.RoundTripper) Option {
	return func(o *options) { o.transport = rt }
}

// WithProgress reports pull progress to w: a live line per layer when
// isTerminal, plain lines otherwise.
func WithProgress(w io.Writer, isTerminal bool) Option {
	return func(o *options) { o.progress, o.terminal = w, isTerminal }
}

// WithPlatform chooses the image of a multi-platform index (default: this
// machine's, linux/GOARCH).
func WithPlatform(p v1.Platform) Option {
	return func(o *options) { o.platform = p }
}

// Open opens, creating it if needed, the image store under podrun's state
// directory root (in root/images).
func Open(root string, opts ...Option) (*Store, error) {
	s := &Store{dir: filepath.Join(root, "images"), mountinfo: "/proc/self/mountinfo"}
	s.opts.platform = v1.Platform{OS: "linux", Architecture: goruntime.GOARCH}
	for _, o := range opts {
		o(&s.opts)
	}
	for _, d := range []string{"blobs/sha256", "layers", "locks"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("open image store %q: %w", s.dir, err)
		}
	}
	layoutFile := filepath.Join(s.dir, "oci-layout")
	if _, err := os.Stat(layoutFile); errors.Is(err, os.ErrNotExist) {
		if err := writeFileAtomic(layoutFile, []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
			return nil, fmt.Errorf("open image store %q: %w", s.dir, err)
		}
	}
	return s, nil
}

// DefaultRoot returns podrun's default state directory: /var/lib/podrun
// for root, $XDG_DATA_HOME/podrun (or ~/.local/share/podrun) otherwise.
func DefaultRoot() string {
	if os.Geteuid() == 0 {
		return "/var/lib/podrun"
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "podrun")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "podrun-"+fmt.Sprint(os.Geteuid()))
	}
	return filepath.Join(home, ".local", "share", "podrun")
}

// Image describes one name of a stored image.
type Image struct {
	// Name is the full name, e.g. docker.io/library/busybox:latest.
	Name string
	// Digest is the digest of the image's manifest (or of the index the
	// name was pulled through).
	Digest v1.Hash
	// ID is the digest of the image's config, as `crictl images` shows.
	ID v1.Hash
	// Size is the total size of the image's manifest, config and
	// compressed layers, as containerd counts it.
	Size int64
}

// Lookup returns the unpacked layer directories of the image ref, bottom
// layer first (overlay's lowerdir option lists them top first), and its
// config, unpacking any layer not yet unpacked. The directories hold
// overlay whiteouts and opaque markers and must not be written to. An
// image the store does not hold is an error wrapping ErrNotFound.
func (s *Store) Lookup(ctx context.Context, ref string) (layerDirs []string, config *v1.ConfigFile, err error) {
	desc, err := s.find(ref)
	if err != nil {
		return nil, nil, err
	}
	img, err := s.image(desc)
	if err != nil {
		return nil, nil, fmt.Errorf("image %q: %w", ref, err)
	}
	config, err = img.ConfigFile()
	if err != nil {
		return nil, nil, fmt.Errorf("image %q config: %w", ref, err)
	}
	gc, err := s.gcLock(false)
	if err != nil {
		return nil, nil, err
	}
	defer gc.Unlock()
	layerDirs, err = s.unpackImage(ctx, img)
	if err != nil {
		return nil, nil, fmt.Errorf("image %q: %w", ref, err)
	}
	return layerDirs, config, nil
}

// Get describes the stored image ref; an image the store does not hold
// is an error wrapping ErrNotFound.
func (s *Store) Get(ref string) (Image, error) {
	desc, err := s.find(ref)
	if err != nil {
		return Image{}, err
	}
	return s.describe(desc.Annotations[annotationImageName], desc)
}

// Has reports whether the store holds the image ref.
func (s *Store) Has(ref string) (bool, error) {
	_, err := s.find(ref)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// List returns every name the store holds, sorted.
func (s *Store) List(ctx context.Context) ([]Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	var out []Image
	for _, d := range idx.Manifests {
		img := Image{Name: d.Annotations[annotationImageName], Digest: d.Digest}
		if raw, err := s.readBlob(d.Digest); err == nil {
			if m, err := v1.ParseManifest(bytes.NewReader(raw)); err == nil {
				img.ID = m.Config.Digest
				img.Size = d.Size + m.Config.Size
				for _, l := range m.Layers {
					img.Size += l.Size
				}
			}
		}
		out = append(out, img)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Remove removes the name ref from the store; the image's blobs and layers
// stay until Prune. A digest name (repo@sha256:...) removes every name of
// that repository with that digest.
func (s *Store) Remove(ctx context.Context, ref string) error {
	r, err := parse(ref, nil)
	if err != nil {
		return err
	}
	want := canonical(r)
	removed := 0
	err = s.updateIndex(func(idx *v1.IndexManifest) error {
		kept := idx.Manifests[:0]
		for _, d := range idx.Manifests {
			if matches(d, r, want) {
				removed++
				continue
			}
			kept = append(kept, d)
		}
		idx.Manifests = kept
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove image %q: %w", ref, err)
	}
	if removed == 0 {
		return fmt.Errorf("remove image %q: %w", ref, ErrNotFound)
	}
	return nil
}

// find returns the manifest descriptor of the image ref.
func (s *Store) find(ref string) (v1.Descriptor, error) {
	r, err := parse(ref, nil)
	if err != nil {
		return v1.Descriptor{}, err
	}
	idx, err := s.readIndex()
	if err != nil {
		return v1.Descriptor{}, err
	}
	want := canonical(r)
	for _, d := range idx.Manifests {
		if d.Annotations[annotationImageName] == want {
			return d, nil
		}
	}
	for _, d := range idx.Manifests {
		if matches(d, r, want) {
			return d, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("image %q: %w", want, ErrNotFound)
}

// matches reports whether the index entry d is the image r (whose
// canonical name is want): by name, or for a digest name by repository and
// manifest digest.
func matches(d v1.Descriptor, r name.Reference, want string) bool {
	got := d.Annotations[annotationImageName]
	if got == want {
		return true
	}
	dr, ok := r.(name.Digest)
	if !ok || d.Digest.String() != dr.DigestStr() {
		return false
	}
	gr, err := parse(got, nil)
	return err == nil && repository(gr) == repository(r)
}

// Flatten unpacks every layer of the image ref in order into dst, applying
// whiteouts, for a root filesystem where overlay is unavailable. dst must
// exist and is normally empty.
func (s *Store) Flatten(ctx context.Context, ref, dst string) error {
	desc, err := s.find(ref)
	if err != nil {
		return err
	}
	img, err := s.image(desc)
	if err != nil {
		return fmt.Errorf("image %q: %w", ref, err)
	}
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("image %q: %w", ref, err)
	}
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			return fmt.Errorf("image %q layer %d: %w", ref, i, err)
		}
		err = Unpack(ctx, dst, rc, UnpackOptions{})
		rc.Close()
		if err != nil {
			return fmt.Errorf("image %q layer %d: %w", ref, i, err)
		}
	}
	return nil
}
