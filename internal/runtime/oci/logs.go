package oci

import (
	"io"
	"os"
	"strings"
)

// logEntry is one parsed CRI log line.
type logEntry struct {
	Time    string
	Stream  string
	Partial bool
	Content string
}

// parseLogLine parses "TIME STREAM TAG CONTENT".
func parseLogLine(line string) (logEntry, bool) {
	parts := strings.SplitN(line, " ", 4)
	if len(parts) < 3 {
		return logEntry{}, false
	}
	e := logEntry{Time: parts[0], Stream: parts[1], Partial: parts[2] == "P"}
	if len(parts) == 4 {
		e.Content = parts[3]
	}
	return e, true
}

// Limits of the termination message taken from the log with
// FallbackToLogsOnError (kubelet: MaxContainerTerminationMessageLogLines
// and MaxContainerTerminationMessageLogLength).
const (
	tailLines = 80
	tailBytes = 2048
)

// logTail returns the content of the last tailLines lines of the CRI log
// at path (both streams, partial entries joined), limited to its last
// tailBytes bytes.
func logTail(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	// The last 80 lines fit in far less than this unless lines are long;
	// reading a bounded suffix keeps a big log cheap.
	const window = 256 * 1024
	if st, err := f.Stat(); err == nil && st.Size() > window {
		if _, err := f.Seek(st.Size()-window, io.SeekStart); err != nil {
			return "", err
		}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return "", err
	}
	var lines []string
	var cur strings.Builder
	for _, raw := range strings.Split(string(data), "\n") {
		e, ok := parseLogLine(raw)
		if !ok {
			continue
		}
		cur.WriteString(e.Content)
		if !e.Partial {
			lines = append(lines, cur.String()+"\n")
			cur.Reset()
		}
	}
	if len(lines) > tailLines {
		lines = lines[len(lines)-tailLines:]
	}
	out := strings.Join(lines, "")
	if len(out) > tailBytes {
		out = out[len(out)-tailBytes:]
	}
	return out, nil
}
