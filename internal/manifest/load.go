package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/podrun/podrun/internal/features"
)

// Options are the settings of the emulated API server.
type Options struct {
	// Gates are the feature gates in force; the zero value holds the
	// release defaults.
	Gates features.Gates
}

// Stdin is the path that names standard input, as in `-f -`.
const Stdin = "-"

// Object is one decoded object and where it came from.
type Object struct {
	// Source is the file the object was read from, "-" for stdin.
	Source string
	// Document is the 1-based index of the YAML document (or JSON value)
	// in Source.
	Document int
	// Item is the 0-based index within a v1 List, -1 when the document
	// was not a List.
	Item int
	// Object is a *corev1.Pod, *batchv1.Job, *corev1.ConfigMap or
	// *corev1.Secret, with apiVersion and kind set.
	Object runtime.Object
}

// Set is the objects of one input, in input order.
type Set struct {
	// Objects are the decoded objects in input order.
	Objects []Object
}

// Pods returns the set's Pods in input order.
func (s *Set) Pods() []*corev1.Pod { return objectsOf[*corev1.Pod](s) }

// Jobs returns the set's Jobs in input order.
func (s *Set) Jobs() []*batchv1.Job { return objectsOf[*batchv1.Job](s) }

// ConfigMaps returns the set's ConfigMaps in input order.
func (s *Set) ConfigMaps() []*corev1.ConfigMap { return objectsOf[*corev1.ConfigMap](s) }

// Secrets returns the set's Secrets in input order.
func (s *Set) Secrets() []*corev1.Secret { return objectsOf[*corev1.Secret](s) }

func objectsOf[T runtime.Object](s *Set) []T {
	var out []T
	for _, o := range s.Objects {
		if t, ok := o.Object.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

// supported lists the apiVersion/kind pairs Load accepts, for messages.
const supported = `v1 Pod, batch/v1 Job, v1 ConfigMap, v1 Secret, v1 List`

// DecodeError is an input document that could not be turned into an
// object.
type DecodeError struct {
	// Source and Document locate the document (Document is 1-based; 0
	// when the whole source failed, e.g. it could not be read).
	Source   string
	Document int
	// Item is the index within a v1 List, -1 otherwise.
	Item int
	// Err is the cause.
	Err error
}

// Error names the source and document; a whole-source failure (Document
// 0) is reported as its cause, which names the path.
func (e *DecodeError) Error() string {
	if e.Document == 0 {
		return e.Err.Error()
	}
	where := fmt.Sprintf("%q", e.Source)
	if e.Source == Stdin {
		where = "STDIN"
	}
	where += fmt.Sprintf(" (document %d", e.Document)
	if e.Item >= 0 {
		where += fmt.Sprintf(", item %d", e.Item)
	}
	where += ")"
	return fmt.Sprintf("error decoding %s: %v", where, e.Err)
}

// Unwrap returns the cause.
func (e *DecodeError) Unwrap() error { return e.Err }

// ErrUnsupported matches (errors.Is) every *UnsupportedError.
var ErrUnsupported = errors.New("unsupported object")

// Load reads every path in order — a file, a directory (its *.yaml, *.yml
// and *.json files in sorted order, not recursive) or "-" for stdin —
// and returns the objects decoded strictly, defaulted and with the
// fields of disabled features dropped. It reports every document that
// fails, each as a *DecodeError, joined, and returns the objects that did
// decode with them (a caller may check those too, as validate does);
// the Set is nil only when no path is given.
func Load(paths []string, stdin io.Reader, opts Options) (*Set, error) {
	if len(paths) == 0 {
		return nil, errors.New("no manifest given: use -f FILE, -f DIR or -f -")
	}
	set := &Set{}
	var errs []error
	for _, p := range paths {
		files, err := expand(p)
		if err != nil {
			errs = append(errs, &DecodeError{Source: p, Item: -1, Err: err})
			continue
		}
		for _, f := range files {
			data, err := readSource(f, stdin)
			if err != nil {
				errs = append(errs, &DecodeError{Source: f, Item: -1, Err: err})
				continue
			}
			objs, err := Decode(f, data, opts)
			errs = append(errs, err)
			set.Objects = append(set.Objects, objs...)
		}
	}
	return set, errors.Join(errs...)
}

func expand(p string) ([]string, error) {
	if p == Stdin {
		return []string{Stdin}, nil
	}
	info, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("the path %q does not exist", p)
	}
	if !info.IsDir() {
		return []string{p}, nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return nil, fmt.Errorf("read directory %q: %w", p, err)
	}
	var files []string
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".yaml", ".yml", ".json":
			if !e.IsDir() {
				files = append(files, filepath.Join(p, e.Name()))
			}
		}
	}
	slices.Sort(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("directory %q holds no *.yaml, *.yml or *.json file", p)
	}
	return files, nil
}

