package oci

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podrun/podrun/internal/runtime"
)

// TestShimPath checks the order in which the shim binary is looked for
// and the error that names what was tried.
func TestShimPath(t *testing.T) {
	dir := t.TempDir()
	exe := func(name string) string {
		p := filepath.Join(dir, name, "podrun-shim")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	opt, env, path := exe("opt"), exe("env"), exe("path")
	missing := filepath.Join(dir, "missing", "podrun-shim")
	for _, tc := range []struct {
		name            string
		opt, env, path  string
		want            string
		wantErrMentions []string
	}{
		{name: "Options.Shim first", opt: opt, env: env, path: filepath.Dir(path), want: opt},
		{name: "then $PODRUN_SHIM", env: env, path: filepath.Dir(path), want: env},
		{name: "then $PATH", path: filepath.Dir(path), want: path},
		{name: "a missing Options.Shim is an error", opt: missing, env: env, path: filepath.Dir(path),
			wantErrMentions: []string{`Options.Shim "` + missing + `" is not an executable file`}},
		{name: "a missing $PODRUN_SHIM is an error", env: missing, path: filepath.Dir(path),
			wantErrMentions: []string{`$PODRUN_SHIM "` + missing + `" is not an executable file`}},
		{name: "none", path: filepath.Join(dir, "empty"),
			wantErrMentions: []string{"$PODRUN_SHIM unset", "beside oci.test", "podrun-shim in $PATH", "go build"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(ShimEnv, tc.env)
			t.Setenv("PATH", tc.path)
			r := &Runtime{opts: Options{Shim: tc.opt}}
			got, err := r.ShimPath()
			if tc.wantErrMentions != nil {
				if !errors.Is(err, runtime.ErrNotSupported) {
					t.Fatalf("ShimPath = %q, %v; want an error wrapping ErrNotSupported", got, err)
				}
				for _, m := range tc.wantErrMentions {
					if !strings.Contains(err.Error(), m) {
						t.Errorf("error %q does not mention %q", err, m)
					}
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("ShimPath = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestCheck checks that Check names a missing runtime binary or shim, or
// a runtime that does not answer --version, and passes when both are
// there.
func TestCheck(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("Check needs root")
	}
	dir := t.TempDir()
	for name, script := range map[string]string{
		"runc":        "#!/bin/sh\necho runc version 1.1.5\n",
		"false":       "#!/bin/sh\necho no such option >&2\nexit 1\n",
		"podrun-shim": "#!/bin/sh\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	shim := filepath.Join(dir, "podrun-shim")
	for _, tc := range []struct {
		name        string
		opts        Options
		wantMention string // "" means no error
	}{
		{name: "both there", opts: Options{Runtime: filepath.Join(dir, "runc"), Shim: shim}},
		{name: "no runtime", opts: Options{Runtime: filepath.Join(dir, "nosuch-runc"), Shim: shim},
			wantMention: `oci runtime "` + filepath.Join(dir, "nosuch-runc") + `"`},
		{name: "not an OCI runtime", opts: Options{Runtime: filepath.Join(dir, "false"), Shim: shim},
			wantMention: "--version failed (exit status 1): no such option"},
		{name: "no shim", opts: Options{Runtime: filepath.Join(dir, "runc"), Shim: filepath.Join(dir, "nosuch-shim")},
			wantMention: "is not an executable file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(ShimEnv, "")
			err := Check(tc.opts)
			if tc.wantMention == "" {
				if err != nil {
					t.Fatalf("Check = %v; want nil", err)
				}
				return
			}
			if !errors.Is(err, runtime.ErrNotSupported) || !strings.Contains(err.Error(), tc.wantMention) {
				t.Fatalf("Check = %v; want an error wrapping ErrNotSupported that mentions %q", err, tc.wantMention)
			}
		})
	}
}
