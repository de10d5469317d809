package printers

import (
	"fmt"
	"io"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/printers"
)

// TableOptions are the `kubectl get` flags that shape a table.
type TableOptions struct {
	// Wide adds the -o wide columns.
	Wide bool
	// WithNamespace adds a leading NAMESPACE column (-A).
	WithNamespace bool
	// ShowLabels adds a trailing LABELS column (--show-labels).
	ShowLabels bool
	// ColumnLabels adds one column per label key (-L key).
	ColumnLabels []string
	// NoHeaders omits the header line (--no-headers).
	NoHeaders bool
}

func (o TableOptions) print() printers.PrintOptions {
	return printers.PrintOptions{
		Wide:          o.Wide,
		WithNamespace: o.WithNamespace,
		ShowLabels:    o.ShowLabels,
		ColumnLabels:  o.ColumnLabels,
		NoHeaders:     o.NoHeaders,
	}
}

// TablePrinter prints successive tables to one writer the way `kubectl get
// -w` does: the header once (again only when the columns change) and
// column widths that never shrink. It is not safe for concurrent use.
type TablePrinter struct {
	tw      flushWriter
	printer printers.ResourcePrinter
}

// NewTablePrinter returns a TablePrinter writing to w with opts.
func NewTablePrinter(w io.Writer, opts TableOptions) *TablePrinter {
	return &TablePrinter{
		tw:      printers.GetNewTabWriter(w),
		printer: printers.NewTablePrinter(opts.print()),
	}
}

// print writes table and flushes it, so each call's rows are on w when it
// returns.
func (p *TablePrinter) print(table *metav1.Table) error {
	if err := p.printer.PrintObj(table, p.tw); err != nil {
		return fmt.Errorf("print table: %w", err)
	}
	if err := p.tw.Flush(); err != nil {
		return fmt.Errorf("print table: %w", err)
	}
	return nil
}

// printOnce prints table alone on w.
func printOnce(w io.Writer, table *metav1.Table, opts TableOptions) error {
	return NewTablePrinter(w, opts).print(table)
}

// flushWriter is kubectl's tabwriter as this package uses it.
type flushWriter interface {
	io.Writer
	Flush() error
}

// age is the AGE cell of an object created at created.
func age(created metav1.Time, now time.Time) string { return sinceMeta(created, now) }

// NoResourcesFound writes kubectl's message for an empty `get` (kubectl
// writes it to stderr): "No resources found in <ns> namespace." or, with
// -A, "No resources found".
func NoResourcesFound(w io.Writer, namespace string, allNamespaces bool) error {
	var err error
	if allNamespaces {
		_, err = fmt.Fprintln(w, "No resources found")
	} else {
		_, err = fmt.Fprintf(w, "No resources found in %s namespace.\n", namespace)
	}
	return err
}
