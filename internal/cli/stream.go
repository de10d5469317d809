package cli

import (
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// prefixWriter writes container output lines as `[name] line`, coloured by
// container on a terminal, one whole line at a time so that the lines of
// containers running at once never interleave mid-line.
type prefixWriter struct {
	mu    sync.Mutex
	out   io.Writer
	color bool
	width int
}

// newPrefixWriter returns a prefixWriter on out; names pads the prefixes
// to the longest container name.
func newPrefixWriter(out io.Writer, names []string) *prefixWriter {
	w := &prefixWriter{out: out, color: isTerminal(out)}
	for _, n := range names {
		w.width = max(w.width, len(n))
	}
	return w
}

// palette holds ANSI colours that read well on dark and light terminals.
var palette = []int{36, 33, 35, 32, 34, 31, 96, 93, 95, 92}

// Line writes one line of container's output.
func (w *prefixWriter) Line(container string, line []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.color {
		h := fnv.New32a()
		h.Write([]byte(container))
		c := palette[int(h.Sum32())%len(palette)]
		fmt.Fprintf(w.out, "\x1b[%dm[%s]\x1b[0m %s\n", c, container, line)
		return
	}
	fmt.Fprintf(w.out, "[%s] %s\n", container, line)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
