package runc

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
)

// fakeRuntime writes a shell script standing in for runc: it records its
// arguments (one per line) in args.txt and then runs body.
func fakeRuntime(t *testing.T, body string) (*Client, string) {
	t.Helper()
	dir := t.TempDir()
	argsFile := filepath.Join(dir, "args.txt")
	script := "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done > " + argsFile + "\n" + body + "\n"
	path := filepath.Join(dir, "fake-runc")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return &Client{Command: path, Root: filepath.Join(dir, "root")}, argsFile
}

func readArgs(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func TestArguments(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		call func(c *Client) error
		want []string
	}{
		{
			name: "create renders bundle, pid file and flags before the id",
			call: func(c *Client) error {
				return c.Create(ctx, "c1", "/b", CreateOpts{PidFile: "/p", NoNewKeyring: true})
			},
			want: []string{"--root", "ROOT", "create", "--bundle", "/b", "--pid-file", "/p", "--no-new-keyring", "c1"},
		},
		{
			name: "start",
			call: func(c *Client) error { return c.Start(ctx, "c1") },
			want: []string{"--root", "ROOT", "start", "c1"},
		},
		{
			name: "kill all with a signal number",
			call: func(c *Client) error { return c.Kill(ctx, "c1", syscall.SIGTERM, KillOpts{All: true}) },
			want: []string{"--root", "ROOT", "kill", "--all", "c1", "15"},
		},
		{
			name: "delete force",
			call: func(c *Client) error { return c.Delete(ctx, "c1", DeleteOpts{Force: true}) },
			want: []string{"--root", "ROOT", "delete", "--force", "c1"},
		},
		{
			name: "events with interval",
			call: func(c *Client) error {
				return c.Events(ctx, "c1", EventsOpts{Interval: 2 * time.Second}, func(Event) {})
			},
			want: []string{"--root", "ROOT", "events", "--interval", "2s", "c1"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, argsFile := fakeRuntime(t, "exit 0")
			if err := tc.call(c); err != nil {
				t.Fatalf("call: %v", err)
			}
			got := readArgs(t, argsFile)
			for i := range got {
				if got[i] == c.Root {
					got[i] = "ROOT"
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("arguments (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorCarriesStderr(t *testing.T) {
	c, _ := fakeRuntime(t, `echo 'time="2026-12-03T17:00:00Z" level=error msg="container does not exist"' >&2; exit 1`)
	err := c.Start(context.Background(), "ghost")
	var rerr *Error
	if !errors.As(err, &rerr) {
		t.Fatalf("Start error = %v, want *Error", err)
	}
	if rerr.Stderr != "container does not exist" || rerr.Op != "start" || rerr.ID != "ghost" {
		t.Errorf("Error = %+v, want op start, id ghost, stderr %q", rerr, "container does not exist")
	}
	if !errors.Is(err, ErrNotExist) {
		t.Errorf("errors.Is(%v, ErrNotExist) = false", err)
	}
	if !strings.Contains(err.Error(), "container does not exist") {
		t.Errorf("message %q lacks stderr", err)
	}
}

func TestCreateWithStderrFileReportsRuntimeLog(t *testing.T) {
	// The fake writes its error to the --log file it was given.
	c, _ := fakeRuntime(t, `while [ $# -gt 0 ]; do if [ "$1" = --log ]; then log=$2; fi; shift; done
echo '{"level":"error","msg":"bad config"}' > "$log"; echo container-output >&2; exit 1`)
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = c.Create(context.Background(), "c1", "/b", CreateOpts{Stderr: f})
	var rerr *Error
	if !errors.As(err, &rerr) || rerr.Stderr != "bad config" {
		t.Fatalf("Create error = %#v, want *Error with stderr %q", err, "bad config")
	}
	data, _ := os.ReadFile(f.Name())
	if string(data) != "container-output\n" {
		t.Errorf("container stderr = %q, want %q", data, "container-output\n")
	}
}

func TestState(t *testing.T) {
	c, _ := fakeRuntime(t, `echo '{"ociVersion":"1.0.2","id":"c1","pid":42,"status":"running","bundle":"/b","rootfs":"/b/rootfs","created":"2026-12-03T17:20:13.123456789Z"}'`)
	got, err := c.State(context.Background(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	want := &State{Version: "1.0.2", ID: "c1", Pid: 42, Status: "running", Bundle: "/b", Rootfs: "/b/rootfs",
		Created: time.Date(2026, 12, 3, 17, 20, 13, 123456789, time.UTC)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("State (-want +got):\n%s", diff)
	}
}

func TestExecExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		body     string
		wantCode int
		wantErr  bool
	}{
		{name: "success", body: `echo 1 > "$pf"; echo out`, wantCode: 0},
		{name: "process exit code", body: `echo 1 > "$pf"; exit 3`, wantCode: 3},
		{name: "runtime failure without pid file", body: `echo 'cannot exec' >&2; exit 1`, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := fakeRuntime(t, `while [ $# -gt 0 ]; do if [ "$1" = --pid-file ]; then pf=$2; fi; shift; done
`+tc.body)
			var out strings.Builder
			code, err := c.Exec(context.Background(), "c1", []string{"true"}, ExecOpts{Stdout: &out})
			if (err != nil) != tc.wantErr {
				t.Fatalf("Exec error = %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && code != tc.wantCode {
				t.Errorf("Exec code = %d, want %d", code, tc.wantCode)
			}
		})
	}
}

func TestEventsDecodesLines(t *testing.T) {
	c, _ := fakeRuntime(t, `echo '{"type":"stats","id":"c1"}'; echo '{"type":"oom","id":"c1"}'`)
	var got []string
	err := c.Events(context.Background(), "c1", EventsOpts{}, func(ev Event) { got = append(got, ev.Type) })
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"stats", "oom"}, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		doc, out string
		want     VersionInfo
	}{
		{doc: "runc", out: "runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\ngo: go1.19.8\nlibseccomp: 2.5.4\n",
			want: VersionInfo{Version: "runc version 1.1.5+ds1", Spec: "1.0.2-dev"}},
		{doc: "crun", out: "crun version 1.8.1\ncommit: f8a096be\nrundir: /run/crun\nspec: 1.0.0\n+SYSTEMD +SELINUX\n",
			want: VersionInfo{Version: "crun version 1.8.1", Spec: "1.0.0"}},
		{doc: "no spec line", out: "myruntime 0.1\n", want: VersionInfo{Version: "myruntime 0.1"}},
	} {
		if diff := cmp.Diff(tc.want, parseVersion(tc.out)); diff != "" {
			t.Errorf("%s: parseVersion (-want +got):\n%s", tc.doc, diff)
		}
	}
}

func TestExecTimeoutKillsTheProcessNotTheRuntime(t *testing.T) {
	// The fake runtime runs its "process" as a child, writes its PID to
	// the pid file and waits for it, as runc exec does.
	marker := filepath.Join(t.TempDir(), "runtime-exited")
	c, _ := fakeRuntime(t, `while [ $# -gt 0 ]; do if [ "$1" = --pid-file ]; then pf=$2; fi; shift; done
sleep 30 & echo $! > "$pf"; wait $!; echo $? > `+marker)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Exec(ctx, "c1", []string{"sleep", "30"}, ExecOpts{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Exec error = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > ExecWaitDelay {
		t.Errorf("Exec returned after %v: the process was not killed", d)
	}
	// The runtime itself saw its child die of SIGKILL (137) and exited.
	data, err := os.ReadFile(marker)
	if err != nil || strings.TrimSpace(string(data)) != "137" {
		t.Errorf("runtime's view of its child: %q, %v; want 137", data, err)
	}
}
