package podworkertest

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/podworker"
	"github.com/podrun/podrun/internal/runtime"
)

var (
	_ podworker.Images     = (*Images)(nil)
	_ podworker.ImageSizer = (*Images)(nil)
)

// Images is a scripted podworker.Images over a pretend registry. Present
// images need no pull (unless the policy is Always); images in the
// registry pull instantly and are present afterwards; any other image
// fails to pull with ErrImagePull, as a tag that does not exist.
type Images struct {
	mu       sync.Mutex
	present  map[string]bool
	registry map[string]bool
	pulls    []string
}

// NewImages returns Images where the given references are present and in
// the registry.
func NewImages(present ...string) *Images {
	im := &Images{present: map[string]bool{}, registry: map[string]bool{}}
	for _, p := range present {
		im.present[p], im.registry[p] = true, true
	}
	return im
}

// AddRemote puts ref in the registry without making it present.
func (im *Images) AddRemote(ref string) {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.registry[ref] = true
}

// Pulls returns the references pulled so far.
func (im *Images) Pulls() []string {
	im.mu.Lock()
	defer im.mu.Unlock()
	return append([]string(nil), im.pulls...)
}

// EnsureImage applies policy to ref.
func (im *Images) EnsureImage(ctx context.Context, ref string, policy corev1.PullPolicy, secrets []*corev1.Secret) (string, bool, error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.present[ref] && policy != corev1.PullAlways {
		return ref, false, nil
	}
	if policy == corev1.PullNever {
		return "", false, &runtime.StartError{Reason: runtime.ReasonErrImageNeverPull,
			Message: fmt.Sprintf("Container image %q is not present with pull policy of Never", ref)}
	}
	im.pulls = append(im.pulls, ref)
	if !im.registry[ref] {
		return "", false, &runtime.StartError{Reason: runtime.ReasonErrImagePull,
			Message: fmt.Sprintf("failed to pull and unpack image %q: failed to resolve reference %q: %s: not found", ref, ref, ref)}
	}
	im.present[ref] = true
	return ref, true, nil
}

// ImageSize returns a fixed size for every image.
func (im *Images) ImageSize(ctx context.Context, ref string) (int64, error) { return 2159616, nil }
