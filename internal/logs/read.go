package logs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Options select the part of a log to read, as `kubectl logs` does.
type Options struct {
	// Tail keeps only the last Tail lines; negative means all.
	Tail int
	// Since drops entries before this instant; zero keeps all.
	Since time.Time
}

// ReadFile reads the entries of the log file at path that opts selects.
// Partial entries are joined into whole lines. A missing file is an error
// wrapping os.ErrNotExist.
func ReadFile(path string, opts Options) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open log %s: %w", path, err)
	}
	defer f.Close()
	var out []Entry
	j := joiner{}
	err = scan(f, func(e Entry) {
		if full, ok := j.add(e); ok && !full.Time.Before(opts.Since) {
			out = append(out, full)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("read log %s: %w", path, err)
	}
	if opts.Tail >= 0 && len(out) > opts.Tail {
		out = out[len(out)-opts.Tail:]
	}
	return out, nil
}

// scan calls fn for every well-formed line of r; malformed lines (a line
// torn by a crash mid-write can only be the last) are skipped.
func scan(r io.Reader, fn func(Entry)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		if e, err := ParseLine(sc.Bytes()); err == nil {
			e.Content = bytes.Clone(e.Content)
			fn(e)
		}
	}
	return sc.Err()
}

// joiner merges partial entries into whole lines.
type joiner struct {
	pending *Entry
}

func (j *joiner) add(e Entry) (Entry, bool) {
	if j.pending != nil && j.pending.Stream == e.Stream {
		e.Content = append(j.pending.Content, e.Content...)
		e.Time = j.pending.Time
		j.pending = nil
	}
	if e.Partial {
		e.Partial = false
		j.pending = &e
		return Entry{}, false
	}
	return e, true
}

// Follow calls fn for every whole line of the log file at path, from the
// beginning, then waits for the file to grow and continues until ctx ends;
// it reads what was written up to that moment before it returns nil. So a
// caller that cancels ctx once the container exited loses no line. It uses
// inotify; it never polls.
func Follow(ctx context.Context, path string, fn func(Entry)) error {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return fmt.Errorf("follow log %s: inotify: %w", path, err)
	}
	notify := os.NewFile(uintptr(fd), "inotify")
	defer notify.Close()
	if _, err := unix.InotifyAddWatch(fd, path, unix.IN_MODIFY|unix.IN_CLOSE_WRITE|unix.IN_DELETE_SELF|unix.IN_MOVE_SELF); err != nil {
		return fmt.Errorf("follow log %s: watch: %w", path, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("follow log %s: %w", path, err)
	}
	defer f.Close()

	// Wake the blocked read below when ctx ends.
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			notify.SetReadDeadline(time.Unix(1, 0))
		case <-done:
		}
	}()

	r := bufio.NewReader(f)
	var carry []byte
	j := joiner{}
	buf := make([]byte, 4096)
	for {
		// Seen before draining: once ctx has ended, one last drain reads
		// everything written before it ended.
		ending := ctx.Err() != nil
		for {
			line, err := r.ReadBytes('\n')
			if len(line) > 0 && line[len(line)-1] == '\n' {
				line = append(carry, line[:len(line)-1]...)
				carry = nil
				if e, perr := ParseLine(line); perr == nil {
					if full, ok := j.add(e); ok {
						fn(full)
					}
				}
				continue
			}
			carry = append(carry, line...)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("follow log %s: %w", path, err)
			}
		}
		if ending {
			return nil
		}
		if _, err := notify.Read(buf); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("follow log %s: %w", path, err)
		}
	}
}
