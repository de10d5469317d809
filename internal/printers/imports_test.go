package printers

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPurity enforces the package boundary of STYLE.md §2: no import of
// the back-end, runtime, store or podworker packages, and no wall clock.
func TestPurity(t *testing.T) {
	forbiddenImports := []string{
		"github.com/podrun/podrun/internal/backend",
		"github.com/podrun/podrun/internal/runtime",
		"github.com/podrun/podrun/internal/store",
		"github.com/podrun/podrun/internal/podworker",
	}
	forbiddenCalls := map[string]bool{"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true, "Tick": true, "NewTimer": true, "NewTicker": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly|parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range forbiddenImports {
				if path == bad || strings.HasPrefix(path, bad+"/") {
					t.Errorf("%s imports %s, which printers must not depend on", name, path)
				}
			}
		}
		full, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(full, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "time" && forbiddenCalls[sel.Sel.Name] {
				t.Errorf("%s: time.%s: printers read time only from their now parameter", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			return true
		})
		checked++
	}
	if checked == 0 {
		t.Fatal("no source files checked")
	}
}
