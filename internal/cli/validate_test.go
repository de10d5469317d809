package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var updateValidateGolden = flag.Bool("update-validate", false, "rewrite the validate command golden files")

func updateValidate() bool {
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		return true
	}
	return *updateValidateGolden
}

// TestValidateCommand runs `podrun validate` end to end through Main and
// compares stdout, stderr and the exit code with
// testdata/validate/NAME.golden.
func TestValidateCommand(t *testing.T) {
	const dir = "testdata/validate"
	tests := []struct {
		name  string
		args  []string
		stdin string
	}{
		{name: "all-kinds", args: []string{"-f", dir + "/all-kinds.yaml"}},
		{name: "init-probe", args: []string{"-f", dir + "/init-probe.yaml"}},
		{name: "mixed", args: []string{"-f", dir + "/mixed.yaml"}},
		{name: "typo", args: []string{"-f", dir + "/typo.yaml"}},
		{name: "deployment", args: []string{"-f", dir + "/deployment.yaml"}},
		{name: "init-never", args: []string{"-f", dir + "/init-never.yaml"}},
		{name: "init-never-gate-off", args: []string{"--feature-gates=ContainerRestartRules=false", "-f", dir + "/init-never.yaml"}},
		{name: "several-files-and-a-directory", args: []string{"-f", dir + "/init-never.yaml", "-f", dir + "/dir"}},
		{name: "undecodable-invalid-and-valid-in-a-directory", args: []string{"-f", dir + "/mixed-dir"}},
		{name: "undecodable-only", args: []string{"-f", dir + "/typo.yaml", "-f", dir + "/nope.yaml"}},
		{name: "stdin", args: []string{"-f", "-"}, stdin: "apiVersion: v1\nkind: Secret\nmetadata: {name: from-stdin}\n"},
		{name: "bad-feature-gate", args: []string{"--feature-gates=SidecarContainers=false", "-f", dir + "/all-kinds.yaml"}},
		{name: "no-file", args: nil},
		{name: "missing-file", args: []string{"-f", dir + "/nope.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			streams := Streams{In: strings.NewReader(tt.stdin), Out: &out, ErrOut: &errOut}
			code := Main(context.Background(), streams, append([]string{"validate"}, tt.args...))
			got := fmt.Sprintf("$ podrun validate %s\n--- exit code\n%d\n--- stdout\n%s--- stderr\n%s",
				strings.Join(tt.args, " "), code, out.String(), errOut.String())
			golden := filepath.Join(dir, tt.name+".golden")
			if updateValidate() {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update-validate to create)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("output differs from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}
