package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

const podYAML = `apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  containers:
  - name: main
    image: busybox
`

func pod(name string) string { return strings.Replace(podYAML, "%s", name, 1) }

// summary lists what a Set holds as "TYPE/NAME@source#doc[item]".
func summary(s *Set) []string {
	var out []string
	for _, o := range s.Objects {
		where := filepath.Base(o.Source) + "#" + string(rune('0'+o.Document))
		if o.Item >= 0 {
			where += "[" + string(rune('0'+o.Item)) + "]"
		}
		out = append(out, ResourceName(o.Object)+"@"+where)
	}
	return out
}

func TestDecodeAccepts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{name: "one pod", in: pod("a"), want: []string{"pod/a@in#1"}},
		{name: "multi-document with empty and comment-only documents",
			in:   "---\n# nothing here\n---\n" + pod("a") + "---\n" + pod("b") + "\n---\n",
			want: []string{"pod/a@in#1", "pod/b@in#2"}},
		{name: "all kinds", in: pod("p") + `---
apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
data: {a: b}
---
apiVersion: v1
kind: Secret
metadata: {name: s}
stringData: {a: b}
`, want: []string{"pod/p@in#1", "job.batch/j@in#2", "configmap/cm@in#3", "secret/s@in#4"}},
		{name: "v1 List expanded in order", in: `apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: one}}
- {apiVersion: v1, kind: Pod, metadata: {name: two}, spec: {containers: [{name: c, image: busybox}]}}
`, want: []string{"configmap/one@in#1[0]", "pod/two@in#1[1]"}},
		{name: "JSON stream", in: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}`, want: []string{"pod/a@in#1", "configmap/b@in#2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Decode("in", []byte(tt.in), Options{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(tt.want, summary(&Set{Objects: objs})); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // substrings of the error, all required
		// unsupported: the error matches ErrUnsupported
		unsupported bool
	}{
		{name: "misspelled field", in: strings.Replace(pod("a"), "image:", "imagee:", 1),
			want: []string{`error decoding "in.yaml" (document 1)`, `Pod in version "v1" cannot be handled as a Pod`,
				`strict decoding error: unknown field "spec.containers[0].imagee"`}},
		{name: "unknown metadata field", in: strings.Replace(pod("a"), "  name: a", "  name: a\n  nmae: b", 1),
			want: []string{`unknown field "metadata.nmae"`}},
		{name: "duplicated YAML field", in: strings.Replace(pod("a"), "image: busybox", "image: busybox\n    image: nginx", 1),
			want: []string{`duplicate field "spec.containers[0].image"`}},
		{name: "duplicated JSON field", in: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","name":"b"},"spec":{"containers":[{"name":"c","image":"x"}]}}`,
			want: []string{`duplicate field "metadata.name"`}},
		{name: "every strict error of a document", in: strings.Replace(strings.Replace(pod("a"), "image:", "imagee:", 1), "  name: a", "  name: a\n  foo: 1", 1),
			want: []string{`unknown field "metadata.foo"`, `unknown field "spec.containers[0].imagee"`}},
		{name: "unsupported kind names it and the supported ones", in: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n",
			want: []string{`kind "Deployment" (apiVersion "apps/v1") is not supported`, "v1 Pod, batch/v1 Job, v1 ConfigMap, v1 Secret, v1 List"}, unsupported: true},
		{name: "unsupported apiVersion of a known kind", in: "apiVersion: batch/v1beta1\nkind: Job\nmetadata: {name: j}\n",
			want: []string{`apiVersion "batch/v1beta1" is not supported for kind Job`, "batch/v1 Job"}, unsupported: true},
		{name: "missing kind", in: "apiVersion: v1\nmetadata: {name: x}\n", want: []string{"Object 'Kind' is missing"}},
		{name: "bad quantity", in: strings.Replace(pod("a"), "image: busybox", "image: busybox\n    resources: {limits: {cpu: lots}}", 1),
			want: []string{"cannot be handled as a Pod", "quantities must match the regular expression"}},
		{name: "YAML syntax", in: "apiVersion: v1\nkind: Pod\n metadata: [\n", want: []string{`error decoding "in.yaml" (document 1)`, "yaml"}},
		{name: "bad List item is located", in: "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: a}, spec: {containerz: []}}\n",
			want: []string{`(document 1, item 0)`, `unknown field "spec.containerz"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode("in.yaml", []byte(tt.in), Options{})
			if err == nil {
				t.Fatalf("Decode accepted:\n%s", tt.in)
			}
			if tt.unsupported != errors.Is(err, ErrUnsupported) {
				t.Errorf("errors.Is(err, ErrUnsupported) = %v, want %v", !tt.unsupported, tt.unsupported)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Errorf("error %v is not a *DecodeError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestDecodeReportsEveryBadDocument(t *testing.T) {
	in := strings.Replace(pod("a"), "image:", "imagee:", 1) + "---\n" + pod("ok") + "---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
	_, err := Decode("in.yaml", []byte(in), Options{})
	if err == nil {
		t.Fatal("Decode accepted")
	}
	for _, w := range []string{"(document 1)", "(document 3)", `kind "Service"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "(document 2)") {
		t.Errorf("error blames the good document: %v", err)
	}
}

