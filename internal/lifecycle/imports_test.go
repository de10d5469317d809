package lifecycle_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// pureStdlib are the standard-library packages the planner may import:
// nothing that reads the clock, the file system, the network or the
// environment, or starts goroutines.
var pureStdlib = []string{
	"cmp", "errors", "fmt", "maps", "math", "slices", "sort", "strconv", "strings", "time", "unicode",
}

// allowedPrefixes are the module paths the planner may import.
var allowedPrefixes = []string{"k8s.io/api/", "k8s.io/apimachinery/"}

// forbiddenTimeFuncs read or wait on the clock.
var forbiddenTimeFuncs = []string{
	"Now", "Since", "Until", "Sleep", "After", "AfterFunc", "Tick", "NewTimer", "NewTicker",
}

// TestPlannerIsPure parses the package's non-test files and fails on an
// import outside the allow-list, a call that reads the clock, or a go
// statement (doc.go: no I/O, no clock, no goroutines).
func TestPlannerIsPure(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		timeName := ""
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !importAllowed(path) {
				t.Errorf("%s imports %q: the planner may import only %v and %v", name, path, pureStdlib, allowedPrefixes)
			}
			if path == "time" {
				timeName = "time"
				if imp.Name != nil {
					timeName = imp.Name.Name
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: go statement at %s: the planner starts no goroutines", name, fset.Position(n.Pos()))
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && timeName != "" && id.Name == timeName && slices.Contains(forbiddenTimeFuncs, n.Sel.Name) {
					t.Errorf("%s: time.%s at %s: the planner reads no clock", name, n.Sel.Name, fset.Position(n.Pos()))
				}
			}
			return true
		})
	}
}

// importAllowed reports whether path is on the allow-list.
func importAllowed(path string) bool {
	if slices.Contains(pureStdlib, path) {
		return true
	}
	for _, p := range allowedPrefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// forbiddenModules do I/O; the planner must not depend on them even
// indirectly.
var forbiddenModules = []string{
	"k8s.io/client-go", "k8s.io/cli-runtime", "k8s.io/kubectl", "k8s.io/component-helpers",
	"github.com/google/go-containerregistry", "github.com/opencontainers/runtime-spec",
	"github.com/spf13/cobra", "golang.org/x/sys", "github.com/vishvananda/netlink",
}

// TestPlannerDependsOnNoPodrunPackage asks the go tool for the package's
// transitive dependencies (without tests) and fails if any is another
// podrun package or a module that does I/O.
func TestPlannerDependsOnNoPodrunPackage(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go tool not found: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", "-json=ImportPath,Standard,Module", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	self := "github.com/podrun/podrun/internal/lifecycle"
	for {
		var pkg struct {
			ImportPath string
			Standard   bool
			Module     *struct{ Path string }
		}
		if err := dec.Decode(&pkg); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		if pkg.Standard || pkg.ImportPath == self {
			continue
		}
		if strings.HasPrefix(pkg.ImportPath, "github.com/podrun/") {
			t.Errorf("the planner depends on podrun package %s", pkg.ImportPath)
			continue
		}
		if pkg.Module == nil {
			continue
		}
		for _, m := range forbiddenModules {
			if pkg.Module.Path == m {
				t.Errorf("the planner depends on %s (module %s): it must not reach a runtime, client or CLI library", pkg.ImportPath, m)
			}
		}
	}
}
