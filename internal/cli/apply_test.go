package cli

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestApplyBadInput checks that podrun apply refuses bad input with exit
// code 2 and stores nothing (testdata/apply/NAME.golden).
func TestApplyBadInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
	}{
		{name: "no-file", args: []string{"apply"}},
		{name: "invalid-pod", args: []string{"apply", "-f", "-"},
			stdin: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: Bad_Name\nspec:\n  containers:\n  - name: main\n    image: busybox\n"},
		{name: "one-invalid-of-two", args: []string{"apply", "-f", "-"},
			stdin: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: good\nspec:\n  containers:\n  - name: main\n    image: busybox\n---\n" +
				"apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\nspec:\n  containers: []\n"},
		{name: "no-pod-or-job", args: []string{"apply", "-f", "-"},
			stdin: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  k: v\n"},
		{name: "bad-backoff", args: []string{"apply", "-f", "-", "--max-restart-backoff=0s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			got := runPodrun(t, root, tc.stdin, tc.args...)
			checkBackgroundGolden(t, "apply", tc.name, got)
			st := seedStoreEmpty(t, root)
			if diff := cmp.Diff([]string(nil), storedNames(t, st)); diff != "" {
				t.Errorf("objects stored by a refused apply (-want +got):\n%s", diff)
			}
		})
	}
}
