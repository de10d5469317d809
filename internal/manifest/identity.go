package manifest

import (
	"fmt"
	"hash/fnv"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/kubectl/pkg/util/qos"
	"k8s.io/utils/ptr"
)

// The unprefixed Job labels the API server still adds next to
// batchv1.JobNameLabel and batchv1.ControllerUidLabel.
const (
	LegacyJobNameLabel       = "job-name"
	LegacyControllerUIDLabel = "controller-uid"
	// JobCompletionIndexEnv is the variable an Indexed Job's containers
	// read their index from.
	JobCompletionIndexEnv = "JOB_COMPLETION_INDEX"
)

// Stamp gives a validated object what the API server assigns when it
// creates it: uid, creationTimestamp, generation 1 for Pods and Jobs, a
// name from metadata.generateName when the name is empty (GenerateName),
// a fresh status (a Pod: phase Pending and its QoS class),
// and for a Job without manualSelector the selector and the four
// controller labels on its template (and on the Job when it has none),
// as the Job registry strategy does. The caller picks uid and created.
func Stamp(obj runtime.Object, uid types.UID, created metav1.Time) error {
	m, ok := obj.(metav1.Object)
	if !ok {
		return fmt.Errorf("stamp %T: not an object with metadata", obj)
	}
	m.SetUID(uid)
	m.SetCreationTimestamp(created)
	if m.GetName() == "" && m.GetGenerateName() != "" {
		m.SetName(GenerateName(m.GetGenerateName(), uid))
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		o.Generation = 1
		// The API server ignores a status sent on create.
		o.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: qos.ComputePodQOS(o)}
	case *batchv1.Job:
		o.Status = batchv1.JobStatus{}
		o.Generation = 1
		if !manualSelector(o) {
			generateSelector(o)
		}
		if len(o.Labels) == 0 && len(o.Spec.Template.Labels) > 0 {
			o.Labels = copyMap(o.Spec.Template.Labels)
		}
	}
	return nil
}

// nameAlphabet is the API server's alphabet for generated name suffixes
// (no vowels, no look-alike digits).
const nameAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// GenerateName appends to base a five-character suffix in the API
// server's alphabet, derived from uid so that the same uid always gives
// the same name.
func GenerateName(base string, uid types.UID) string {
	h := fnv.New64a()
	h.Write([]byte(uid))
	v := h.Sum64()
	suffix := make([]byte, 5)
	for i := range suffix {
		suffix[i] = nameAlphabet[v%uint64(len(nameAlphabet))]
		v /= uint64(len(nameAlphabet))
	}
	const maxNameLength, randomLength = 63, 5
	if len(base) > maxNameLength-randomLength {
		base = base[:maxNameLength-randomLength]
	}
	return base + string(suffix)
}

// generateSelector adds the controller labels to the template and selects
// on batch.kubernetes.io/controller-uid, keeping any the user set (a
// wrong one is then rejected by validation).
func generateSelector(job *batchv1.Job) {
	t := &job.Spec.Template
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	for k, v := range map[string]string{
		LegacyJobNameLabel:         job.Name,
		batchv1.JobNameLabel:       job.Name,
		LegacyControllerUIDLabel:   string(job.UID),
		batchv1.ControllerUidLabel: string(job.UID),
	} {
		if _, ok := t.Labels[k]; !ok {
			t.Labels[k] = v
		}
	}
	if job.Spec.Selector == nil {
		job.Spec.Selector = &metav1.LabelSelector{}
	}
	if job.Spec.Selector.MatchLabels == nil {
		job.Spec.Selector.MatchLabels = map[string]string{}
	}
	if _, ok := job.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel]; !ok {
		job.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel] = string(job.UID)
	}
}

// PodFromJobTemplate returns the pod the Job controller creates from a
// stamped Job: generateName "<job>-" ("<job>-<index>-" for an Indexed
// Job), the template's labels and annotations, the job-tracking
// finalizer, a controller ownerReference to the Job, and the template
// spec, defaulted as a created Pod. For an Indexed Job, index becomes the
// completion-index annotation and label, the hostname "<job>-<index>",
// and JOB_COMPLETION_INDEX in every container; for NonIndexed it is
// ignored. The caller Stamps the pod.
func PodFromJobTemplate(job *batchv1.Job, index int) *corev1.Pod {
	t := job.Spec.Template.DeepCopy()
	pod := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: job.Name + "-",
			Namespace:    job.Namespace,
			Labels:       copyMap(t.Labels),
			Annotations:  copyMap(t.Annotations),
			Finalizers:   []string{batchv1.JobTrackingFinalizer},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion:         "batch/v1",
				Kind:               "Job",
				Name:               job.Name,
				UID:                job.UID,
				Controller:         ptr.To(true),
				BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: t.Spec,
	}
	if job.Spec.CompletionMode != nil && *job.Spec.CompletionMode == batchv1.IndexedCompletion {
		idx := strconv.Itoa(index)
		pod.GenerateName = fmt.Sprintf("%s-%d-", job.Name, index)
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		pod.Annotations[batchv1.JobCompletionIndexAnnotation] = idx
		if pod.Labels == nil {
			pod.Labels = map[string]string{}
		}
		pod.Labels[batchv1.JobCompletionIndexAnnotation] = idx
		pod.Spec.Hostname = fmt.Sprintf("%s-%d", job.Name, index)
		env := corev1.EnvVar{Name: JobCompletionIndexEnv, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
			APIVersion: "v1",
			FieldPath:  fmt.Sprintf("metadata.annotations['%s']", batchv1.JobCompletionIndexAnnotation),
		}}}
		for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
			for i := range cs {
				cs[i].Env = append(cs[i].Env, env)
			}
		}
	}
	DefaultPod(pod)
	return pod
}
