package main

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestSummarize(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		xs   []float64
		want summary
	}{
		{"empty", nil, summary{Min: nan, P50: nan, P99: nan, Max: nan}},
		{"one", []float64{3}, summary{N: 1, Min: 3, P50: 3, P99: 3, Max: 3}},
		{"unsorted four", []float64{4, 1, 3, 2}, summary{N: 4, Min: 1, P50: 2, P99: 4, Max: 4}},
		{"twenty: p99 is the largest", seq(20), summary{N: 20, Min: 1, P50: 10, P99: 20, Max: 20}},
		{"two hundred: p99 is rank 198", seq(200), summary{N: 200, Min: 1, P50: 100, P99: 198, Max: 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := summarize(tt.xs)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateNaNs()); diff != "" {
				t.Errorf("summarize(%v) mismatch (-want +got):\n%s", tt.xs, diff)
			}
		})
	}
}

// seq returns 1..n in reverse order.
func seq(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(n - i)
	}
	return out
}

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    time.Duration
		wantErr bool
	}{
		{
			name: "plain",
			line: "4242 (podrun) S 1 4242 4242 0 -1 4194560 1000 0 0 0 150 25 0 0 20 0 9 0 100 2000000 3000 18446744073709551615",
			want: 1750 * time.Millisecond,
		},
		{
			name: "command with spaces and parentheses",
			line: "7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 5 6 7",
			want: 70 * time.Millisecond,
		},
		{name: "truncated", line: "7 (x) R 1 2 3", wantErr: true},
		{name: "no command", line: "7 x R", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU(tt.line)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseStatCPU(%q) error = %v, want error %v", tt.line, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseStatCPU(%q) = %v, want %v", tt.line, got, tt.want)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	text := "Name:\tpodrun\nState:\tS (sleeping)\nVmHWM:\t   57700 kB\nVmRSS:\t   50000 kB\nThreads:\t9\n"
	want := map[string]int64{"VmHWM": 57700 * 1024, "VmRSS": 50000 * 1024, "Threads": 9}
	if diff := cmp.Diff(want, parseStatus(text)); diff != "" {
		t.Errorf("parseStatus mismatch (-want +got):\n%s", diff)
	}
}

// TestParseSmapsRollup checks that the Pss of smaps_rollup reads as bytes
// (the header line, with its colons, yields nothing that matters).
func TestParseSmapsRollup(t *testing.T) {
	text := "55d5c0a00000-7ffd3c5ff000 ---p 00000000 00:00 0                          [rollup]\n" +
		"Rss:                2140 kB\nPss:                 913 kB\nPss_Anon:            604 kB\n"
	got := parseStatus(text)
	if got["Pss"] != 913*1024 || got["Rss"] != 2140*1024 {
		t.Errorf("parseStatus(smaps_rollup) Pss %d Rss %d, want %d and %d", got["Pss"], got["Rss"], 913*1024, 2140*1024)
	}
}
