package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// labCase is one lab variant run through `podrun run`.
type labCase struct {
	file    string
	timeout string
	want    int
	// status is in the last "--- pod/..." status line before the pod was
	// terminated (at the timeout), as the user saw it.
	status string
	output []string
}

// TestRunLab runs the three lab variants with busybox stand-ins through
// `podrun run` as the lab's run.sh does, and checks each outcome: exit
// code, the status line in force when the run ended and what ran.
func TestRunLab(t *testing.T) {
	requireE2E(t)
	runLabCLI(t, labDir, "", []labCase{
		{file: "1-init-container.yaml", timeout: "4s", want: 1, status: " Init:0/1 ",
			output: []string{`init container "postgres" of pod/lab-init-`}},
		{file: "2-regular-container.yaml", timeout: "8s", want: 1, status: " NotReady ",
			output: []string{"[main] CREATE TABLE", "[main]  public       | films"}},
		{file: "3-native-sidecar.yaml", timeout: "2m", want: 0, status: " Completed ",
			output: []string{"[main] CREATE TABLE", "[main]  public       | films", "[postgres] postgres: SIGTERM, shutting down", "job.batch/lab-sidecar Complete"}},
	})
}

// envPostgres names the image archive of the lab's PostgreSQL image
// (examples/native-sidecar-lab/build-postgres-image.sh OUT.tar).
const envPostgres = "PODRUN_E2E_POSTGRES"

// TestRunLabPostgres runs the lab's own manifests with the real
// PostgreSQL image when PODRUN_E2E_POSTGRES names its archive (building
// it takes apt downloads and about 20 s, too much for every run).
func TestRunLabPostgres(t *testing.T) {
	requireE2E(t)
	archive := os.Getenv(envPostgres)
	if archive == "" {
		t.Skipf("set %s to an archive from examples/native-sidecar-lab/build-postgres-image.sh to run the lab with PostgreSQL", envPostgres)
	}
	runLabCLI(t, filepath.Join("..", "..", "examples", "native-sidecar-lab"), archive, []labCase{
		{file: "1-init-container.yaml", timeout: "15s", want: 1, status: " Init:0/1 ",
			output: []string{`init container "postgres" of pod/lab-init-`}},
		{file: "2-regular-container.yaml", timeout: "30s", want: 1, status: " NotReady ",
			output: []string{"[main] CREATE TABLE", "films"}},
		{file: "3-native-sidecar.yaml", timeout: "2m", want: 0, status: " Completed ",
			output: []string{"[main] CREATE TABLE", "films", "job.batch/lab-sidecar Complete"}},
	})
}

// runLabCLI runs each case with `podrun run --rm` in a state directory of
// its own, after loading the image archive if one is given.
func runLabCLI(t *testing.T, dir, archive string, cases []labCase) {
	for _, tc := range cases {
		t.Run(strings.TrimSuffix(tc.file, ".yaml"), func(t *testing.T) {
			t.Parallel()
			admit(t)
			e := newRoot(t)
			if archive != "" {
				st, err := openImages(e.root)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := st.Load(context.Background(), archive); err != nil {
					t.Fatalf("load %s: %v", archive, err)
				}
			}
			p := startPodrun(t, e.root, "run", "--rm", "-f", filepath.Join(dir, tc.file), "--timeout", tc.timeout)
			if got := p.wait(4 * time.Minute); got != tc.want {
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
				t.Errorf("status line when the run ended %q, want it to contain %q", last, tc.status)
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
