package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLauncherStart starts stand-in supervisors (shell scripts in place
// of podrun) and checks what Start reports: nothing when the supervisor
// found nothing to do, its exit status and last logged line when it
// failed. Each must leave its output in the supervisor log file.
func TestLauncherStart(t *testing.T) {
	for _, tc := range []struct {
		name    string
		script  string
		wantErr string // substring; "" for no error
	}{
		{name: "gave up quietly", script: "echo nothing to do", wantErr: ""},
		{name: "failed", script: "echo starting; echo 'supervisor failed: no runc' >&2; exit 3",
			wantErr: "exit status 3: supervisor failed: no runc"},
		{name: "closes its ready descriptor then fails", script: "exec 3>&-; echo late failure; exit 1",
			wantErr: "exit status 1: late failure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			la := &Launcher{Command: []string{"/bin/sh", "-c", tc.script, "podrun"}, Root: root}
			err := la.Start(context.Background(), KindPod, "default", "p")
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Start: %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Start: %v, want an error with %q", err, tc.wantErr)
			}
			log, err := os.ReadFile(SupervisorLogPath(root, KindPod, "default", "p"))
			if err != nil || len(log) == 0 {
				t.Errorf("supervisor log %s: %q, %v; want the script's output", filepath.Base(SupervisorLogPath(root, KindPod, "default", "p")), log, err)
			}
		})
	}
}

func TestLauncherStartNoCommand(t *testing.T) {
	if err := (&Launcher{Root: t.TempDir()}).Start(context.Background(), KindPod, "default", "p"); err == nil {
		t.Errorf("Start without a command succeeded, want an error")
	}
}