func readSource(f string, stdin io.Reader) ([]byte, error) {
	if f == Stdin {
		if stdin == nil {
			return nil, errors.New("no standard input to read")
		}
		data, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("read standard input: %w", err)
		}
		return data, nil
	}
	return os.ReadFile(f) // its errors name the path
}

// Decode decodes every document of data (multi-document YAML, or a
// stream of JSON values) read from source, defaults the objects and drops
// disabled fields. It returns the objects that decoded and every failure
// as a *DecodeError, joined.
func Decode(source string, data []byte, opts Options) ([]Object, error) {
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, &DecodeError{Source: source, Document: 1, Item: -1, Err: err}
	}
	var objs []Object
	var errs []error
	n := 0
	for _, doc := range docs {
		jsonDoc, dupErrs, err := toJSON(doc)
		if err != nil {
			n++
			errs = append(errs, &DecodeError{Source: source, Document: n, Item: -1, Err: err})
			continue
		}
		if jsonDoc == nil {
			continue // an empty document: comments or whitespace only
		}
		n++
		decoded, itemErrs := decodeDocument(jsonDoc, dupErrs, opts)
		for _, d := range decoded {
			d.Source, d.Document = source, n
			objs = append(objs, d)
		}
		for _, ie := range itemErrs {
			errs = append(errs, &DecodeError{Source: source, Document: n, Item: ie.item, Err: ie.err})
		}
	}
	return objs, errors.Join(errs...)
}

// splitDocuments splits YAML on "---" lines; input that starts with '{'
// is a stream of JSON values.
func splitDocuments(data []byte) ([][]byte, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		var docs [][]byte
		for {
			var raw json.RawMessage
			err := dec.Decode(&raw)
			if err == io.EOF {
				return docs, nil
			}
			if err != nil {
				return nil, fmt.Errorf("invalid JSON: %w", err)
			}
			docs = append(docs, raw)
		}
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
}

// toJSON converts one document to JSON, reporting duplicated keys with
// their paths. It returns nil JSON for an empty document.
func toJSON(doc []byte) ([]byte, []error, error) {
	dups, empty, err := duplicateFields(doc)
	if err != nil {
		return nil, nil, err
	}
	if empty {
		return nil, nil, nil
	}
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("error converting YAML to JSON: %w", err)
	}
	return j, dups, nil
}

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// itemError is a failure of one document (item -1) or List item.
type itemError struct {
	item int
	err  error
}

// decodeDocument decodes one JSON document; List items come back in
// order.
func decodeDocument(data []byte, dupErrs []error, opts Options) ([]Object, []itemError) {
	var tm typeMeta
	if err := json.Unmarshal(data, &tm); err == nil && tm.Kind == "List" && tm.APIVersion == "v1" {
		return decodeList(data, dupErrs, opts)
	}
	obj, err := decodeObject(data, dupErrs, opts)
	if err != nil {
		return nil, []itemError{{item: -1, err: err}}
	}
	return []Object{obj}, nil
}

