package oci

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/internal/runtime/oci/crilog"
)

var t0 = time.Date(2026, 12, 3, 17, 20, 13, 123456789, time.UTC)

func TestLogTail(t *testing.T) {
	var b strings.Builder
	for i := range 100 {
		b.WriteString(t0.Format(crilog.Timestamp) + " stdout F line " + string(rune('a'+i%26)) + "\n")
	}
	b.WriteString(t0.Format(crilog.Timestamp) + " stderr P part-\n")
	b.WriteString(t0.Format(crilog.Timestamp) + " stderr F joined\n")
	path := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := logTail(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != tailLines {
		t.Errorf("tail has %d lines, want %d", len(lines), tailLines)
	}
	if last := lines[len(lines)-1]; last != "part-joined" {
		t.Errorf("last line %q, want the partial entries joined: %q", last, "part-joined")
	}
	if first := lines[0]; first != "line v" { // of 101 lines the last 80 start at index 21 (v)
		t.Errorf("first line %q, want %q", first, "line v")
	}

	// A long log is cut to its last tailBytes bytes.
	long := t0.Format(crilog.Timestamp) + " stdout F " + strings.Repeat("y", 3000) + "\n"
	if err := os.WriteFile(path, []byte(long), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := logTail(path); len(got) != tailBytes || !strings.HasSuffix(got, "y\n") {
		t.Errorf("tail of a long line: %d bytes ending %q, want %d ending in y\\n", len(got), got[len(got)-3:], tailBytes)
	}
}
