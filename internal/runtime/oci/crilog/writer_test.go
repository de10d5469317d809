package crilog

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
	long := strings.Repeat("x", MaxLine+10)
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
			"2026-12-03T17:20:13.123456789Z stdout P " + long[:MaxLine],
			"2026-12-03T17:20:13.123456789Z stdout F " + long[MaxLine:],
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "0.log")
			w, err := Open(path, 0, 0, clocktesting.NewFakePassiveClock(t0).Now)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.CopyStream(strings.NewReader(tc.input), "stdout"); err != nil {
				t.Fatalf("CopyStream: %v", err)
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
	w, err := Open(path, int64(2*entry), 3, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		clock.SetTime(t0.Add(time.Duration(i) * time.Second))
		if err := w.WriteEntry("stdout", false, []byte("line-"+string(rune('0'+i)))); err != nil {
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