// decodeObject decodes one JSON object that is not a List.
func decodeObject(data []byte, dupErrs []error, opts Options) (Object, error) {
	var tm typeMeta
	if err := json.Unmarshal(data, &tm); err != nil {
		return Object{}, fmt.Errorf("not a Kubernetes object: %w", err)
	}
	if tm.Kind == "" {
		return Object{}, fmt.Errorf("Object 'Kind' is missing in '%s'", abbreviate(data))
	}
	if tm.APIVersion == "" {
		return Object{}, fmt.Errorf("Object 'apiVersion' is missing in '%s'", abbreviate(data))
	}
	obj, err := newObject(tm)
	if err != nil {
		return Object{}, err
	}
	strictErrs, err := sigsjson.UnmarshalStrict(data, obj, sigsjson.DisallowUnknownFields)
	if err != nil {
		return Object{}, fmt.Errorf("%s in version %q cannot be handled as a %s: %w", tm.Kind, tm.APIVersion, tm.Kind, err)
	}
	strictErrs = append(dupErrs, strictErrs...)
	if len(strictErrs) > 0 {
		return Object{}, fmt.Errorf("%s in version %q cannot be handled as a %s: %w", tm.Kind, tm.APIVersion, tm.Kind,
			runtime.NewStrictDecodingError(strictErrs))
	}
	applyDefaults(obj)
	dropDisabledFields(obj, opts.Gates)
	return Object{Item: -1, Object: obj}, nil
}

func decodeList(data []byte, dupErrs []error, opts Options) ([]Object, []itemError) {
	if len(dupErrs) > 0 {
		return nil, []itemError{{item: -1, err: fmt.Errorf("List in version \"v1\" cannot be handled as a List: %w",
			runtime.NewStrictDecodingError(dupErrs))}}
	}
	var list struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   json.RawMessage   `json:"metadata,omitempty"`
		Items      []json.RawMessage `json:"items"`
	}
	strictErrs, err := sigsjson.UnmarshalStrict(data, &list, sigsjson.DisallowUnknownFields)
	if err == nil && len(strictErrs) > 0 {
		err = runtime.NewStrictDecodingError(strictErrs)
	}
	if err != nil {
		return nil, []itemError{{item: -1, err: fmt.Errorf("List in version \"v1\" cannot be handled as a List: %w", err)}}
	}
	var objs []Object
	var errs []itemError
	for i, item := range list.Items {
		var tm typeMeta
		if json.Unmarshal(item, &tm) == nil && tm.Kind == "List" {
			errs = append(errs, itemError{item: i, err: errors.New("a List may not hold another List")})
			continue
		}
		obj, err := decodeObject(item, nil, opts)
		if err != nil {
			errs = append(errs, itemError{item: i, err: err})
			continue
		}
		obj.Item = i
		objs = append(objs, obj)
	}
	return objs, errs
}

func newObject(tm typeMeta) (runtime.Object, error) {
	switch {
	case tm.APIVersion == "v1" && tm.Kind == "Pod":
		return &corev1.Pod{}, nil
	case tm.APIVersion == "batch/v1" && tm.Kind == "Job":
		return &batchv1.Job{}, nil
	case tm.APIVersion == "v1" && tm.Kind == "ConfigMap":
		return &corev1.ConfigMap{}, nil
	case tm.APIVersion == "v1" && tm.Kind == "Secret":
		return &corev1.Secret{}, nil
	}
	return nil, &UnsupportedError{APIVersion: tm.APIVersion, Kind: tm.Kind}
}

// UnsupportedError is an object of a kind or apiVersion podrun does not
// run; errors.Is(err, ErrUnsupported) holds.
type UnsupportedError struct {
	APIVersion, Kind string
}

// Error names the kind or apiVersion and lists what podrun supports.
func (e *UnsupportedError) Error() string {
	switch e.Kind {
	case "Pod", "Job", "ConfigMap", "Secret", "List":
		return fmt.Sprintf("apiVersion %q is not supported for kind %s; podrun supports %s", e.APIVersion, e.Kind, supported)
	}
	return fmt.Sprintf("kind %q (apiVersion %q) is not supported; podrun supports %s", e.Kind, e.APIVersion, supported)
}

// Is reports whether target is ErrUnsupported.
func (e *UnsupportedError) Is(target error) bool { return target == ErrUnsupported }

func abbreviate(data []byte) string {
	const max = 80
	s := strings.Join(strings.Fields(string(data)), " ")
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
