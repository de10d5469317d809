package oci

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/podrun/podrun/internal/runtime/runtimetest"
)

// requireCrun skips (or, with PODRUN_E2E=1, fails) without crun.
func requireCrun(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("crun"); err != nil {
		if os.Getenv("PODRUN_E2E") == "1" {
			t.Fatalf("PODRUN_E2E=1 but crun is missing (apt-get install crun)")
		}
		t.Skip("crun is not installed")
	}
}

func crunRuntime(o *Options) { o.Runtime = "crun" }

// TestE2ECrun runs a pod of two containers talking over loopback on crun.
func TestE2ECrun(t *testing.T) {
	t.Parallel()
	requireE2E(t)
	requireCrun(t)
	tr := newTestRuntime(t, crunRuntime)
	pod := testPod("crun-pod",
		sh("server", "echo pong | nc -l -p 8080"),
		sh("client", `for i in $(seq 100); do if echo ping | nc 127.0.0.1 8080; then exit 3; fi; usleep 50000; done; exit 1`),
	)
	sb := tr.sandbox(pod)
	tr.run(sb, pod, "server")
	st := tr.wait(tr.run(sb, pod, "client"))
	got := []any{st.ExitCode, st.Reason, logContent(t, st.LogPath)}
	want := []any{int32(3), "Error", []string{"stdout F pong"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("client code, reason, log (-want +got):\n%s", diff)
	}
}

// TestE2ECrunContract runs the Runtime contract on crun.
func TestE2ECrunContract(t *testing.T) {
	t.Parallel()
	requireE2E(t)
	requireCrun(t)
	runtimetest.RunSuite(t, func(t *testing.T) runtimetest.Harness {
		tr := newTestRuntime(t, crunRuntime)
		return runtimetest.Harness{Runtime: tr, Advance: time.Sleep, Image: busyboxRef, LogDir: t.TempDir()}
	})
}
