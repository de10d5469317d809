package image

import (
	"context"
	"errors"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"
)

// EnsureImage makes the image ref present as the kubelet does for a
// container with the given imagePullPolicy: Always pulls (downloading only
// what changed), IfNotPresent pulls when the image is absent, Never fails
// with ErrImageNeverPull when it is absent; an empty policy is defaulted
// as the API server does (Always for :latest or no tag, else
// IfNotPresent). secrets are the pod's image pull secrets. resolved is the
// image's repository@digest, the form of a container status's imageID;
// pulled says whether a pull happened. Errors are of the kinds Reason
// names, with the kubelet's messages.
func (s *Store) EnsureImage(ctx context.Context, ref string, policy corev1.PullPolicy, secrets []*corev1.Secret) (resolved string, pulled bool, err error) {
	image, err := defaultTag(ref)
	if err != nil {
		return "", false, newKindError(ErrInvalidImageName, errors.Unwrap(err), "Failed to apply default image tag %q", ref)
	}
	if policy == "" {
		policy = DefaultPullPolicy(image)
	}
	desc, err := s.find(image)
	present := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return "", false, err
	}
	switch policy {
	case corev1.PullNever:
		if !present {
			return "", false, newKindError(ErrImageNeverPull, nil, "Container image %q is not present with pull policy of Never", image)
		}
		return s.resolved(image, desc), false, nil
	case corev1.PullIfNotPresent:
		if present {
			return s.resolved(image, desc), false, nil
		}
	}
	if _, err := s.Pull(ctx, image, secrets...); err != nil {
		return "", false, err
	}
	desc, err = s.find(image)
	if err != nil {
		return "", false, err
	}
	return s.resolved(image, desc), true, nil
}

// resolved returns repository@digest for the stored image ref with
// manifest descriptor desc: the digest it was pulled by (an index's, for a
// multi-platform image) when the store knows it, else its manifest's.
func (s *Store) resolved(ref string, desc v1.Descriptor) string {
	r, err := parse(ref, nil)
	if err != nil {
		return desc.Digest.String()
	}
	repo := repository(r)
	if idx, err := s.readIndex(); err == nil {
		for _, d := range idx.Manifests {
			n := d.Annotations[annotationImageName]
			if d.Digest == desc.Digest && strings.HasPrefix(n, repo+"@") {
				return n
			}
		}
	}
	return digestRef(r, desc.Digest.String())
}

// DefaultPullPolicy returns the imagePullPolicy the API server gives a
// container that sets none: Always when the image has the tag latest or
// neither tag nor digest, IfNotPresent otherwise.
func DefaultPullPolicy(ref string) corev1.PullPolicy {
	r, err := name.ParseReference(ref)
	if err != nil {
		return corev1.PullIfNotPresent
	}
	if t, ok := r.(name.Tag); ok && t.TagStr() == name.DefaultTag {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}
