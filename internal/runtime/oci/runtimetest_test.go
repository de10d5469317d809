package oci

import (
	"testing"
	"time"

	"github.com/podrun/podrun/internal/runtime/runtimetest"
)

// TestE2EContract runs the Runtime contract every runtime passes on runc.
func TestE2EContract(t *testing.T) {
	t.Parallel()
	runtimetest.RunSuite(t, func(t *testing.T) runtimetest.Harness {
		tr := newTestRuntime(t)
		return runtimetest.Harness{Runtime: tr, Advance: time.Sleep, Image: busyboxRef, LogDir: t.TempDir()}
	})
}
