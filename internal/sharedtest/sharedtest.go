// Package sharedtest locates the project's shared data (../shared beside
// the module root: the conformance catalog and the kubectl golden
// captures) for tests. The shared tree is part of the project in every
// checkout and in CI, so its absence fails the test instead of skipping it.
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns ../shared/<sub> relative to the module root above the
// test's working directory, failing t when it is missing.
func Dir(t testing.TB, sub string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("module root (go.mod) not found above the test directory")
		}
		dir = parent
	}
	shared := filepath.Join(dir, "..", "shared", sub)
	if _, err := os.Stat(shared); err != nil {
		t.Fatalf("shared data missing (expected at ../shared/%s beside the module root): %v", sub, err)
	}
	return shared
}
