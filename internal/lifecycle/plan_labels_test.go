package lifecycle_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// planRuleLabels are the SEMANTICS.md §1–§6 labels the planner decides.
var planRuleLabels = func() []string {
	var out []string
	for i := 1; i <= 12; i++ {
		out = append(out, fmt.Sprintf("S%d", i))
	}
	for i := 1; i <= 5; i++ {
		out = append(out, fmt.Sprintf("RS%d", i))
	}
	for i := 1; i <= 4; i++ {
		out = append(out, fmt.Sprintf("R1.%d", i))
	}
	for i := 1; i <= 7; i++ {
		out = append(out, fmt.Sprintf("H%d", i))
	}
	for i := 1; i <= 10; i++ {
		out = append(out, fmt.Sprintf("T%d", i))
	}
	return append(out, "P2", "P3")
}()

// planTestFiles are the planner's test files (the status tests live in
// the same package and are not counted).
var planTestFiles = []string{"plan_*_test.go", "start*_test.go", "restart*_test.go", "terminate*_test.go", "deadline*_test.go", "backoff*_test.go"}

// TestPlanRuleLabelsHaveTests fails if a rule label of §2–§6 is named by
// no planner test: a test case name (the name field of a case, or the
// first string of a positional case), a t.Run name, or the doc comment of
// a Test function.
func TestPlanRuleLabelsHaveTests(t *testing.T) {
	var names []string
	fset := token.NewFileSet()
	for _, pattern := range planTestFiles {
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			f, err := parser.ParseFile(fset, file, nil, parser.ParseComments)
			if err != nil {
				t.Fatalf("parse %s: %v", file, err)
			}
			names = append(names, caseNames(f)...)
		}
	}
	all := strings.Join(names, "\n")
	for _, label := range planRuleLabels {
		re := regexp.MustCompile(`(^|[^\w.])` + regexp.QuoteMeta(label) + `($|[^\w]|\.[^\d])`)
		if !re.MatchString(all) {
			t.Errorf("rule %s has no planner test naming it", label)
		}
	}
}

// caseNames collects the test and case names of f.
func caseNames(f *ast.File) []string {
	var out []string
	str := func(e ast.Expr) {
		if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if s, err := strconv.Unquote(lit.Value); err == nil {
				out = append(out, s)
			}
		}
	}
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && strings.HasPrefix(fn.Name.Name, "Test") && fn.Doc != nil {
			out = append(out, fn.Doc.Text())
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.KeyValueExpr:
			if id, ok := n.Key.(*ast.Ident); ok && id.Name == "name" {
				str(n.Value)
			}
		case *ast.CompositeLit:
			if len(n.Elts) > 0 {
				str(n.Elts[0])
			}
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Run" && len(n.Args) > 0 {
				str(n.Args[0])
			}
		}
		return true
	})
	return out
}
