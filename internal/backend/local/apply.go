package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"

	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/manifest"
	"github.com/podrun/podrun/internal/store"
)

// ApplyOptions configure Apply.
type ApplyOptions struct {
	// Runtime and Settings are what the supervisors run the objects with.
	Runtime  string
	Settings lifecycle.Settings
	// NodeName is written into each pod's spec.nodeName; empty means the
	// host name.
	NodeName string
	// ConfigMaps and Secrets are the objects of the apply set, by name.
	ConfigMaps map[string]*corev1.ConfigMap
	Secrets    map[string]*corev1.Secret
	// Launch starts the supervisors. Required.
	Launch Starter
	// Now is the creation time of new objects.
	Now time.Time
}

// Applied is what Apply did with one object.
type Applied struct {
	Kind      Kind
	Namespace string
	Name      string
	// Action is "created" or "unchanged" when Err is nil.
	Action string
	Err    error
}

// ErrImmutable is wrapped by the error of an object that exists with a
// different spec: podrun, like the API server for pods, does not update
// a spec in place.
var ErrImmutable = errors.New("field is immutable")

// Apply stores each pod and Job (defaulted and validated by the caller)
// and starts one detached supervisor for each, returning as soon as every
// supervisor holds its lock. An object that already exists with the same
// spec is "unchanged" (and its supervisor is restarted if it died:
// EnsureSupervised, EnsureJobSupervised); one
// with a different spec is an error wrapping ErrImmutable. Results are in
// the order of the arguments, pods first.
func Apply(ctx context.Context, st *store.Store, pods []*corev1.Pod, jobs []*batchv1.Job, opts ApplyOptions) []Applied {
	if opts.NodeName == "" {
		opts.NodeName, _ = os.Hostname()
	}
	spec := &superviseSpec{Runtime: opts.Runtime, Settings: opts.Settings, ConfigMaps: opts.ConfigMaps, Secrets: opts.Secrets}
	var out []Applied
	for _, p := range pods {
		a := Applied{Kind: KindPod, Namespace: p.Namespace, Name: p.Name}
		a.Action, a.Err = applyPod(ctx, st, p.DeepCopy(), spec, opts)
		out = append(out, a)
	}
	for _, j := range jobs {
		a := Applied{Kind: KindJob, Namespace: j.Namespace, Name: j.Name}
		a.Action, a.Err = applyJob(ctx, st, j.DeepCopy(), spec, opts)
		out = append(out, a)
	}
	return out
}

func applyPod(ctx context.Context, st *store.Store, pod *corev1.Pod, spec *superviseSpec, opts ApplyOptions) (string, error) {
	ns, name := pod.Namespace, pod.Name
	if err := manifest.Stamp(pod, uuid.NewUUID(), metav1.NewTime(opts.Now)); err != nil {
		return "", err
	}
	pod.Spec.NodeName = opts.NodeName
	_, err := st.GetPod(ctx, ns, name)
	if errors.Is(err, store.ErrNotFound) {
		// The spec goes first: a supervisor may start as soon as the pod
		// exists.
		if err := writeSpec(st.Root(), KindPod, ns, name, spec); err != nil {
			return "", err
		}
		_, err = st.CreatePod(ctx, pod)
	} else if err == nil {
		err = store.ErrAlreadyExists
	}
	if errors.Is(err, store.ErrAlreadyExists) {
		cur, gerr := st.GetPod(ctx, ns, name)
		if gerr != nil {
			return "", fmt.Errorf("apply pod %s/%s: %w", ns, name, gerr)
		}
		want := pod.Spec.DeepCopy()
		want.NodeName = cur.Spec.NodeName
		if !apiequality.Semantic.DeepEqual(*want, cur.Spec) {
			return "", &ImmutableError{Kind: KindPod, Name: name}
		}
		if _, err := EnsureSupervised(ctx, st, opts.Launch, ns, name); err != nil {
			return "", fmt.Errorf("apply pod %s/%s: %w", ns, name, err)
		}
		return "unchanged", nil
	}
	if err != nil {
		return "", fmt.Errorf("apply pod %s/%s: %w", ns, name, err)
	}
	if err := opts.Launch.Start(ctx, KindPod, ns, name); err != nil {
		return "", err
	}
	return "created", nil
}

func applyJob(ctx context.Context, st *store.Store, j *batchv1.Job, spec *superviseSpec, opts ApplyOptions) (string, error) {
	ns, name := j.Namespace, j.Name
	cur, err := st.GetJob(ctx, ns, name)
	switch {
	case err == nil:
		// Stamp a copy with the stored UID: the selector and template
		// labels derive from it.
		want := j.DeepCopy()
		if err := manifest.Stamp(want, cur.UID, cur.CreationTimestamp); err != nil {
			return "", err
		}
		if !apiequality.Semantic.DeepEqual(want.Spec, cur.Spec) {
			return "", &ImmutableError{Kind: KindJob, Name: name}
		}
		if _, err := EnsureJobSupervised(ctx, st, opts.Launch, ns, name); err != nil {
			return "", fmt.Errorf("apply job %s/%s: %w", ns, name, err)
		}
		return "unchanged", nil
	case !errors.Is(err, store.ErrNotFound):
		return "", fmt.Errorf("apply job %s/%s: %w", ns, name, err)
	}
	if err := manifest.Stamp(j, uuid.NewUUID(), metav1.NewTime(opts.Now)); err != nil {
		return "", err
	}
	if err := writeSpec(st.Root(), KindJob, ns, name, spec); err != nil {
		return "", err
	}
	if _, err := st.CreateJob(ctx, j); err != nil {
		return "", fmt.Errorf("apply job %s/%s: %w", ns, name, err)
	}
	if err := opts.Launch.Start(ctx, KindJob, ns, name); err != nil {
		return "", err
	}
	return "created", nil
}

// ImmutableError is the API server's answer to an apply that changes the
// spec of an existing pod or Job.
type ImmutableError struct {
	Kind Kind
	Name string
}

func (e *ImmutableError) Error() string {
	if e.Kind == KindJob {
		return fmt.Sprintf("The Job %q is invalid: spec.template: Invalid value: the pod template: %v", e.Name, ErrImmutable)
	}
	return fmt.Sprintf("The Pod %q is invalid: spec: Forbidden: pod updates may not change fields other than "+
		"`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"+
		"`spec.tolerations` (only additions to existing tolerations),"+
		"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)", e.Name)
}

// Unwrap makes errors.Is(err, ErrImmutable) true.
func (e *ImmutableError) Unwrap() error { return ErrImmutable }
