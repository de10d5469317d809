package oci

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2026, 12, 3, 17, 20, 13, 123456789, time.UTC)

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func TestCopyStreamWritesCRIEntries(t *testing.T) {
	long := strings.Repeat("x", maxLogLine+10)
	for _, tc := range []struct {
		name  string
		input string
		want  []string
	}{
		{name: "full lines", input: "one\ntwo\n", want: []string{
			"2026-12-03T17:20:13.123456789Z stdout F one",
			"2026-12-03T17:20:13.123456789Z stdout F two",
		}},
		{name: "last line without newline is full", input: "one\ntail", want: []string{
			"2026-12-03T17:20:13.123456789Z stdout F one",
			"2026-12-03T17:20:13.123456789Z stdout F tail",
		}},
		{name: "empty line", input: "\n", want: []string{"2026-12-03T17:20:13.123456789Z stdout F "}},
		{name: "a long line is split into partial entries", input: long + "\n", want: []string{
			"2026-12-03T17:20:13.123456789Z stdout P " + long[:maxLogLine],
			"2026-12-03T17:20:13.123456789Z stdout F " + long[maxLogLine:],
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "0.log")
			w, err := openLog(path, 0, 0, clocktesting.NewFakePassiveClock(t0).Now)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.copyStream(strings.NewReader(tc.input), "stdout"); err != nil {
				t.Fatalf("copyStream: %v", err)
			}
			w.Close()
			if diff := cmp.Diff(tc.want, readLines(t, path)); diff != "" {
				t.Errorf("log (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLogRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	clock := clocktesting.NewFakePassiveClock(t0)
	entry := len("2026-12-03T17:20:13.123456789Z stdout F line-0\n")
	// Two entries fit in a file; at most three files are kept. A rotated
	// file is named after the time it was rotated.
	w, err := openLog(path, int64(2*entry), 3, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		clock.SetTime(t0.Add(time.Duration(i) * time.Second))
		if err := w.writeEntry("stdout", false, []byte("line-"+string(rune('0'+i)))); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	var got []string
	files, _ := filepath.Glob(path + "*")
	for _, f := range files {
		for _, l := range readLines(t, f) {
			got = append(got, filepath.Base(f)+": "+l[strings.LastIndex(l, " ")+1:])
		}
	}
	want := []string{
		"0.log: line-6",
		"0.log.20261203-172017.123456789: line-2",
		"0.log.20261203-172017.123456789: line-3",
		"0.log.20261203-172019.123456789: line-4",
		"0.log.20261203-172019.123456789: line-5",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files and lines (-want +got):\n%s", diff)
	}
}

func TestLogTail(t *testing.T) {
	var b strings.Builder
	for i := range 100 {
		b.WriteString(t0.Format(criTimestamp) + " stdout F line " + string(rune('a'+i%26)) + "\n")
	}
	b.WriteString(t0.Format(criTimestamp) + " stderr P part-\n")
	b.WriteString(t0.Format(criTimestamp) + " stderr F joined\n")
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
	long := t0.Format(criTimestamp) + " stdout F " + strings.Repeat("y", 3000) + "\n"
	if err := os.WriteFile(path, []byte(long), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := logTail(path); len(got) != tailBytes || !strings.HasSuffix(got, "y\n") {
		t.Errorf("tail of a long line: %d bytes ending %q, want %d ending in y\\n", len(got), got[len(got)-3:], tailBytes)
	}
}
