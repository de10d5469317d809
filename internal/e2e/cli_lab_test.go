package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunLab runs the three lab variants with `podrun run` as the lab's
// run.sh does and checks each outcome: exit code, the last status line
// and what main printed. Unlike run.sh it takes the status line in
// force when the pod was stopped, not the one after its termination.
func TestRunLab(t *testing.T) {
	requireE2E(t)
	for _, tc := range []struct {
		file    string
		timeout string
		want    int
		// status is in the last "--- pod/..." status line before the
		// pod was terminated (at the timeout), as the user saw it.
		status string
		output []string
	}{
		{file: "1-init-container.yaml", timeout: "4s", want: 1, status: " Init:0/1 ",
			output: []string{`init container "postgres" of pod/lab-init-`}},
		{file: "2-regular-container.yaml", timeout: "8s", want: 1, status: " NotReady ",
			output: []string{"[main] CREATE TABLE", "[main]  public       | films"}},
		{file: "3-native-sidecar.yaml", timeout: "2m", want: 0, status: " Completed ",
			output: []string{"[main] CREATE TABLE", "[main]  public       | films", "[postgres] postgres: SIGTERM, shutting down", "job.batch/lab-sidecar Complete"}},
	} {
		t.Run(strings.TrimSuffix(tc.file, ".yaml"), func(t *testing.T) {
			t.Parallel()
			admit(t)
			e := newRoot(t)
			p := startPodrun(t, e.root, "run", "--rm", "-f", filepath.Join(labDir, tc.file), "--timeout", tc.timeout)
			if got := p.wait(3 * time.Minute); got != tc.want {
				t.Errorf("exit code %d, want %d", got, tc.want)
			}
			out := p.output()
			last := ""
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "--- pod/") {
					if strings.Contains(l, " Terminating ") {
						break
					}
					last = l
				}
			}
			if !strings.Contains(last, tc.status) {
				t.Errorf("last status line %q, want it to contain %q", last, tc.status)
			}
			for _, want := range tc.output {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q", want)
				}
			}
			if t.Failed() {
				t.Log(out)
			}
		})
	}
}
