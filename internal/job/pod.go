package job

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Labels the Job controller and the API server put on a Job's pods.
const (
	LabelControllerUID       = "batch.kubernetes.io/controller-uid"
	LabelJobName             = "batch.kubernetes.io/job-name"
	LabelLegacyControllerUID = "controller-uid"
	LabelLegacyJobName       = "job-name"
	// TrackingFinalizer is the finalizer the controller puts on its pods.
	TrackingFinalizer = "batch.kubernetes.io/job-tracking"
)

// NewPod returns the pod the Job controller creates for job: the template
// with generateName "<job>-", the template's labels, an owner reference to
// the Job and the tracking finalizer. name and uid are chosen by the caller
// (a random five-letter suffix, as the API server's generateName does).
func NewPod(job *batchv1.Job, name string, uid types.UID, now metav1.Time) *corev1.Pod {
	tmpl := job.Spec.Template.DeepCopy()
	labels := map[string]string{}
	for k, v := range tmpl.Labels {
		labels[k] = v
	}
	isController := true
	pod := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name:              name,
			GenerateName:      job.Name + "-",
			Namespace:         job.Namespace,
			UID:               uid,
			Labels:            labels,
			Annotations:       tmpl.Annotations,
			CreationTimestamp: now,
			Finalizers:        []string{TrackingFinalizer},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion:         "batch/v1",
				Kind:               "Job",
				Name:               job.Name,
				UID:                job.UID,
				Controller:         &isController,
				BlockOwnerDeletion: &isController,
			}},
		},
		Spec: tmpl.Spec,
	}
	return pod
}

// IsOwnedBy reports whether pod was created for job.
func IsOwnedBy(pod *corev1.Pod, job *batchv1.Job) bool {
	for _, ref := range pod.OwnerReferences {
		if ref.UID == job.UID && ref.Kind == "Job" {
			return true
		}
	}
	return false
}
