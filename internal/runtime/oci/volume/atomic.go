package volume

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

const dataLink = "..data"

// writeAtomic publishes p in dir with the kubelet's atomic-writer layout:
//
//	dir/..<random>/<path>     the files of this version
//	dir/..data -> ..<random>  switched with one rename
//	dir/<top> -> ..data/<top> one symlink per top-level name
//
// A reader never sees a mix of two versions. Writing the same payload
// again changes nothing.
func writeAtomic(dir string, p payload) error {
	for path := range p {
		if err := validatePayloadPath(path); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, err := os.Readlink(filepath.Join(dir, dataLink))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if old != "" && samePayload(filepath.Join(dir, old), p) {
		return nil
	}
	tsDir, err := os.MkdirTemp(dir, "..")
	if err != nil {
		return err
	}
	if err := os.Chmod(tsDir, 0o755); err != nil {
		return err
	}
	for path, f := range p {
		full := filepath.Join(tsDir, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, f.Data, f.Mode); err != nil {
			return err
		}
		// WriteFile's mode is subject to the umask.
		if err := os.Chmod(full, f.Mode); err != nil {
			return err
		}
	}
	tmpLink := filepath.Join(dir, "..data_tmp")
	_ = os.Remove(tmpLink)
	if err := os.Symlink(filepath.Base(tsDir), tmpLink); err != nil {
		return err
	}
	if err := os.Rename(tmpLink, filepath.Join(dir, dataLink)); err != nil {
		return err
	}
	tops := map[string]bool{}
	for path := range p {
		tops[strings.SplitN(path, "/", 2)[0]] = true
	}
	for top := range tops {
		link := filepath.Join(dir, top)
		target := filepath.Join(dataLink, top)
		if cur, err := os.Readlink(link); err == nil && cur == target {
			continue
		}
		_ = os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == dataLink || name == filepath.Base(tsDir):
		case strings.HasPrefix(name, ".."):
			if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
				return err
			}
		case !tops[name] && e.Type()&os.ModeSymlink != 0:
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return err
			}
		}
	}
	return nil
}

// samePayload reports whether dir holds exactly p.
func samePayload(dir string, p payload) bool {
	var have []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		have = append(have, rel)
		return nil
	})
	if err != nil || len(have) != len(p) {
		return false
	}
	sort.Strings(have)
	for _, rel := range have {
		f, ok := p[rel]
		if !ok {
			return false
		}
		full := filepath.Join(dir, rel)
		st, err := os.Lstat(full)
		if err != nil || st.Mode().Perm() != f.Mode {
			return false
		}
		data, err := os.ReadFile(full)
		if err != nil || !bytes.Equal(data, f.Data) {
			return false
		}
	}
	return true
}
