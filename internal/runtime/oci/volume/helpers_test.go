package volume

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// requireRoot skips tests that mount when not root.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount")
	}
}

// newPodDir returns a pod directory whose volumes are torn down at the end
// of the test, and asserts that nothing stays mounted below it.
func newPodDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pod")
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := Teardown(context.Background(), dir); err != nil {
			t.Errorf("Teardown: %v", err)
		}
		assertNothingMounted(t, dir)
	})
	return dir
}

func assertNothingMounted(t *testing.T, dir string) {
	t.Helper()
	points, err := MountPoints()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range points {
		if within(p, dir) {
			t.Errorf("still mounted: %s", p)
		}
	}
}

func mountedAt(t *testing.T, p string) bool {
	t.Helper()
	points, err := MountPoints()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range points {
		if m == p {
			return true
		}
	}
	return false
}

func testPod(vols ...corev1.Volume) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "uid-1", Labels: map[string]string{"app": "web", "tier": "front"}},
		Spec: corev1.PodSpec{
			Volumes: vols,
			Containers: []corev1.Container{{
				Name: "main",
			}},
		},
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return string(b)
}

func fileMode(t *testing.T, p string) os.FileMode {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode()
}
