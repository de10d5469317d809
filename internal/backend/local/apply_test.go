package local

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/manifest"
	"github.com/podrun/podrun/internal/store"
)

// applyPodFixture is a defaulted pod as manifest.Load returns it.
func applyPodFixture(image string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "main", Image: image, Command: []string{"true"}}}},
	}
	manifest.DefaultPod(p)
	return p
}

func applyJobFixture(cmd string) *batchv1.Job {
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "batch"},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "main", Image: "busybox", Command: []string{cmd}}},
		}}},
	}
	manifest.DefaultJob(j)
	return j
}

// outcome is one Applied, comparable.
type outcome struct {
	Object    string
	Action    string
	Immutable bool
}

func outcomes(as []Applied) []outcome {
	var out []outcome
	for _, a := range as {
		o := outcome{Object: string(a.Kind) + "/" + a.Name, Action: a.Action}
		if a.Err != nil {
			o.Immutable = errors.Is(a.Err, ErrImmutable)
			if !o.Immutable {
				o.Action = "error: " + a.Err.Error()
			}
		}
		out = append(out, o)
	}
	return out
}

// TestApply applies a pod and a Job three times: created (a supervisor
// started for each), then unchanged, then refused because the spec
// changed — kubectl apply against an API server that does not update
// pod specs.
func TestApply(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	starter := &fakeStarter{}
	opts := ApplyOptions{Runtime: "crun", Settings: lifecycle.DefaultSettings(), NodeName: "node-1", Launch: starter, Now: t0,
		ConfigMaps: map[string]*corev1.ConfigMap{"cfg": {ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"k": "v"}}}}

	got := outcomes(Apply(ctx, st, []*corev1.Pod{applyPodFixture("busybox")}, []*batchv1.Job{applyJobFixture("true")}, opts))
	want := []outcome{{Object: "pod/web", Action: "created"}, {Object: "job/batch", Action: "created"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("first apply (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"pod default/web", "job default/batch"}, starter.started); diff != "" {
		t.Errorf("supervisors started (-want +got):\n%s", diff)
	}
	pod, err := st.GetPod(ctx, "default", "web")
	if err != nil {
		t.Fatal(err)
	}
	if pod.UID == "" || pod.Spec.NodeName != "node-1" || pod.Status.Phase != corev1.PodPending || !pod.CreationTimestamp.Time.Equal(t0) {
		t.Errorf("stored pod: uid %q node %q phase %q created %v; want a uid, node-1, Pending, %v",
			pod.UID, pod.Spec.NodeName, pod.Status.Phase, pod.CreationTimestamp, t0)
	}
	spec, err := readSpec(st.Root(), KindPod, "default", "web")
	if err != nil {
		t.Fatal(err)
	}
	if spec.Runtime != "crun" || spec.ConfigMaps["cfg"].Data["k"] != "v" {
		t.Errorf("supervisor spec: runtime %q configMaps %v; want crun and the apply set", spec.Runtime, spec.ConfigMaps)
	}

	// The pod's supervisor lives: applying again starts nothing.
	lock, err := st.LockSupervisor("default", "web")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	starter.started = nil
	got = outcomes(Apply(ctx, st, []*corev1.Pod{applyPodFixture("busybox")}, []*batchv1.Job{applyJobFixture("true")}, opts))
	want = []outcome{{Object: "pod/web", Action: "unchanged"}, {Object: "job/batch", Action: "unchanged"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("second apply (-want +got):\n%s", diff)
	}
	if len(starter.started) != 0 {
		t.Errorf("second apply started supervisors %v, want none", starter.started)
	}

	// The Job's supervisor ran and died: applying again restarts it.
	unlock, err := lockJob(st.Root(), "default", "batch")
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	got = outcomes(Apply(ctx, st, nil, []*batchv1.Job{applyJobFixture("true")}, opts))
	if diff := cmp.Diff([]outcome{{Object: "job/batch", Action: "unchanged"}}, got); diff != "" {
		t.Errorf("apply after the Job's supervisor died (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"job default/batch"}, starter.started); diff != "" {
		t.Errorf("supervisors started after the Job's died (-want +got):\n%s", diff)
	}

	got = outcomes(Apply(ctx, st, []*corev1.Pod{applyPodFixture("busybox:1.36")}, []*batchv1.Job{applyJobFixture("false")}, opts))
	want = []outcome{{Object: "pod/web", Immutable: true}, {Object: "job/batch", Immutable: true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("apply of changed specs (-want +got):\n%s", diff)
	}
	if pod2, _ := st.GetPod(ctx, "default", "web"); pod2.Spec.Containers[0].Image != "busybox" {
		t.Errorf("refused apply changed the stored pod's image to %q", pod2.Spec.Containers[0].Image)
	}
}

func TestImmutableErrorMessages(t *testing.T) {
	for _, tc := range []struct {
		err  *ImmutableError
		want string
	}{
		{&ImmutableError{Kind: KindPod, Name: "web"}, "The Pod \"web\" is invalid: spec: Forbidden: pod updates may not change fields other than " +
			"`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations)," +
			"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"},
		{&ImmutableError{Kind: KindJob, Name: "batch"}, `The Job "batch" is invalid: spec.template: Invalid value: the pod template: field is immutable`},
	} {
		if diff := cmp.Diff(tc.want, tc.err.Error()); diff != "" {
			t.Errorf("%s message (-want +got):\n%s", tc.err.Kind, diff)
		}
	}
}

func TestSuperviseSpecRoundTrip(t *testing.T) {
	root := t.TempDir()
	got, err := readSpec(root, KindJob, "ns", "x")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&superviseSpec{Settings: lifecycle.DefaultSettings()}, got); diff != "" {
		t.Errorf("spec of an object apply did not write (-want +got):\n%s", diff)
	}
	want := &superviseSpec{Runtime: "runc", Settings: lifecycle.DefaultSettings(),
		Secrets: map[string]*corev1.Secret{"s": {ObjectMeta: metav1.ObjectMeta{Name: "s"}, Data: map[string][]byte{"p": []byte("pw")}}}}
	want.Settings.MaxContainerRestartPeriod = 7e9
	if err := writeSpec(root, KindJob, "ns", "x", want); err != nil {
		t.Fatal(err)
	}
	if got, err = readSpec(root, KindJob, "ns", "x"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spec round trip (-want +got):\n%s", diff)
	}
	removeSuperviseFiles(root, KindJob, "ns", "x")
	if got, err = readSpec(root, KindJob, "ns", "x"); err != nil || got.Runtime != "" {
		t.Errorf("spec after removal: %+v, %v; want the defaults", got, err)
	}
}
