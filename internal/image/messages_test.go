package image

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestMessages(t *testing.T) {
	const img = "localhost/kref/busybox:this-tag-does-not-exist-c023"
	got := []string{
		PullingMessage(img),
		PulledMessage("busybox:1.36", 1234567*time.Microsecond, 2345678*time.Microsecond, 2156123),
		PresentMessage("busybox:1.36"),
		FailedPullMessage(img, errors.New("failed to pull and unpack image")),
		BackOffPullMessage(img),
	}
	// Texts from kubectl-golden/pod-init-errimagepull and kubelet 1.37.
	want := []string{
		`Pulling image "localhost/kref/busybox:this-tag-does-not-exist-c023"`,
		`Successfully pulled image "busybox:1.36" in 1.234s (2.345s including waiting). Image size: 2156123 bytes.`,
		`Container image "busybox:1.36" already present on machine and can be accessed by the pod`,
		`Failed to pull image "localhost/kref/busybox:this-tag-does-not-exist-c023": failed to pull and unpack image`,
		`Back-off pulling image "localhost/kref/busybox:this-tag-does-not-exist-c023"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}
