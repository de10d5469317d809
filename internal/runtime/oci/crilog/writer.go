package crilog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Timestamp is the timestamp layout of CRI log lines: RFC 3339 in UTC
// with nanoseconds always printed, as in 2026-12-03T17:20:13.123456789Z.
const Timestamp = "2006-01-02T15:04:05.000000000Z07:00"

// MaxLine is the longest line written as one entry; longer lines are
// split into partial (P) entries, as containerd does.
const MaxLine = 16 * 1024

// The kubelet's defaults for containerLogMaxSize and containerLogMaxFiles.
const (
	DefaultMaxSize  = 10 * 1024 * 1024
	DefaultMaxFiles = 5
)

// Writer writes a container attempt's stdout and stderr into one file
// in the CRI log format, each entry with a single write so nothing the
// container wrote is lost if either side crashes afterwards. It rotates the
// file by size: the full file is renamed to path.<timestamp> and at most
// maxFiles files (the current one included) are kept. Safe for concurrent
// use by the stream copiers.
type Writer struct {
	mu       sync.Mutex
	path     string
	f        *os.File
	size     int64
	maxSize  int64
	maxFiles int
	now      func() time.Time
}

// Open opens (appending) or creates the log file at path, creating its
// directory. maxSize and maxFiles rotate it (DefaultMaxSize and
// DefaultMaxFiles when not positive); now stamps the entries.
func Open(path string, maxSize int64, maxFiles int, now func() time.Time) (*Writer, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if maxFiles < 1 {
		maxFiles = DefaultMaxFiles
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
	return &Writer{path: path, f: f, size: st.Size(), maxSize: maxSize, maxFiles: maxFiles, now: now}, nil
}

// WriteEntry writes one CRI log entry.
func (w *Writer) WriteEntry(stream string, partial bool, content []byte) error {
	tag := "F"
	if partial {
		tag = "P"
	}
	var b bytes.Buffer
	b.Grow(len(Timestamp) + len(stream) + len(content) + 5)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return os.ErrClosed
	}
	b.WriteString(w.now().UTC().Format(Timestamp))
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
func (w *Writer) rotate() error {
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

// CopyStream reads r until EOF or error and writes each line as an entry
// of stream ("stdout" or "stderr"); a line longer than MaxLine becomes
// partial entries, and a last line without newline a full entry.
func (w *Writer) CopyStream(r io.Reader, stream string) error {
	br := bufio.NewReaderSize(r, MaxLine)
	for {
		line, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			if werr := w.WriteEntry(stream, false, line[:len(line)-1]); werr != nil {
				return werr
			}
		case errors.Is(err, bufio.ErrBufferFull):
			if werr := w.WriteEntry(stream, true, line); werr != nil {
				return werr
			}
		default:
			if len(line) > 0 {
				if werr := w.WriteEntry(stream, false, line); werr != nil {
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

// Close closes the file; later writes fail with os.ErrClosed. It is
// idempotent.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}
