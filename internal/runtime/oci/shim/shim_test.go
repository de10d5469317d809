package shim_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/internal/runtime/oci/runc"
	"github.com/podrun/podrun/internal/runtime/oci/shim"
	"github.com/podrun/podrun/internal/runtime/oci/shimtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	shimtest.Remove()
	os.Exit(code)
}

// fakeRuntime is a runc stand-in: `create` starts the bundle's "process"
// script in the background with the given stdio (it waits on the bundle's
// start fifo, as runc init waits for `runc start`), writes its PID to
// --pid-file and exits; `create` of a bundle holding "fail" fails with a
// runc-style JSON log message.
const fakeRuntime = `#!/bin/sh
log= pidfile= bundle= sub=
while [ $# -gt 0 ]; do
	case "$1" in
	--log) log=$2; shift ;;
	--pid-file) pidfile=$2; shift ;;
	--bundle) bundle=$2; shift ;;
	--root|--log-format) shift ;;
	create|kill|delete|start) sub=$1 ;;
	esac
	shift
done
[ "$sub" = create ] || exit 0
if [ -e "$bundle/fail" ]; then
	echo '{"level":"error","msg":"exec: \"nosuch\": executable file not found in $PATH"}' > "$log"
	exit 1
fi
sh "$bundle/process" &
echo $! > "$pidfile"
`

func TestShimRecordsOutputAndExit(t *testing.T) {
	for _, tc := range []struct {
		name     string
		process  string
		wantLog  []string
		wantCode int
		wantSig  int
	}{
		{
			name:     "exit code and both streams",
			process:  `echo one; echo two; echo oops >&2; printf 'no newline'; exit 7`,
			wantLog:  []string{"stdout F one", "stdout F two", "stderr F oops", "stdout F no newline"},
			wantCode: 7,
		},
		{
			name:     "killed by a signal",
			process:  `echo before; kill -KILL $$`,
			wantLog:  []string{"stdout F before"},
			wantCode: 137, wantSig: int(syscall.SIGKILL),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, start := fakeBundle(t, tc.process)
			binary := buildShim(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			before := time.Now()
			l, err := shim.Launch(ctx, binary, cfg)
			if err != nil {
				t.Fatalf("Launch: %v", err)
			}
			defer unix.Close(l.ShimPidfd)
			st, err := shim.ReadState(cfg.Bundle)
			if err != nil {
				t.Fatalf("ReadState: %v", err)
			}
			if st.ShimPID != l.ShimPID || st.PID != l.PID || st.PIDStart != shim.ProcessStart(l.PID) || st.ShimStart == "" {
				t.Errorf("state %+v, want shim %d and process %d with their start times", st, l.ShimPID, l.PID)
			}
			start()
			waitShim(t, l.ShimPID)
			ex, err := shim.ReadExit(cfg.Bundle)
			if err != nil {
				t.Fatalf("ReadExit: %v", err)
			}
			if ex.Code != tc.wantCode || ex.Signal != tc.wantSig {
				t.Errorf("exit code %d signal %d, want %d and %d", ex.Code, ex.Signal, tc.wantCode, tc.wantSig)
			}
			if ex.FinishedAt.Before(before) || ex.FinishedAt.After(time.Now()) {
				t.Errorf("finishedAt %v not within the test (%v, now)", ex.FinishedAt, before)
			}
			if diff := cmp.Diff(tc.wantLog, logEntries(t, cfg.LogPath), cmpopts.SortSlices(func(a, b string) bool {
				return a < b
			})); diff != "" {
				t.Errorf("CRI log (-want +got):\n%s", diff)
			}
		})
	}
}

func TestShimReportsCreateFailure(t *testing.T) {
	cfg, _ := fakeBundle(t, "exit 0")
	if err := os.WriteFile(filepath.Join(cfg.Bundle, "fail"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := shim.Launch(ctx, buildShim(t), cfg)
	var rerr *runc.Error
	if !errors.As(err, &rerr) {
		t.Fatalf("Launch = %v, want a *runc.Error", err)
	}
	if want := `exec: "nosuch": executable file not found in $PATH`; rerr.Stderr != want {
		t.Errorf("runtime message %q, want %q", rerr.Stderr, want)
	}
	if _, err := shim.ReadExit(cfg.Bundle); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadExit after a failed create = %v, want ErrNotExist", err)
	}
}

// buildShim builds the shim binary once for the test binary.
func buildShim(t *testing.T) string {
	t.Helper()
	path, err := shimtest.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// fakeBundle makes a bundle whose container runs process under the fake
// runtime; start lets the process run, as `runc start` would.
func fakeBundle(t *testing.T, process string) (shim.Config, func()) {
	t.Helper()
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle")
	fifo := filepath.Join(bundle, "start")
	rt := filepath.Join(dir, "fake-runc")
	if err := os.Mkdir(bundle, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rt, []byte(fakeRuntime), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	script := "read x < " + fifo + "\n" + process + "\n"
	if err := os.WriteFile(filepath.Join(bundle, "process"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := shim.Config{ID: "c1", Bundle: bundle, LogPath: filepath.Join(dir, "logs", "0.log"),
		Runtime: shim.RuntimeCommand{Command: rt, Root: filepath.Join(dir, "state")}}
	start := func() {
		t.Helper()
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("go\n")
		f.Close()
	}
	return cfg, start
}

// waitShim waits for the shim, the test's child, to exit, and reaps it.
func waitShim(t *testing.T, pid int) {
	t.Helper()
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
		t.Fatalf("wait for shim %d: %v", pid, err)
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		t.Errorf("shim ended with %v, want exit 0", ws)
	}
}

// logEntries returns a CRI log's entries as "stream tag content".
func logEntries(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		parts := strings.SplitN(line, " ", 2)
		if _, err := time.Parse(time.RFC3339Nano, parts[0]); err != nil || len(parts) != 2 {
			t.Errorf("bad entry %q", line)
			continue
		}
		out = append(out, parts[1])
	}
	return out
}
