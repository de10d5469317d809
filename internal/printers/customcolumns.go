package printers

import (
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/util/jsonpath"
)

// customColumn is one HEADER:path of -o custom-columns.
type customColumn struct {
	header string
	path   *jsonpath.JSONPath
}

// relaxedPath accepts a.b, .a.b, {a.b} and {.a.b}, as kubectl does.
var relaxedPath = regexp.MustCompile(`^\{\.?([^{}]+)\}$|^\.?([^{}]+)$`)

// parseCustomColumns parses "HEADER:path,HEADER:path".
func parseCustomColumns(spec string) ([]customColumn, error) {
	if spec == "" {
		return nil, fmt.Errorf("custom-columns format specified but no custom columns given")
	}
	var cols []customColumn
	for i, part := range strings.Split(spec, ",") {
		header, expr, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("unexpected custom-columns spec: %s, expected <header>:<json-path-expr>", part)
		}
		p := jsonpath.New(fmt.Sprintf("column%d", i)).AllowMissingKeys(true)
		if expr != "" {
			m := relaxedPath.FindStringSubmatch(expr)
			if m == nil {
				return nil, fmt.Errorf("custom-columns %q: unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' or '{.name1.name2}'", header)
			}
			expr = "{." + m[1] + m[2] + "}"
		}
		if err := p.Parse(expr); err != nil {
			return nil, fmt.Errorf("custom-columns %q: %w", header, err)
		}
		cols = append(cols, customColumn{header: header, path: p})
	}
	return cols, nil
}

// printCustomColumns prints one row per object of obj (each item of a
// list): every column's matches joined by commas, <none> when nothing
// matches, aligned by kubectl's tabwriter.
func printCustomColumns(w io.Writer, obj runtime.Object, cols []customColumn, noHeaders bool) error {
	tw := printers.GetNewTabWriter(w)
	if !noHeaders {
		headers := make([]string, len(cols))
		for i, c := range cols {
			headers[i] = c.header
		}
		fmt.Fprintln(tw, strings.Join(headers, "\t"))
	}
	items := []runtime.Object{obj}
	if meta.IsListType(obj) {
		var err error
		if items, err = meta.ExtractList(obj); err != nil {
			return fmt.Errorf("custom-columns: %w", err)
		}
	}
	for _, item := range items {
		u, ok := item.(runtime.Unstructured)
		if !ok {
			return fmt.Errorf("custom-columns: unexpected %T", item)
		}
		cells := make([]string, len(cols))
		for i, c := range cols {
			results, err := c.path.FindResults(u.UnstructuredContent())
			if err != nil {
				return fmt.Errorf("custom-columns %q: %w", c.header, err)
			}
			cells[i] = joinResults(results)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func joinResults(results [][]reflect.Value) string {
	if len(results) == 0 || len(results[0]) == 0 {
		return "<none>"
	}
	var vals []string
	for _, r := range results {
		for _, v := range r {
			vals = append(vals, printers.EscapeTerminal(fmt.Sprint(v.Interface())))
		}
	}
	return strings.Join(vals, ",")
}
