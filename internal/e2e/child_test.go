package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Each run on runc happens in a process of its own: the parent test
// re-executes this test binary with TestChild selected and the run named
// in the environment. One process, one OCI runtime, as in podrun itself:
// internal/runtime/oci makes its process a child subreaper and reaps
// orphaned zombies of nested PID namespaces, so two Runtimes in one
// process take each other's container exits.
const (
	envChild  = "PODRUN_E2E_CHILD"  // what the child runs: KIND:NAME
	envResult = "PODRUN_E2E_RESULT" // where the child writes its childResult
	envLayout = "PODRUN_E2E_LAYOUT" // the parent's busybox layout
	envRoot   = "PODRUN_E2E_ROOT"   // the state directory the child uses
)

// childResult is what a child reports besides its own test outcome (the
// harness and leftover checks, in its exit status).
type childResult struct {
	// Fails are the failed expectations of the run.
	Fails []string `json:"fails"`
	// Detail describes what ran (record, output) for failure messages.
	Detail string `json:"detail"`
}

// childRuns maps a KIND to the function a child runs for NAME.
var childRuns = map[string]func(t *testing.T, name string) childResult{
	"scenario": childScenario,
	"lab":      childLab,
	"backend":  childBackend,
	"resume":   childResume,
}

// TestChild is the body of a child process; run alone it skips.
func TestChild(t *testing.T) {
	spec := os.Getenv(envChild)
	if spec == "" {
		t.Skip("helper: runs one scenario or lab variant in a process of its own when a parent test starts it")
	}
	kind, name, _ := strings.Cut(spec, ":")
	run, ok := childRuns[kind]
	if !ok {
		t.Fatalf("%s=%q: unknown kind %q", envChild, spec, kind)
	}
	res := run(t, name)
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(os.Getenv(envResult), data, 0o644); err != nil {
		t.Fatalf("write the result: %v", err)
	}
}

// runChild runs KIND:NAME in a child process and returns its result. The
// child's own failures (harness errors, things left behind) fail t with
// the child's output.
func runChild(t *testing.T, kind, name string, limit time.Duration) childResult {
	t.Helper()
	admit(t)
	dir := t.TempDir()
	resultFile := filepath.Join(dir, "result.json")
	// The child's state directory, named here so that this process can
	// check it after the child, even one that crashed or was killed.
	root, err := os.MkdirTemp("", "podrun-e2e-root-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestChild$", "-test.v", "-test.count=1",
		fmt.Sprintf("-test.timeout=%s", limit))
	cmd.Env = append(os.Environ(), envChild+"="+kind+":"+name, envResult+"="+resultFile, envLayout+"="+suite.busyboxLayout, envRoot+"="+root, envPodrun+"="+suite.podrun)
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	checkChildRoot(t, root)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run the child for %s:%s: %v\n%s", kind, name, err, out.String())
	}
	if err != nil || bytes.Contains(out.Bytes(), []byte("--- FAIL")) {
		t.Errorf("the child process for %s:%s failed (%v):\n%s", kind, name, err, childLog(out.String()))
	}
	var res childResult
	data, rerr := os.ReadFile(resultFile)
	if rerr != nil {
		t.Fatalf("no result from the child: %v", rerr)
	}
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatalf("decode the child's result: %v", err)
	}
	return res
}

// childLog keeps the interesting part of a child's verbose output.
func childLog(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "=== RUN") || strings.HasPrefix(l, "=== PAUSE") || strings.HasPrefix(l, "=== CONT") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

// checkChildRoot checks the state directory of a child that has exited:
// a clean child removed it; whatever remains is reported (and kept).
func checkChildRoot(t *testing.T, root string) {
	t.Helper()
	if _, err := os.Stat(root); os.IsNotExist(err) {
		return
	}
	clean := true
	if ms, err := mountsUnder(root); err != nil || len(ms) > 0 {
		clean = false
		t.Errorf("after the child: mounts left under %s: %v %v", root, ms, err)
	}
	if ids, err := runcContainers(filepath.Join(root, "runtime", "runtime")); err != nil || len(ids) > 0 {
		clean = false
		t.Errorf("after the child: runc containers left in %s: %v %v", root, ids, err)
	}
	if clean {
		_ = os.RemoveAll(root)
	} else {
		t.Logf("state directory %s kept for inspection", root)
	}
}
