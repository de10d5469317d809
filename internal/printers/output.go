package printers

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes/scheme"
)

// OutputOptions select a `kubectl get -o` format other than the tables.
type OutputOptions struct {
	// Format is the -o value: json, yaml, name, jsonpath=TEMPLATE,
	// jsonpath-as-json=TEMPLATE, go-template=TEMPLATE or
	// custom-columns=SPEC.
	Format string
	// SingleItem is true when the user named exactly one object (`get pod
	// NAME`): it is then printed alone; otherwise the objects are wrapped
	// in a v1 List, even a single one, as kubectl does.
	SingleItem bool
	// NoHeaders omits the custom-columns header line.
	NoHeaders bool
}

// IsTableFormat reports whether format is printed as a table (the
// default and wide) rather than by PrintObjects.
func IsTableFormat(format string) bool { return format == "" || format == "wide" }

// PrintObjects prints objs (typed API objects such as *corev1.Pod,
// *batchv1.Job or *corev1.Event) in opts.Format exactly as `kubectl get -o`
// prints what the apiserver returned: keys sorted, four-space JSON indent,
// managedFields omitted, a List around several objects.
func PrintObjects(w io.Writer, objs []runtime.Object, opts OutputOptions) error {
	obj, err := toUnstructured(objs, opts.SingleItem)
	if err != nil {
		return err
	}
	if spec, ok := strings.CutPrefix(opts.Format, "custom-columns="); ok {
		cols, err := parseCustomColumns(spec)
		if err != nil {
			return err
		}
		return printCustomColumns(w, obj, cols, opts.NoHeaders)
	}
	flags := genericclioptions.NewPrintFlags("")
	format := opts.Format
	flags.OutputFormat = &format
	printer, err := flags.ToPrinter()
	if err != nil {
		return fmt.Errorf("output format %q: %w", opts.Format, err)
	}
	if err := printer.PrintObj(obj, w); err != nil {
		return fmt.Errorf("print -o %s: %w", opts.Format, err)
	}
	return nil
}

// toUnstructured turns objs into what kubectl get holds after fetching
// them: one unstructured object, or an unstructured v1 List.
func toUnstructured(objs []runtime.Object, single bool) (runtime.Object, error) {
	items := make([]unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		u, err := unstructuredOf(o)
		if err != nil {
			return nil, err
		}
		items = append(items, *u)
	}
	if single && len(items) == 1 {
		return &items[0], nil
	}
	return &unstructured.UnstructuredList{
		Object: map[string]any{
			"apiVersion": "v1",
			"kind":       "List",
			"metadata":   map[string]any{"resourceVersion": ""},
		},
		Items: items,
	}, nil
}

// unstructuredOf encodes o as JSON with its apiVersion and kind, the way
// the apiserver serves it, and decodes it as kubectl does.
func unstructuredOf(o runtime.Object) (*unstructured.Unstructured, error) {
	o = o.DeepCopyObject()
	if o.GetObjectKind().GroupVersionKind().Empty() {
		gvks, _, err := scheme.Scheme.ObjectKinds(o)
		if err != nil {
			return nil, fmt.Errorf("kind of %T: %w", o, err)
		}
		o.GetObjectKind().SetGroupVersionKind(gvks[0])
	}
	data, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", o, err)
	}
	u := &unstructured.Unstructured{}
	if _, _, err := unstructured.UnstructuredJSONScheme.Decode(data, nil, u); err != nil {
		return nil, fmt.Errorf("decode %T as unstructured: %w", o, err)
	}
	return u, nil
}
