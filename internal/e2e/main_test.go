package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/internal/image/testimage"
)

// suite holds what TestMain prepared once for every test.
var suite struct {
	// skip says why the suite does not run (PODRUN_E2E unset); fail says
	// why it cannot although it should. At most one is set.
	skip, fail string
	// busyboxLayout is an OCI layout holding the busybox image.
	busyboxLayout string
	// podrun is the podrun binary built for the CLI tests.
	podrun string
}

// envBinary names a podrun binary to test instead of building one.
const envBinary = "PODRUN_E2E_BINARY"

// defaultParallel is how many parallel tests may run at once unless
// -test.parallel says otherwise: the scenarios mostly sleep, so far more
// than GOMAXPROCS fit; admit (in env_test.go) paces their starts.
const defaultParallel = "64"

func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", defaultParallel)
	}
	tmp, err := os.MkdirTemp("", "podrun-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	prepare(tmp)
	code := m.Run()
	if suite.skip == "" && suite.fail == "" {
		if kids := childProcesses(); len(kids) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: processes left behind by the suite (children of the test process):\n  %s\n", strings.Join(kids, "\n  "))
			code = 1
		}
	}
	_ = os.RemoveAll(tmp)
	os.Exit(code)
}

// prepare checks the machine, builds the busybox image layout and the
// podrun binary into tmp, and sets suite.
func prepare(tmp string) {
	if os.Getenv("PODRUN_E2E") != "1" {
		suite.skip = "end-to-end tests run on runc only with PODRUN_E2E=1 (hack/test.sh sets it)"
		return
	}
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		missing = append(missing, "runc (apt-get install runc)")
	}
	if _, err := os.Stat(testimage.BusyboxPath); err != nil {
		missing = append(missing, testimage.BusyboxPath+" (apt-get install busybox-static)")
	}
	if len(missing) > 0 {
		suite.fail = "PODRUN_E2E=1 but this machine lacks " + strings.Join(missing, ", ")
		return
	}
	if os.Getenv(envChild) != "" {
		// A child of this suite (child_test.go) reuses the parent's image.
		suite.busyboxLayout = os.Getenv(envLayout)
		return
	}
	// Container processes that outlive a child or a podrun process are
	// re-parented here, where TestMain finds them at the end.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		suite.fail = fmt.Sprintf("become a child subreaper: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	layout, err := testimage.Busybox(ctx, filepath.Join(tmp, "busybox-layout"))
	if err != nil {
		suite.fail = fmt.Sprintf("build the busybox image: %v", err)
		return
	}
	suite.busyboxLayout = layout
	if bin := os.Getenv(envBinary); bin != "" {
		suite.podrun = bin
		// Runtimes in this process find podrun-shim beside that binary.
		if os.Getenv("PODRUN_SHIM") == "" {
			_ = os.Setenv("PODRUN_SHIM", filepath.Join(filepath.Dir(bin), "podrun-shim"))
		}
		return
	}
	bin := filepath.Join(tmp, "podrun")
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = "/usr/local/go/bin/go"
	}
	// podrun-shim beside podrun: the runtime finds it there.
	build := exec.CommandContext(ctx, goTool, "build", "-o", tmp+"/",
		"github.com/podrun/podrun/cmd/podrun", "github.com/podrun/podrun/cmd/podrun-shim")
	if out, err := build.CombinedOutput(); err != nil {
		suite.fail = fmt.Sprintf("go build podrun: %v\n%s", err, out)
		return
	}
	suite.podrun = bin
	// Runtimes in this process (and its children) use the same shim.
	if os.Getenv("PODRUN_SHIM") == "" {
		_ = os.Setenv("PODRUN_SHIM", filepath.Join(tmp, "podrun-shim"))
	}
}

// requireE2E skips t when the suite is not enabled and fails it when it
// is enabled but cannot run.
func requireE2E(t *testing.T) {
	t.Helper()
	switch {
	case suite.skip != "":
		t.Skip(suite.skip)
	case suite.fail != "":
		t.Fatal(suite.fail)
	}
}

// childProcesses lists the processes (live or zombie) whose parent is
// this test process; the runtime makes it a child subreaper, so any
// container process that outlived its pod ends up here.
func childProcesses() []string {
	me := os.Getpid()
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		pid := 0
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil || pid == me {
			continue
		}
		ppid, desc, ok := procParent(pid)
		if ok && ppid == me {
			out = append(out, desc)
		}
	}
	return out
}

// procParent reads a process's parent PID and a description (pid, state,
// command line) from /proc.
func procParent(pid int) (ppid int, desc string, ok bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", false
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, "", false
	}
	var state string
	if _, err := fmt.Sscan(s[i+1:], &state, &ppid); err != nil {
		return 0, "", false
	}
	cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return ppid, fmt.Sprintf("pid %d state %s: %s", pid, state, strings.ReplaceAll(strings.TrimRight(string(cmd), "\x00"), "\x00", " ")), true
}
