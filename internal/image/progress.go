package image

import (
	"fmt"
	"io"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// reporter returns the layer reporter for a pull of the image fullName,
// or nil when the store reports no progress.
func (s *Store) reporter(fullName string) layerReporter {
	if s.opts.progress == nil {
		return nil
	}
	fmt.Fprintf(s.opts.progress, "Pulling %s\n", fullName)
	return &progress{w: s.opts.progress, terminal: s.opts.terminal}
}

// progress reports a pull. On a terminal it keeps one line per layer and
// redraws a layer's line in place as its download goes; otherwise it
// writes a line when a layer starts and one when it is done.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	layers   []*layerLine
}

type layerLine struct {
	digest v1.Hash
	size   int64
	n      int64
	state  string // present, waiting, downloading, done
	pct    int    // percentage last drawn
}

func short(h v1.Hash) string {
	if len(h.Hex) > 12 {
		return h.Hex[:12]
	}
	return h.Hex
}

func (p *progress) begin(layers []v1.Descriptor, present map[v1.Hash]bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range layers {
		line := &layerLine{digest: l.Digest, size: l.Size, state: "waiting", pct: -1}
		if present[l.Digest] {
			line.state = "present"
		}
		p.layers = append(p.layers, line)
		if p.terminal || line.state == "present" {
			fmt.Fprintln(p.w, line.text())
		}
	}
}

func (p *progress) start(d v1.Hash) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, l := p.find(d)
	if l == nil {
		return
	}
	l.state = "downloading"
	if !p.terminal {
		fmt.Fprintf(p.w, "%s: downloading %s\n", short(d), humanSize(l.size))
		return
	}
	p.redraw(i)
}

func (p *progress) update(d v1.Hash, n int64) {
	if !p.terminal {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	i, l := p.find(d)
	if l == nil {
		return
	}
	l.n = n
	pct := 100
	if l.size > 0 {
		pct = int(n * 100 / l.size)
	}
	if pct == l.pct {
		return
	}
	l.pct = pct
	p.redraw(i)
}

func (p *progress) done(d v1.Hash) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, l := p.find(d)
	if l == nil {
		return
	}
	l.state, l.n = "done", l.size
	if !p.terminal {
		fmt.Fprintf(p.w, "%s: done\n", short(d))
		return
	}
	p.redraw(i)
}

func (p *progress) find(d v1.Hash) (int, *layerLine) {
	for i, l := range p.layers {
		if l.digest == d {
			return i, l
		}
	}
	return -1, nil
}

// redraw rewrites line i of the block of layer lines, which ends where
// the cursor is.
func (p *progress) redraw(i int) {
	up := len(p.layers) - i
	fmt.Fprintf(p.w, "\033[%dA\r\033[2K%s\033[%dB\r", up, p.layers[i].text(), up)
}

func (l *layerLine) text() string {
	switch l.state {
	case "present":
		return short(l.digest) + ": already present"
	case "waiting":
		return short(l.digest) + ": waiting"
	case "done":
		return fmt.Sprintf("%s: pulled %s", short(l.digest), humanSize(l.size))
	}
	const width = 30
	fill := 0
	if l.size > 0 {
		fill = int(l.n * width / l.size)
	}
	fill = min(max(fill, 0), width)
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	return fmt.Sprintf("%s: [%s] %s / %s", short(l.digest), bar, humanSize(l.n), humanSize(l.size))
}

// humanSize prints a byte count as docker does (decimal units).
func humanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d%s", n, units[0])
	}
	return fmt.Sprintf("%.3g%s", f, units[i])
}
