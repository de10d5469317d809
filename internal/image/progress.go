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
	return &progress{w: s.opts.progress, terminal: s.opts.terminal, sizes: map[v1.Hash]int64{}, shown: map[v1.Hash]int{}}
}

// progress writes one line per layer: on a terminal a bar redrawn in
// place while the layer downloads, otherwise a line when a layer starts
// and one when it is done. Layers download one after the other.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	sizes    map[v1.Hash]int64
	shown    map[v1.Hash]int // last percentage drawn
}

func short(h v1.Hash) string {
	if len(h.Hex) > 12 {
		return h.Hex[:12]
	}
	return h.Hex
}

func (p *progress) start(d v1.Hash, size int64, present bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sizes[d] = size
	switch {
	case present:
		fmt.Fprintf(p.w, "%s: already present\n", short(d))
		p.shown[d] = -2
	case p.terminal:
		p.shown[d] = -1
		p.draw(d, 0)
	default:
		fmt.Fprintf(p.w, "%s: downloading %s\n", short(d), humanSize(size))
	}
}

func (p *progress) update(d v1.Hash, n int64) {
	if !p.terminal {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draw(d, n)
}

// draw redraws the terminal line of layer d when its percentage changed.
func (p *progress) draw(d v1.Hash, n int64) {
	size := p.sizes[d]
	pct := 100
	if size > 0 {
		pct = int(n * 100 / size)
	}
	if pct == p.shown[d] {
		return
	}
	p.shown[d] = pct
	const width = 30
	fill := pct * width / 100
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	fmt.Fprintf(p.w, "\r\033[2K%s: [%s] %s / %s", short(d), bar, humanSize(n), humanSize(size))
}

func (p *progress) done(d v1.Hash) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.shown[d] == -2:
	case p.terminal:
		p.draw(d, p.sizes[d])
		fmt.Fprintln(p.w)
	default:
		fmt.Fprintf(p.w, "%s: done\n", short(d))
	}
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
