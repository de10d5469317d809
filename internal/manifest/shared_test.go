package manifest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/podrun/podrun/internal/features"
	"github.com/podrun/podrun/internal/sharedtest"
)

// sharedDir returns ../shared relative to the module root (where CI keeps
// it); its absence is a failure, not a skip.
func sharedDir(t *testing.T) string {
	t.Helper()
	return filepath.Dir(sharedtest.Dir(t, "conformance"))
}

// scenario is one conformance file: the manifest and its expect block.
type scenario struct {
	name     string
	manifest []byte
	expect   struct {
		Rejected bool `json:"rejected"`
		Errors   []struct {
			Field, Type, Detail string
		} `json:"errors"`
		MessageContains []string `json:"messageContains"`
		Variants        []struct {
			Description  string          `json:"description"`
			FeatureGates map[string]bool `json:"featureGates"`
			Rejected     *bool           `json:"rejected"`
		} `json:"variants"`
	}
}

func loadScenarios(t *testing.T) []scenario {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(sharedDir(t), "conformance", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no conformance scenarios: %v", err)
	}
	var out []scenario
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		first, second, ok := strings.Cut(string(data), "\n---\n")
		if !ok {
			t.Fatalf("%s: no expect document", f)
		}
		s := scenario{name: filepath.Base(f), manifest: []byte(first)}
		var doc struct {
			Expect json.RawMessage `json:"expect"`
		}
		if err := yaml.Unmarshal([]byte(second), &doc); err != nil {
			t.Fatalf("%s: expect block: %v", f, err)
		}
		if err := json.Unmarshal(doc.Expect, &s.expect); err != nil {
			t.Fatalf("%s: expect block: %v", f, err)
		}
		out = append(out, s)
	}
	return out
}

