package oci

import (
	"os"
	"testing"
)

// TestMain removes the busybox layer the end-to-end tests share once they
// all ran: a test run leaves nothing in /tmp.
func TestMain(m *testing.M) {
	code := m.Run()
	if busyboxLayer != "" {
		os.RemoveAll(busyboxLayer)
	}
	os.Exit(code)
}
