package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
)

// Pull fetches the image ref from its registry and stores it under its
// full name and under repository@digest, where digest is what ref
// resolved to (the index digest of a multi-platform image, whose image for
// the store's platform is the one stored). Credentials come from secrets
// (image pull secrets) and the Docker config file. Layers already stored
// are not downloaded again, and a pull of an image another process or
// goroutine is pulling waits for it and then downloads nothing it
// fetched. Failures are ErrImagePull or ErrInvalidImageName errors.
func (s *Store) Pull(ctx context.Context, ref string, secrets ...*corev1.Secret) (Image, error) {
	r, err := parse(ref, s.plainHTTPAllowed)
	if err != nil {
		return Image{}, err
	}
	full := canonical(r)
	fail := func(err error) (Image, error) {
		return Image{}, newKindError(ErrImagePull, err, "failed to pull and unpack image %q", full)
	}
	kc, err := s.keychain(secrets)
	if err != nil {
		return fail(err)
	}
	gc, err := s.gcLock(false)
	if err != nil {
		return fail(err)
	}
	defer gc.Unlock()
	sum := sha256.Sum256([]byte(full))
	lock, err := lockFile(filepath.Join(s.dir, "locks", "pull-"+hex.EncodeToString(sum[:16])+".lock"), true)
	if err != nil {
		return fail(err)
	}
	defer lock.Unlock()
	desc, err := remote.Get(r,
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(kc),
		remote.WithTransport(s.transport()),
		remote.WithPlatform(s.opts.platform))
	if err != nil {
		return fail(fmt.Errorf("failed to resolve reference %q: %w", full, err))
	}
	img, err := desc.Image()
	if err != nil {
		return fail(err)
	}
	report := s.reporter(full)
	stored, err := s.addImage(ctx, img, []string{full, digestRef(r, desc.Digest.String())}, report)
	if err != nil {
		return fail(err)
	}
	return s.describe(full, stored)
}
