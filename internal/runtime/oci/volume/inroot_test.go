package volume

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/podrun/podrun/internal/runtime/oci/spec"
)

func TestReadFileInRoot(t *testing.T) {
	root := t.TempDir()
	hostSecret := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(hostSecret, []byte("host secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	mkdir(t, filepath.Join(root, "etc"))
	mkdir(t, filepath.Join(root, "real"))
	if err := os.WriteFile(filepath.Join(root, "real/passwd"), []byte("app:x:1001:1001::/:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// An absolute link resolves inside root; a link to the host's secret
	// path resolves to a path that does not exist in root.
	symlink(t, "/real/passwd", filepath.Join(root, "etc/passwd"))
	symlink(t, hostSecret, filepath.Join(root, "etc/group"))
	symlink(t, "../../../../../../../../"+hostSecret, filepath.Join(root, "etc/climb"))

	got, err := ReadFileInRoot(root, "/etc/passwd")
	if err != nil || string(got) != "app:x:1001:1001::/:/bin/sh\n" {
		t.Errorf("ReadFileInRoot(/etc/passwd) = %q, %v", got, err)
	}
	for _, name := range []string{"/etc/group", "/etc/climb", "etc/../../../" + hostSecret} {
		if got, err := ReadFileInRoot(root, name); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("ReadFileInRoot(%s) = %q, %v; want not found inside root", name, got, err)
		}
	}
	if _, err := ReadFileInRoot(root, "/etc"); err == nil {
		t.Error("a directory was read as a file")
	}

	db, err := LoadUserDB(root)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&spec.UserDB{Users: []spec.User{{Name: "app", UID: 1001, GID: 1001}}}, db); diff != "" {
		t.Errorf("LoadUserDB mismatch (-want +got):\n%s", diff)
	}
}