func gatesFrom(t *testing.T, m map[string]bool) features.Gates {
	t.Helper()
	g := features.Default()
	for k, v := range m {
		var err error
		if g, err = g.With(k, v); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

func typeName(e *field.Error) string {
	return strings.TrimSuffix(e.Type.String(), " value")
}

// TestConformanceScenarios: every scenario manifest is accepted, except
// those whose expect block says rejected, which must fail with exactly
// the listed field paths, types and details; variants that set feature
// gates are checked with those gates.
func TestConformanceScenarios(t *testing.T) {
	for _, s := range loadScenarios(t) {
		t.Run(s.name, func(t *testing.T) {
			check := func(t *testing.T, opts Options, rejected bool) {
				objs, err := Decode(s.name, s.manifest, opts)
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				if len(objs) != 1 {
					t.Fatalf("decoded %d objects, want 1", len(objs))
				}
				errs := Validate(objs[0].Object, opts)
				if !rejected {
					if len(errs) > 0 {
						t.Fatalf("rejected, want accepted: %v", errs.ToAggregate())
					}
					return
				}
				type fe struct{ Field, Type, Detail string }
				var got, want []fe
				for _, e := range errs {
					got = append(got, fe{e.Field, typeName(e), e.Detail})
				}
				for _, e := range s.expect.Errors {
					want = append(want, fe{e.Field, e.Type, e.Detail})
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("errors (-want +got):\n%s", diff)
				}
				msg := (&InvalidError{Kind: KindOf(objs[0].Object), Name: nameOf(objs[0].Object), Errs: errs}).Error()
				for _, m := range s.expect.MessageContains {
					if !strings.Contains(msg, m) {
						t.Errorf("message %q does not contain %q", msg, m)
					}
				}
			}
			check(t, Options{}, s.expect.Rejected)
			for _, v := range s.expect.Variants {
				if v.FeatureGates == nil || v.Rejected == nil {
					continue // described, not machine-checkable
				}
				t.Run(v.Description, func(t *testing.T) {
					check(t, Options{Gates: gatesFrom(t, v.FeatureGates)}, *v.Rejected)
				})
			}
		})
	}
}

// TestRestartPolicyGateOffDrops: with ContainerRestartRules off the API
// server drops the fields of 061/063/064 instead of rejecting them
// (SEMANTICS.md §17); with it on they are kept.
func TestRestartPolicyGateOffDrops(t *testing.T) {
	byName := map[string]scenario{}
	for _, s := range loadScenarios(t) {
		byName[s.name[:3]] = s
	}
	off := Options{Gates: gatesFrom(t, map[string]bool{features.ContainerRestartRules: false})}
	for _, tt := range []struct {
		id      string
		regular bool
	}{{"061", true}, {"063", false}, {"064", true}} {
		for _, opts := range []Options{{}, off} {
			objs, err := Decode(tt.id, byName[tt.id].manifest, opts)
			if err != nil {
				t.Fatalf("%s: %v", tt.id, err)
			}
			pod := objs[0].Object.(*corev1.Pod)
			c := pod.Spec.InitContainers
			if tt.regular {
				c = pod.Spec.Containers
			}
			kept := c[0].RestartPolicy != nil
			if want := opts.Gates.Enabled(features.ContainerRestartRules); kept != want {
				t.Errorf("%s with ContainerRestartRules=%v: restartPolicy kept=%v, want %v", tt.id, want, kept, want)
			}
			if len(c[0].RestartPolicyRules) > 0 && !opts.Gates.Enabled(features.ContainerRestartRules) {
				t.Errorf("%s: restartPolicyRules kept with the gate off", tt.id)
			}
			if errs := ValidatePod(pod, opts); len(errs) > 0 {
				t.Errorf("%s: rejected: %v", tt.id, errs.ToAggregate())
			}
		}
	}
}

// goldenCase is one kubectl-golden folder: the manifest as applied and
// the objects a real 1.37.2 API server stored.
type goldenCase struct {
	name     string
	manifest []byte
	pod      *corev1.Pod
	job      *batchv1.Job
}

func loadGolden(t *testing.T) []goldenCase {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(sharedDir(t), "kubectl-golden", "*", "manifest.yaml"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no kubectl-golden manifests: %v", err)
	}
	var out []goldenCase
	for _, m := range dirs {
		dir := filepath.Dir(m)
		c := goldenCase{name: filepath.Base(dir)}
		if c.manifest, err = os.ReadFile(m); err != nil {
			t.Fatal(err)
		}
		if data, err := os.ReadFile(filepath.Join(dir, "pod.json")); err == nil {
			c.pod = &corev1.Pod{}
			if err := json.Unmarshal(data, c.pod); err != nil {
				t.Fatalf("%s/pod.json: %v", dir, err)
			}
		}
		if data, err := os.ReadFile(filepath.Join(dir, "job.json")); err == nil {
			c.job = &batchv1.Job{}
			if err := json.Unmarshal(data, c.job); err != nil {
				t.Fatalf("%s/job.json: %v", dir, err)
			}
		}
		out = append(out, c)
	}
	return out
}

// withoutServiceAccountVolume removes what the ServiceAccount admission
// plugin projects into a pod (the kube-api-access volume and its mounts),
// which podrun does not add, and the fields the scheduler sets.
func withoutServiceAccountVolume(spec corev1.PodSpec) corev1.PodSpec {
	s := *spec.DeepCopy()
	s.NodeName = ""
	var vols []corev1.Volume
	for _, v := range s.Volumes {
		if !strings.HasPrefix(v.Name, "kube-api-access-") {
			vols = append(vols, v)
		}
	}
	s.Volumes = vols
	for _, cs := range [][]corev1.Container{s.InitContainers, s.Containers} {
		for i := range cs {
			var ms []corev1.VolumeMount
			for _, m := range cs[i].VolumeMounts {
				if !strings.HasPrefix(m.Name, "kube-api-access-") {
					ms = append(ms, m)
				}
			}
			cs[i].VolumeMounts = ms
		}
	}
	return s
}

// TestGoldenManifestsDefaultLikeTheAPIServer: every kubectl-golden
// manifest is accepted, and after DefaultPod/DefaultJob + Stamp its spec
// equals what the real API server stored (pod.json, job.json), apart from
// the service-account token volume and the scheduler's nodeName. For a
// Job, PodFromJobTemplate reproduces the controller's pod.
func TestGoldenManifestsDefaultLikeTheAPIServer(t *testing.T) {
	for _, c := range loadGolden(t) {
		t.Run(c.name, func(t *testing.T) {
			objs, err := Decode(c.name, c.manifest, Options{})
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if len(objs) != 1 {
				t.Fatalf("decoded %d objects, want 1", len(objs))
			}
			if errs := Validate(objs[0].Object, Options{}); len(errs) > 0 {
				t.Fatalf("rejected: %v", errs.ToAggregate())
			}
			opts := cmpopts.EquateEmpty()
			switch o := objs[0].Object.(type) {
			case *corev1.Pod:
				if c.pod == nil {
					t.Fatal("no pod.json")
				}
				if diff := cmp.Diff(withoutServiceAccountVolume(c.pod.Spec), o.Spec, opts); diff != "" {
					t.Errorf("defaulted pod spec (-apiserver +podrun):\n%s", diff)
				}
				if err := Stamp(o, c.pod.UID, c.pod.CreationTimestamp); err != nil {
					t.Fatal(err)
				}
				if o.Status.QOSClass != c.pod.Status.QOSClass {
					t.Errorf("stamped qosClass %q, API server %q", o.Status.QOSClass, c.pod.Status.QOSClass)
				}
				if c.pod.DeletionTimestamp == nil && o.Generation != c.pod.Generation {
					t.Errorf("stamped generation %d, API server %d", o.Generation, c.pod.Generation) // deletion bumps it
				}
			case *batchv1.Job:
				if c.job == nil {
					t.Fatal("no job.json")
				}
				if err := Stamp(o, c.job.UID, c.job.CreationTimestamp); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(c.job.Spec, o.Spec, opts); diff != "" {
					t.Errorf("defaulted job spec (-apiserver +podrun):\n%s", diff)
				}
				if diff := cmp.Diff(c.job.Labels, o.Labels); diff != "" {
					t.Errorf("job labels (-apiserver +podrun):\n%s", diff)
				}
				if errs := ValidateJob(o, Options{}); len(errs) > 0 {
					t.Errorf("stamped job rejected: %v", errs.ToAggregate())
				}
				if c.pod == nil {
					return
				}
				pod := PodFromJobTemplate(o, 0)
				if diff := cmp.Diff(withoutServiceAccountVolume(c.pod.Spec), pod.Spec, opts); diff != "" {
					t.Errorf("job pod spec (-controller +podrun):\n%s", diff)
				}
				want := c.pod.ObjectMeta
				got := pod.ObjectMeta
				if got.GenerateName != want.GenerateName || !cmp.Equal(got.Labels, want.Labels) ||
					!cmp.Equal(got.OwnerReferences, want.OwnerReferences) || got.Namespace != want.Namespace {
					t.Errorf("job pod metadata = %+v\nwant generateName, labels, ownerReferences, namespace of %+v", got, want)
				}
				if errs := ValidatePod(pod, Options{}); len(errs) > 0 {
					t.Errorf("job pod rejected: %v", errs.ToAggregate())
				}
			default:
				t.Fatalf("unexpected %T", o)
			}
		})
	}
}
