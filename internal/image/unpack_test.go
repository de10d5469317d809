package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// tarEntry is one entry of a crafted layer; Type defaults to a regular
// file, Mode to 0644 (0755 for directories).
type tarEntry struct {
	Name     string
	Type     byte
	Body     string
	Link     string
	Mode     int64
	UID, GID int
	Major    int64
	Minor    int64
}

func makeTar(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Typeflag: e.Type, Linkname: e.Link, Mode: e.Mode,
			Uid: e.UID, Gid: e.GID, Devmajor: e.Major, Devminor: e.Minor}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.Body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("tar header %q: %v", e.Name, err)
		}
		if _, err := tw.Write([]byte(e.Body)); err != nil {
			t.Fatalf("tar body %q: %v", e.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// describeTree returns one line per entry under root: type, mode, owner
// and content, link target or device numbers.
func describeTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		perm := fmt.Sprintf("%04o %d:%d", uint32(fi.Mode().Perm())|uint32(st.Mode&0o7000), st.Uid, st.Gid)
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out[rel] = "symlink -> " + target
		case fi.IsDir():
			out[rel] = "dir " + perm
			if v, err := unix.Lgetxattr(p, "trusted.overlay.opaque", make([]byte, 8)); err == nil && v > 0 {
				out[rel] += " opaque"
			}
		case fi.Mode()&fs.ModeCharDevice != 0:
			out[rel] = fmt.Sprintf("char %d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		case fi.Mode()&fs.ModeNamedPipe != 0:
			out[rel] = "fifo " + perm
		default:
			b, _ := os.ReadFile(p)
			out[rel] = fmt.Sprintf("file %s nlink=%d %q", perm, st.Nlink, b)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return out
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: ownership, device nodes and trusted attributes")
	}
}

func TestUnpack(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name    string
		overlay bool
		layers  [][]tarEntry
		want    map[string]string
	}{
		{
			name: "every entry kind",
			layers: [][]tarEntry{{
				{Name: "./etc/", Type: tar.TypeDir},
				{Name: "./etc/passwd", Body: "root", Mode: 0o640, UID: 0, GID: 42},
				{Name: "bin/tool", Body: "x", Mode: 0o4755, UID: 1000, GID: 1000},
				{Name: "bin/alias", Type: tar.TypeLink, Link: "bin/tool"},
				{Name: "bin/sh", Type: tar.TypeSymlink, Link: "/bin/busybox"},
				{Name: "dev/null", Type: tar.TypeChar, Major: 1, Minor: 3, Mode: 0o666},
				{Name: "run/fifo", Type: tar.TypeFifo, Mode: 0o600},
				{Name: "tmp/", Type: tar.TypeDir, Mode: 0o1777},
			}},
			want: map[string]string{
				"etc":        "dir 0755 0:0",
				"etc/passwd": `file 0640 0:42 nlink=1 "root"`,
				"bin":        "dir 0755 0:0",
				"bin/tool":   `file 4755 1000:1000 nlink=2 "x"`,
				"bin/alias":  `file 4755 1000:1000 nlink=2 "x"`,
				"bin/sh":     "symlink -> /bin/busybox",
				"dev":        "dir 0755 0:0",
				"dev/null":   "char 1:3",
				"run":        "dir 0755 0:0",
				"run/fifo":   "fifo 0600 0:0",
				"tmp":        "dir 1777 0:0",
			},
		},
		{
			name: "whiteouts applied",
			layers: [][]tarEntry{{
				{Name: "a/x", Body: "1"}, {Name: "a/y", Body: "2"},
				{Name: "b/z", Body: "3"}, {Name: "b/sub/w", Body: "4"},
				{Name: "c/d/e", Body: "5"},
			}, {
				{Name: "a/.wh.x"},
				{Name: "b/.wh..wh..opq"}, {Name: "b/new", Body: "6"},
				{Name: ".wh.c"},
				{Name: ".wh.never-existed"},
			}},
			want: map[string]string{
				"a":     "dir 0755 0:0",
				"a/y":   `file 0644 0:0 nlink=1 "2"`,
				"b":     "dir 0755 0:0",
				"b/new": `file 0644 0:0 nlink=1 "6"`,
			},
		},
		{
			name: "opaque directory keeps what its own layer wrote before the marker",
			layers: [][]tarEntry{{
				{Name: "d/old", Body: "1"},
			}, {
				{Name: "d/mine", Body: "2"}, {Name: "d/.wh..wh..opq"},
			}},
			want: map[string]string{
				"d":      "dir 0755 0:0",
				"d/mine": `file 0644 0:0 nlink=1 "2"`,
			},
		},
		{
			name:    "whiteouts kept for overlay",
			overlay: true,
			layers: [][]tarEntry{{
				{Name: "a/.wh.x"},
				{Name: "b/.wh..wh..opq"}, {Name: "b/new", Body: "6"},
			}},
			want: map[string]string{
				"a":     "dir 0755 0:0",
				"a/x":   "char 0:0",
				"b":     "dir 0755 0:0 opaque",
				"b/new": `file 0644 0:0 nlink=1 "6"`,
			},
		},
		{
			name: "a later entry replaces a symbolic link instead of writing through it",
			layers: [][]tarEntry{{
				{Name: "f", Type: tar.TypeSymlink, Link: "/etc/shadow"},
				{Name: "f", Body: "mine"},
			}},
			want: map[string]string{"f": `file 0644 0:0 nlink=1 "mine"`},
		},
		{
			name: "a directory replaced later in its own layer",
			layers: [][]tarEntry{{
				{Name: "x/", Type: tar.TypeDir},
				{Name: "x/y/", Type: tar.TypeDir},
				{Name: "x", Body: "file now"},
			}},
			want: map[string]string{"x": `file 0644 0:0 nlink=1 "file now"`},
		},
		{
			name: "relative symbolic link parent staying inside is followed",
			layers: [][]tarEntry{{
				{Name: "usr/lib/", Type: tar.TypeDir},
				{Name: "lib", Type: tar.TypeSymlink, Link: "usr/lib"},
				{Name: "lib/libc.so", Body: "c"},
			}},
			want: map[string]string{
				"usr":             "dir 0755 0:0",
				"usr/lib":         "dir 0755 0:0",
				"usr/lib/libc.so": `file 0644 0:0 nlink=1 "c"`,
				"lib":             "symlink -> usr/lib",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for i, l := range tc.layers {
				err := Unpack(context.Background(), root, bytes.NewReader(makeTar(t, l)), UnpackOptions{Overlay: tc.overlay})
				if err != nil {
					t.Fatalf("Unpack layer %d: %v", i, err)
				}
			}
			if diff := cmp.Diff(tc.want, describeTree(t, root)); diff != "" {
				t.Errorf("tree (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnpackRefusesEscapes(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name    string
		overlay bool
		// entries may use OUTSIDE for the absolute path of a directory
		// beside the root holding the file "victim".
		entries []tarEntry
	}{
		{name: "dot-dot", entries: []tarEntry{{Name: "../victim", Body: "pwned"}}},
		{name: "dot-dot after a directory", entries: []tarEntry{{Name: "a/../../victim", Body: "pwned"}}},
		{name: "absolute name", entries: []tarEntry{{Name: "OUTSIDE/victim", Body: "pwned"}}},
		{name: "absolute symlink parent", entries: []tarEntry{
			{Name: "l", Type: tar.TypeSymlink, Link: "OUTSIDE"},
			{Name: "l/victim", Body: "pwned"},
		}},
		{name: "relative symlink parent", entries: []tarEntry{
			{Name: "l", Type: tar.TypeSymlink, Link: "../../../../../../../../OUTSIDE"},
			{Name: "l/victim", Body: "pwned"},
		}},
		{name: "symlink chain parent", entries: []tarEntry{
			{Name: "a", Type: tar.TypeSymlink, Link: "b"},
			{Name: "b", Type: tar.TypeSymlink, Link: "OUTSIDE"},
			{Name: "a/victim", Body: "pwned"},
		}},
		{name: "symlink parent to a new directory", entries: []tarEntry{
			{Name: "l", Type: tar.TypeSymlink, Link: "OUTSIDE"},
			{Name: "l/newdir/", Type: tar.TypeDir},
		}},
		{name: "hard link with dot-dot", entries: []tarEntry{
			{Name: "h", Type: tar.TypeLink, Link: "../victim"},
		}},
		{name: "hard link through symlink", entries: []tarEntry{
			{Name: "l", Type: tar.TypeSymlink, Link: "OUTSIDE"},
			{Name: "h", Type: tar.TypeLink, Link: "l/victim"},
		}},
		{name: "hard link absolute", entries: []tarEntry{
			{Name: "h", Type: tar.TypeLink, Link: "OUTSIDE/victim"},
		}},
		{name: "whiteout through symlink", entries: []tarEntry{
			{Name: "l", Type: tar.TypeSymlink, Link: "OUTSIDE"},
			{Name: "l/.wh.victim"},
		}},
		{name: "overlay whiteout through symlink", overlay: true, entries: []tarEntry{
			{Name: "l", Type: tar.TypeSymlink, Link: "OUTSIDE"},
			{Name: "l/.wh.victim"},
		}},
		{name: "whiteout with dot-dot", entries: []tarEntry{{Name: "../.wh.victim"}}},
		{name: "opaque through symlink", entries: []tarEntry{
			{Name: "l", Type: tar.TypeSymlink, Link: "OUTSIDE"},
			{Name: "l/.wh..wh..opq"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			root := filepath.Join(base, "root")
			outside := filepath.Join(base, "outside")
			for _, d := range []string{root, outside} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			victim := filepath.Join(outside, "victim")
			if err := os.WriteFile(victim, []byte("safe"), 0o644); err != nil {
				t.Fatal(err)
			}
			entries := make([]tarEntry, len(tc.entries))
			for i, e := range tc.entries {
				e.Name = strings.ReplaceAll(e.Name, "OUTSIDE", outside)
				e.Link = strings.ReplaceAll(e.Link, "OUTSIDE", outside)
				entries[i] = e
			}
			before := describeTree(t, outside)
			err := Unpack(context.Background(), root, bytes.NewReader(makeTar(t, entries)), UnpackOptions{Overlay: tc.overlay})
			if !errors.Is(err, ErrUnsafeEntry) {
				t.Errorf("Unpack error = %v, want one wrapping ErrUnsafeEntry", err)
			}
			if diff := cmp.Diff(before, describeTree(t, outside)); diff != "" {
				t.Errorf("outside the root changed (-before +after):\n%s", diff)
			}
			if got := describeTree(t, base); got["victim"] != "" || got["newdir"] != "" {
				t.Errorf("entries created beside the root: %v", got)
			}
		})
	}
}

func TestUnpackExtendedAttributes(t *testing.T) {
	requireRoot(t)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "ping", Typeflag: tar.TypeReg, Mode: 0o755, PAXRecords: map[string]string{
			"SCHILY.xattr.user.podrun": "kept",
		}},
		{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755, PAXRecords: map[string]string{
			"SCHILY.xattr.trusted.overlay.opaque": "y",
		}},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	root := t.TempDir()
	if err := Unpack(context.Background(), root, &buf, UnpackOptions{Overlay: true}); err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	val := make([]byte, 16)
	n, err := unix.Lgetxattr(filepath.Join(root, "ping"), "user.podrun", val)
	if err != nil || string(val[:n]) != "kept" {
		t.Errorf("user.podrun on ping = %q, %v; want kept", val[:max(n, 0)], err)
	}
	if _, err := unix.Lgetxattr(filepath.Join(root, "d"), "trusted.overlay.opaque", val); err == nil {
		t.Errorf("a layer set trusted.overlay.opaque through a tar attribute; want it ignored")
	}
}
