package manifest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func TestGenerateName(t *testing.T) {
	a := GenerateName("job-", "uid-1")
	if a != GenerateName("job-", "uid-1") {
		t.Errorf("GenerateName is not deterministic")
	}
	if a == GenerateName("job-", "uid-2") {
		t.Errorf("different uids gave the same name %q", a)
	}
	suffix := strings.TrimPrefix(a, "job-")
	if len(suffix) != 5 || strings.Trim(suffix, nameAlphabet) != "" {
		t.Errorf("suffix %q is not five characters of %q", suffix, nameAlphabet)
	}
	long := GenerateName(strings.Repeat("x", 70), "u")
	if len(long) != 63 {
		t.Errorf("len(GenerateName(70 chars)) = %d, want 63", len(long))
	}
}

func TestStamp(t *testing.T) {
	created := metav1.Unix(1700000000, 0)
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "p-"}}
	if err := Stamp(p, "u1", created); err != nil {
		t.Fatal(err)
	}
	if p.UID != "u1" || !p.CreationTimestamp.Equal(&created) || p.Generation != 1 || p.Name != GenerateName("p-", "u1") {
		t.Errorf("stamped pod metadata = %+v", p.ObjectMeta)
	}
	if p.Status.Phase != corev1.PodPending || p.Status.QOSClass != corev1.PodQOSBestEffort {
		t.Errorf("stamped pod status = %+v, want Pending, BestEffort", p.Status)
	}

	j := baseJob()
	DefaultJob(j)
	if err := Stamp(j, "u2", created); err != nil {
		t.Fatal(err)
	}
	wantLabels := map[string]string{
		"batch.kubernetes.io/controller-uid": "u2", "batch.kubernetes.io/job-name": "j",
		"controller-uid": "u2", "job-name": "j",
	}
	if diff := cmp.Diff(wantLabels, j.Spec.Template.Labels); diff != "" {
		t.Errorf("template labels (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantLabels, j.Labels); diff != "" {
		t.Errorf("job labels (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"batch.kubernetes.io/controller-uid": "u2"}, j.Spec.Selector.MatchLabels); diff != "" {
		t.Errorf("selector (-want +got):\n%s", diff)
	}
	if errs := ValidateJob(j, Options{}); len(errs) > 0 {
		t.Errorf("stamped job rejected: %v", errs)
	}
	if err := Stamp(j, "u3", created); err != nil {
		t.Fatal(err)
	}
	if errs := ValidateJob(j, Options{}); len(errs) == 0 {
		t.Errorf("restamping with another uid left stale labels that validation accepted")
	}
}

func TestPodFromJobTemplate(t *testing.T) {
	j := baseJob()
	j.Spec.Template.Annotations = map[string]string{"note": "x"}
	DefaultJob(j)
	if err := Stamp(j, types.UID("u"), metav1.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	p := PodFromJobTemplate(j, 0)
	if p.GenerateName != "j-" || p.Namespace != "default" || p.Labels["job-name"] != "j" || p.Annotations["note"] != "x" {
		t.Errorf("pod metadata = %+v", p.ObjectMeta)
	}
	if diff := cmp.Diff([]string{"batch.kubernetes.io/job-tracking"}, p.Finalizers); diff != "" {
		t.Errorf("finalizers (-want +got):\n%s", diff)
	}
	wantOwner := []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "j", UID: "u", Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}
	if diff := cmp.Diff(wantOwner, p.OwnerReferences); diff != "" {
		t.Errorf("ownerReferences (-want +got):\n%s", diff)
	}
	if p.Spec.ServiceAccountName != "default" || p.Spec.EnableServiceLinks == nil {
		t.Errorf("pod-level defaults missing: %+v", p.Spec)
	}
	p.Labels["mutated"] = "yes"
	if _, leaked := j.Spec.Template.Labels["mutated"]; leaked {
		t.Errorf("the pod shares its labels map with the Job template")
	}

	j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
	j.Spec.Completions = ptr.To(int32(3))
	ip := PodFromJobTemplate(j, 2)
	if ip.GenerateName != "j-2-" || ip.Spec.Hostname != "j-2" ||
		ip.Annotations["batch.kubernetes.io/job-completion-index"] != "2" || ip.Labels["batch.kubernetes.io/job-completion-index"] != "2" {
		t.Errorf("indexed pod = %+v hostname %q", ip.ObjectMeta, ip.Spec.Hostname)
	}
	for _, c := range append(ip.Spec.InitContainers, ip.Spec.Containers...) {
		n := len(c.Env)
		if n == 0 || c.Env[n-1].Name != JobCompletionIndexEnv ||
			c.Env[n-1].ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
			t.Errorf("container %s env = %+v, want %s from the annotation", c.Name, c.Env, JobCompletionIndexEnv)
		}
	}
	if errs := ValidatePod(ip, Options{}); len(errs) > 0 {
		t.Errorf("indexed job pod rejected: %v", errs)
	}
}
