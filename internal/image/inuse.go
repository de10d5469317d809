package image

import (
	"bufio"
	"fmt"
	"github.com/podrun/podrun/internal/mountinfo"
	"os"
	"path/filepath"
	"strings"
)

// layersInUse returns the names of the layer directories under layerRoot
// that a mounted overlay uses as a lower dir, read from mountinfo (the
// format of /proc/self/mountinfo).
func layersInUse(mountsFile, layerRoot string) (map[string]bool, error) {
	f, err := os.Open(mountsFile)
	if err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	defer f.Close()
	inUse := map[string]bool{}
	prefix := filepath.Clean(layerRoot) + "/"
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE SOURCE SUPEROPTS
		_, after, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields := strings.Fields(after)
		if len(fields) < 3 || fields[0] != "overlay" {
			continue
		}
		for _, opt := range strings.Split(fields[2], ",") {
			k, v, _ := strings.Cut(opt, "=")
			if k != "lowerdir" && k != "lowerdir+" {
				continue
			}
			for _, dir := range strings.Split(mountinfo.Unescape(v), ":") {
				if rest, ok := strings.CutPrefix(filepath.Clean(dir), prefix); ok {
					inUse[strings.SplitN(rest, "/", 2)[0]] = true
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	return inUse, nil
}
