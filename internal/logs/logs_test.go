package logs

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 12, 3, 17, 20, 13, 123456789, time.UTC)

func TestParseLine(t *testing.T) {
	for _, tc := range []struct {
		name    string
		line    string
		want    Entry
		wantErr bool
	}{
		{name: "full stdout line", line: "2026-12-03T17:20:13.123456789Z stdout F hello world",
			want: Entry{Time: t0, Stream: Stdout, Content: []byte("hello world")}},
		{name: "partial stderr line", line: "2026-12-03T17:20:13.123456789Z stderr P abc",
			want: Entry{Time: t0, Stream: Stderr, Partial: true, Content: []byte("abc")}},
		{name: "empty line", line: "2026-12-03T17:20:13.123456789Z stdout F ",
			want: Entry{Time: t0, Stream: Stdout, Content: []byte{}}},
		{name: "bad timestamp", line: "yesterday stdout F x", wantErr: true},
		{name: "bad stream", line: "2026-12-03T17:20:13.123456789Z stdin F x", wantErr: true},
		{name: "bad tag", line: "2026-12-03T17:20:13.123456789Z stdout X x", wantErr: true},
		{name: "torn line", line: "2026-12-03T17:20:1", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseLine([]byte(tc.line))
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseLine(%q) error = %v, want error %v", tc.line, err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseLine(%q) mismatch (-want +got):\n%s", tc.line, diff)
			}
			if back := string(Format(got)); back != tc.line+"\n" {
				t.Errorf("Format round trip = %q, want %q", back, tc.line+"\n")
			}
		})
	}
}

func writeLog(t *testing.T, entries ...Entry) string {
	t.Helper()
	var b strings.Builder
	for _, e := range entries {
		b.Write(Format(e))
	}
	path := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func contents(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, string(e.Stream)+":"+string(e.Content))
	}
	return out
}

func TestReadFileJoinsPartialsAndSelects(t *testing.T) {
	path := writeLog(t,
		Entry{Time: t0, Stream: Stdout, Content: []byte("one")},
		Entry{Time: t0.Add(time.Second), Stream: Stdout, Partial: true, Content: []byte("tw")},
		Entry{Time: t0.Add(2 * time.Second), Stream: Stdout, Content: []byte("o")},
		Entry{Time: t0.Add(3 * time.Second), Stream: Stderr, Content: []byte("three")},
	)
	// A torn last line (crash mid-write) is skipped, not fatal.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("2026-12-03T17:2")
	f.Close()

	for _, tc := range []struct {
		name string
		opts Options
		want []string
	}{
		{name: "all", opts: Options{Tail: -1}, want: []string{"stdout:one", "stdout:two", "stderr:three"}},
		{name: "tail 2", opts: Options{Tail: 2}, want: []string{"stdout:two", "stderr:three"}},
		{name: "tail 0", opts: Options{Tail: 0}, want: nil},
		{name: "since", opts: Options{Tail: -1, Since: t0.Add(2 * time.Second)}, want: []string{"stderr:three"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadFile(path, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, contents(got)); diff != "" {
				t.Errorf("ReadFile mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFollowSeesAppendsAndDrainsOnCancel(t *testing.T) {
	path := writeLog(t, Entry{Time: t0, Stream: Stdout, Content: []byte("first")})
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan string, 10)
	done := make(chan error, 1)
	go func() {
		done <- Follow(ctx, path, func(e Entry) { got <- string(e.Content) })
	}()
	if s := <-got; s != "first" {
		t.Fatalf("first line = %q", s)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(Format(Entry{Time: t0, Stream: Stdout, Content: []byte("second")}))
	if s := <-got; s != "second" {
		t.Fatalf("second line = %q", s)
	}
	// Written just before the cancel: must still be delivered.
	f.Write(Format(Entry{Time: t0, Stream: Stderr, Content: []byte("last")}))
	f.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Follow returned %v", err)
	}
	close(got)
	var rest []string
	for s := range got {
		rest = append(rest, s)
	}
	if diff := cmp.Diff([]string{"last"}, rest); diff != "" {
		t.Errorf("lines after cancel (-want +got):\n%s", diff)
	}
}
