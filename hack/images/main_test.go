package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podrun/podrun/internal/image"
	"github.com/podrun/podrun/internal/image/testimage"
)

func TestBusyboxLoadAndLayout(t *testing.T) {
	if _, err := os.Stat(testimage.BusyboxPath); err != nil {
		t.Skipf("busybox-static is not installed: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to unpack layers with their owners")
	}
	ctx := context.Background()
	root, layoutDir := t.TempDir(), filepath.Join(t.TempDir(), "layout")
	var out strings.Builder
	err := run(ctx, []string{"busybox", "--load", "--root", root, "--layout", layoutDir, "--tag", "example.com/bb:1"}, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	s, err := image.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"busybox", "docker.io/library/busybox:latest", "example.com/bb:1"} {
		dirs, cfg, err := s.Lookup(ctx, ref)
		if err != nil {
			t.Fatalf("Lookup(%s): %v", ref, err)
		}
		if _, err := os.Lstat(filepath.Join(dirs[0], "bin", "sh")); err != nil || cfg.Config.Cmd[0] != "sh" {
			t.Errorf("Lookup(%s): bin/sh %v, Cmd %q", ref, err, cfg.Config.Cmd)
		}
	}
	if _, err := os.Stat(filepath.Join(layoutDir, "index.json")); err != nil {
		t.Errorf("layout not written: %v", err)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"postgres"}, {"busybox"}} {
		if err := run(context.Background(), args, &strings.Builder{}); err == nil {
			t.Errorf("run(%q) succeeded, want a usage error", args)
		}
	}
}
