package logs

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// Stream names a container output stream.
type Stream string

// The two streams of a container.
const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

// Entry is one line of a CRI log file.
type Entry struct {
	// Time is when the runtime read the line from the container.
	Time   time.Time
	Stream Stream
	// Partial is true for the P tag: the line continues in the next entry.
	Partial bool
	// Content is the line without its trailing newline.
	Content []byte
}

// ErrMalformed reports a line that is not in the CRI log format.
var ErrMalformed = errors.New("malformed CRI log line")

// ParseLine parses one line (without its newline) of a CRI log file.
func ParseLine(line []byte) (Entry, error) {
	var e Entry
	ts, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return e, fmt.Errorf("%w: %q", ErrMalformed, line)
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return e, fmt.Errorf("%w: timestamp %q: %v", ErrMalformed, ts, err)
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok || (string(stream) != string(Stdout) && string(stream) != string(Stderr)) {
		return e, fmt.Errorf("%w: stream in %q", ErrMalformed, line)
	}
	tag, content, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		// An empty full line may be written without the separator.
		tag, content = rest, nil
	}
	switch string(tag) {
	case "F":
	case "P":
		e.Partial = true
	default:
		return e, fmt.Errorf("%w: tag %q", ErrMalformed, tag)
	}
	e.Time, e.Stream, e.Content = t, Stream(stream), content
	return e, nil
}

// Format renders e as a CRI log line with its newline.
func Format(e Entry) []byte {
	tag := "F"
	if e.Partial {
		tag = "P"
	}
	b := make([]byte, 0, len(e.Content)+48)
	b = e.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, ' ')
	b = append(b, e.Stream...)
	b = append(b, ' ')
	b = append(b, tag...)
	b = append(b, ' ')
	b = append(b, e.Content...)
	return append(b, '\n')
}
