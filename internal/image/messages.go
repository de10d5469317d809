package image

import (
	"fmt"
	"time"
)

// The kubelet's (1.37) event messages about images, for the executor to
// emit with the same words. image is the container's image field as the
// pod spec writes it.

// PullingMessage is the message of a Normal "Pulling" event.
func PullingMessage(image string) string {
	return fmt.Sprintf("Pulling image %q", image)
}

// PulledMessage is the message of a Normal "Pulled" event after a pull that
// took pull itself and total including the wait for its turn; size is the
// image's size in bytes (Image.Size).
func PulledMessage(image string, pull, total time.Duration, size int64) string {
	return fmt.Sprintf("Successfully pulled image %q in %v (%v including waiting). Image size: %v bytes.",
		image, pull.Truncate(time.Millisecond), total.Truncate(time.Millisecond), size)
}

// PresentMessage is the message of a Normal "Pulled" event when no pull
// was needed.
func PresentMessage(image string) string {
	return fmt.Sprintf("Container image %q already present on machine and can be accessed by the pod", image)
}

// FailedPullMessage is the message of a Warning "Failed" event for a pull
// that failed with err.
func FailedPullMessage(image string, err error) string {
	return fmt.Sprintf("Failed to pull image %q: %v", image, err)
}

// BackOffPullMessage is the message of a Normal "BackOff" event while
// pulls of image back off.
func BackOffPullMessage(image string) string {
	return fmt.Sprintf("Back-off pulling image %q", image)
}