func TestLoadPaths(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("d/b.yaml", pod("b"))
	write("d/a.yml", pod("a"))
	write("d/c.json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}`)
	write("d/notes.txt", "not a manifest")
	write("d/sub/z.yaml", pod("z")) // not recursive
	single := write("single.yaml", pod("s"))

	set, err := Load([]string{single, filepath.Join(dir, "d"), Stdin}, strings.NewReader(pod("in")), Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := []string{"pod/s@single.yaml#1", "pod/a@a.yml#1", "pod/b@b.yaml#1", "configmap/c@c.json#1", "pod/in@-#1"}
	if diff := cmp.Diff(want, summary(set)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	if n := len(set.Pods()); n != 4 {
		t.Errorf("Pods() = %d, want 4", n)
	}
	if n := len(set.ConfigMaps()); n != 1 {
		t.Errorf("ConfigMaps() = %d, want 1", n)
	}

	for _, tt := range []struct {
		name  string
		paths []string
		want  string
	}{
		{"missing file", []string{filepath.Join(dir, "nope.yaml")}, "does not exist"},
		{"no paths", nil, "no manifest given"},
		{"empty directory", []string{filepath.Join(dir, "d", "sub", "..", "..", "empty")}, "does not exist"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.paths, nil, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load(%v) error = %v, want one containing %q", tt.paths, err, tt.want)
			}
		})
	}
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Load([]string{filepath.Join(dir, "empty")}, nil, Options{}); err == nil || !strings.Contains(err.Error(), "holds no *.yaml") {
		t.Errorf("Load(empty dir) error = %v", err)
	}
}

func TestLoadAppliesDefaultsAndTypes(t *testing.T) {
	set, err := Load([]string{Stdin}, strings.NewReader(pod("a")+`---
apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := set.Pods()[0]
	if p.Spec.RestartPolicy != corev1.RestartPolicyAlways || p.Namespace != "default" || p.APIVersion != "v1" || p.Kind != "Pod" {
		t.Errorf("pod not defaulted or typed: restartPolicy=%q namespace=%q %s/%s", p.Spec.RestartPolicy, p.Namespace, p.APIVersion, p.Kind)
	}
	j := set.Jobs()[0]
	if j.Spec.BackoffLimit == nil || *j.Spec.BackoffLimit != 6 || j.Spec.Template.Spec.SchedulerName != DefaultSchedulerName {
		t.Errorf("job not defaulted: %+v", j.Spec)
	}
	if _, ok := set.Objects[1].Object.(*batchv1.Job); !ok {
		t.Errorf("second object is %T", set.Objects[1].Object)
	}
}
