package oci

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// criTimestamp is the timestamp layout of CRI log lines: RFC 3339 in UTC
// with nanoseconds always printed, as in 2026-12-03T17:20:13.123456789Z.
const criTimestamp = "2006-01-02T15:04:05.000000000Z07:00"

// maxLogLine is the longest line written as one entry; longer lines are
// split into partial (P) entries, as containerd does.
const maxLogLine = 16 * 1024

// The kubelet's defaults for containerLogMaxSize and containerLogMaxFiles.
const (
	defaultLogMaxSize  = 10 * 1024 * 1024
	defaultLogMaxFiles = 5
)

// logWriter writes a container attempt's stdout and stderr into one file
// in the CRI log format, each entry with a single write so nothing the
// container wrote is lost if either side crashes afterwards. It rotates the
// file by size: the full file is renamed to path.<timestamp> and at most
// maxFiles files (the current one included) are kept. Safe for concurrent
// use by the stream copiers.
type logWriter struct {
	mu       sync.Mutex
	path     string
	f        *os.File
	size     int64
	maxSize  int64
	maxFiles int
	now      func() time.Time
}

// openLog opens (appending) or creates the log file at path.
func openLog(path string, maxSize int64, maxFiles int, now func() time.Time) (*logWriter, error) {
	if maxSize <= 0 {
		maxSize = defaultLogMaxSize
	}
	if maxFiles < 1 {
		maxFiles = defaultLogMaxFiles
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open log: %w", err)
	}
	return &logWriter{path: path, f: f, size: st.Size(), maxSize: maxSize, maxFiles: maxFiles, now: now}, nil
}

// writeEntry writes one CRI log entry.
func (w *logWriter) writeEntry(stream string, partial bool, content []byte) error {
	tag := "F"
	if partial {
		tag = "P"
	}
	var b bytes.Buffer
	b.Grow(len(criTimestamp) + len(stream) + len(content) + 5)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return os.ErrClosed
	}
	b.WriteString(w.now().UTC().Format(criTimestamp))
	b.WriteByte(' ')
	b.WriteString(stream)
	b.WriteByte(' ')
	b.WriteString(tag)
	b.WriteByte(' ')
	b.Write(content)
	b.WriteByte('\n')
	if w.size > 0 && w.size+int64(b.Len()) > w.maxSize {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	n, err := w.f.Write(b.Bytes())
	w.size += int64(n)
	return err
}

// rotate renames the current file and starts a new one. Callers hold mu.
func (w *logWriter) rotate() error {
	stamp := w.now().UTC().Format("20060102-150405.000000000")
	if err := os.Rename(w.path, w.path+"."+stamp); err != nil {
		return fmt.Errorf("rotate log %s: %w", w.path, err)
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("rotate log %s: %w", w.path, err)
	}
	w.f.Close()
	w.f, w.size = f, 0
	rotated, _ := filepath.Glob(w.path + ".*")
	sort.Strings(rotated) // timestamps sort chronologically
	for len(rotated) > w.maxFiles-1 {
		_ = os.Remove(rotated[0])
		rotated = rotated[1:]
	}
	return nil
}

// copyStream reads r until EOF or error and writes each line as an entry
// of stream ("stdout" or "stderr"); a line longer than maxLogLine becomes
// partial entries, and a last line without newline a full entry.
func (w *logWriter) copyStream(r io.Reader, stream string) error {
	br := bufio.NewReaderSize(r, maxLogLine)
	for {
		line, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			if werr := w.writeEntry(stream, false, line[:len(line)-1]); werr != nil {
				return werr
			}
		case errors.Is(err, bufio.ErrBufferFull):
			if werr := w.writeEntry(stream, true, line); werr != nil {
				return werr
			}
		default:
			if len(line) > 0 {
				if werr := w.writeEntry(stream, false, line); werr != nil {
					return werr
				}
			}
			if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) {
				return nil
			}
			return err
		}
	}
}

// Close closes the file.
func (w *logWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

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
