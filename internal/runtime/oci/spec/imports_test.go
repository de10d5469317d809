package spec

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPure fails when a non-test file of the package imports something that
// does I/O or reads the environment or the clock, or another podrun
// package: the translation must stay a pure function of its Input.
func TestPure(t *testing.T) {
	forbidden := []string{
		"os", "os/exec", "os/signal", "os/user", "io/ioutil", "io/fs", "net",
		"net/http", "path/filepath", "syscall/js", "time", "unsafe",
		"golang.org/x/sys/unix", "github.com/podrun/podrun/",
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range forbidden {
				if path == bad || (strings.HasSuffix(bad, "/") && strings.HasPrefix(path, bad)) {
					t.Errorf("%s imports %q: package spec must stay pure", name, path)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no source files checked")
	}
}
