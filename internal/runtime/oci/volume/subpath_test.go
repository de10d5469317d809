package volume

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/runtime/oci/spec"
)

// TestSubPathAttacks replays the CVE-2017-1002101 family: a container that
// can write into a volume plants symlinks so that a later subPath mount of
// that volume exposes a host path. Every attempt must fail with the
// kubelet's message and leave nothing mounted, while the secret file
// outside the volume stays out of reach.
func TestSubPathAttacks(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		name    string
		plant   func(t *testing.T, vol, secret string)
		subPath string
		// swap runs between the check and the descriptor walk.
		swap func(t *testing.T, vol, secret string)
	}{
		{
			name:    "absolute symlink",
			plant:   func(t *testing.T, vol, secret string) { symlink(t, filepath.Dir(secret), filepath.Join(vol, "evil")) },
			subPath: "evil",
		},
		{
			name:    "absolute symlink to a file",
			plant:   func(t *testing.T, vol, secret string) { symlink(t, secret, filepath.Join(vol, "evil")) },
			subPath: "evil",
		},
		{
			name: "relative symlink climbing out",
			plant: func(t *testing.T, vol, secret string) {
				rel, err := filepath.Rel(filepath.Join(vol, "a"), filepath.Dir(secret))
				if err != nil {
					t.Fatal(err)
				}
				mkdir(t, filepath.Join(vol, "a"))
				symlink(t, rel, filepath.Join(vol, "a", "evil"))
			},
			subPath: "a/evil",
		},
		{
			name:    "symlink to the root of the host",
			plant:   func(t *testing.T, vol, secret string) { symlink(t, "/", filepath.Join(vol, "root")) },
			subPath: "root/etc",
		},
		{
			name: "chain of symlinks ending outside",
			plant: func(t *testing.T, vol, secret string) {
				symlink(t, "hop2", filepath.Join(vol, "hop1"))
				symlink(t, filepath.Dir(secret), filepath.Join(vol, "hop2"))
			},
			subPath: "hop1",
		},
		{
			name:    "directory swapped for a symlink after the check",
			plant:   func(t *testing.T, vol, secret string) { mkdir(t, filepath.Join(vol, "innocent")) },
			subPath: "innocent",
			swap: func(t *testing.T, vol, secret string) {
				if err := os.Remove(filepath.Join(vol, "innocent")); err != nil {
					t.Fatal(err)
				}
				symlink(t, filepath.Dir(secret), filepath.Join(vol, "innocent"))
			},
		},
		{
			name:    "parent swapped for a symlink after the check",
			plant:   func(t *testing.T, vol, secret string) { mkdir(t, filepath.Join(vol, "p", "q")) },
			subPath: "p/q",
			swap: func(t *testing.T, vol, secret string) {
				if err := os.RemoveAll(filepath.Join(vol, "p")); err != nil {
					t.Fatal(err)
				}
				mkdir(t, filepath.Join(filepath.Dir(secret), "q"))
				symlink(t, filepath.Dir(secret), filepath.Join(vol, "p"))
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, _ := setupWithData(t)
			vol, _ := set.Path("data")
			secretDir := t.TempDir()
			secret := filepath.Join(secretDir, "shadow")
			if err := os.WriteFile(secret, []byte("host secret"), 0o600); err != nil {
				t.Fatal(err)
			}
			tc.plant(t, vol, secret)
			if tc.swap != nil {
				set.beforeOpen = func() { tc.swap(t, vol, secret) }
			}
			c := &corev1.Container{Name: "main", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/x", SubPath: tc.subPath}}}
			mounts, err := set.Mounts(context.Background(), c, nil)
			msg, ok := spec.IsConfigError(err)
			want := `failed to prepare subPath for volumeMount "data" of container "main"`
			if !ok || msg != want {
				t.Fatalf("Mounts = %v, %v\nwant ConfigError %q", mounts, err, want)
			}
			assertNothingMounted(t, filepath.Join(set.podDir, subpathsDir))
		})
	}
}

// TestSubPathSymlinkInside: a symlink that stays inside the volume is
// followed, as the kubelet does, and the bind shows the target.
func TestSubPathSymlinkInside(t *testing.T) {
	requireRoot(t)
	set, _ := setupWithData(t)
	vol, _ := set.Path("data")
	symlink(t, "dir", filepath.Join(vol, "alias"))
	symlink(t, filepath.Join(vol, "dir", "file.txt"), filepath.Join(vol, "abs-inside"))
	c := &corev1.Container{Name: "main", VolumeMounts: []corev1.VolumeMount{
		{Name: "data", MountPath: "/a", SubPath: "alias"},
		{Name: "data", MountPath: "/b", SubPath: "abs-inside"},
	}}
	mounts, err := set.Mounts(context.Background(), c, nil)
	if err != nil {
		t.Fatalf("Mounts: %v", err)
	}
	if got := readFile(t, filepath.Join(mounts[0].Source, "file.txt")); got != "inside" {
		t.Errorf("relative symlink subPath reads %q", got)
	}
	if got := readFile(t, mounts[1].Source); got != "inside" {
		t.Errorf("absolute in-volume symlink subPath reads %q", got)
	}
}

// TestSubPathMkdirRefusesSymlinks: creating a missing subPath never
// follows a planted symlink out of the volume.
func TestSubPathMkdirRefusesSymlinks(t *testing.T) {
	requireRoot(t)
	set, _ := setupWithData(t)
	vol, _ := set.Path("data")
	outside := t.TempDir()
	symlink(t, outside, filepath.Join(vol, "link"))
	if err := safeMkdirAll(vol, "link/new", 0o755); err == nil {
		t.Fatal("safeMkdirAll followed a symlink")
	}
	if _, err := os.Stat(filepath.Join(outside, "new")); !os.IsNotExist(err) {
		t.Errorf("directory created outside the volume: %v", err)
	}
	c := &corev1.Container{Name: "main", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/x", SubPath: "link/new"}}}
	_, err := set.Mounts(context.Background(), c, nil)
	if msg, ok := spec.IsConfigError(err); !ok || msg != `failed to create subPath directory for volumeMount "data" of container "main"` {
		t.Fatalf("Mounts error = %v, want the kubelet's subPath creation error", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "new")); !os.IsNotExist(err) {
		t.Errorf("directory created outside the volume: %v", err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}
