package oci

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/podrun/podrun/internal/runtime/oci/shimtest"
)

// TestMain builds podrun-shim for the tests that start containers (as
// root) and points $PODRUN_SHIM at it; afterwards it removes the shim and
// the busybox layer the end-to-end tests share: a test run leaves nothing
// in /tmp.
func TestMain(m *testing.M) {
	if os.Geteuid() == 0 {
		if err := shimtest.Setenv(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	if busyboxLayer != "" && os.Getenv(envChildLayer) == "" {
		os.RemoveAll(busyboxLayer)
	}
	shimtest.Remove()
	os.Exit(code)
}
