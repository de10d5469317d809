package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"k8s.io/utils/clock"

	"github.com/podrun/podrun/internal/image"
	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/runtime"
	"github.com/podrun/podrun/internal/runtime/oci"
	"github.com/podrun/podrun/internal/store"
)

// Options configure a Local back-end.
type Options struct {
	// Root is the state directory; empty means store.DefaultRoot().
	Root string
	// Runtime is "runc" (default), "crun" or the path of an OCI runtime.
	Runtime string
	// Settings are the node settings (crash-loop ceiling, feature gates).
	Settings lifecycle.Settings
	// NodeName names this machine in pods and events; empty means the
	// host name.
	NodeName string
	// Logger receives debug records; nil discards them.
	Logger *slog.Logger
}

// Local runs pods on this machine.
type Local struct {
	opts   Options
	store  *store.Store
	images *image.Store
	rt     runtime.Runtime
	closer func() error
	clock  clock.WithTicker
	log    *slog.Logger
}

// Open opens the state directory and the image store and starts the OCI
// runtime (which makes this process the subreaper of its containers).
func Open(opts Options) (*Local, error) {
	if opts.Root == "" {
		root, err := store.DefaultRoot()
		if err != nil {
			return nil, err
		}
		opts.Root = root
	}
	if opts.NodeName == "" {
		host, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("node name: %w", err)
		}
		opts.NodeName = host
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	st, err := store.Open(opts.Root)
	if err != nil {
		return nil, fmt.Errorf("open state directory: %w", err)
	}
	images, err := image.Open(opts.Root)
	if err != nil {
		return nil, fmt.Errorf("open image store: %w", err)
	}
	rt, err := oci.New(oci.Options{
		Root:    filepath.Join(opts.Root, "runtime"),
		Runtime: opts.Runtime,
		Images:  podImages{images},
		Logger:  opts.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("start the OCI runtime: %w", err)
	}
	return &Local{opts: opts, store: st, images: images, rt: rt, closer: rt.Close,
		clock: clock.RealClock{}, log: opts.Logger}, nil
}

// Store returns the state directory.
func (l *Local) Store() *store.Store { return l.store }

// Images returns the image store.
func (l *Local) Images() *image.Store { return l.images }

// Close stops the runtime's reaper. It does not stop containers: runs stop
// theirs before they return.
func (l *Local) Close() error {
	if l.closer == nil {
		return nil
	}
	return errors.Join(l.closer())
}

// podImages gives the podworker the image store with the image sizes its
// Pulled events report.
type podImages struct{ *image.Store }

// ImageSize is the size of a stored image, as containerd counts it.
func (p podImages) ImageSize(_ context.Context, ref string) (int64, error) {
	img, err := p.Get(ref)
	if err != nil {
		return 0, err
	}
	return img.Size, nil
}

// ImageID is the digest of a stored image's config, for imageID in
// container statuses.
func (p podImages) ImageID(_ context.Context, ref string) (string, error) {
	img, err := p.Get(ref)
	if err != nil {
		return "", err
	}
	return img.ID.String(), nil
}

// CheckRuntime reports, without creating or starting anything, whether
// this machine has what running pods with the named OCI runtime needs:
// root, the runtime binary and podrun-shim (oci.Check). run and apply call
// it before they store or start anything.
func CheckRuntime(name string) error {
	if err := oci.Check(oci.Options{Runtime: name}); err != nil {
		return fmt.Errorf("cannot run pods here: %w", err)
	}
	return nil
}
