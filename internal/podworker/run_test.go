package podworker_test

import (
	"context"
	"encoding/json"
	"testing"
	"testing/synctest"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"

	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/podworker"
	"github.com/podrun/podrun/internal/podworker/podworkertest"
	"github.com/podrun/podrun/internal/runtime/fake"
)

func shC(name, script string) corev1.Container {
	return corev1.Container{Name: name, Image: "busybox", ImagePullPolicy: corev1.PullIfNotPresent, Command: []string{"sh", "-c", script}}
}

func TestRunSidecarPod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		always := corev1.ContainerRestartPolicyAlways
		grace := int64(30)
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: "uid-p"}}
		pod.Spec.RestartPolicy = corev1.RestartPolicyNever
		pod.Spec.TerminationGracePeriodSeconds = &grace
		side := shC("sidecar", "trap 'exit 0' TERM; sleep 600 & wait")
		side.RestartPolicy = &always
		pod.Spec.InitContainers = []corev1.Container{shC("init", "sleep 1; exit 0"), side}
		pod.Spec.Containers = []corev1.Container{shC("main", "sleep 2; exit 0")}
		store := podworkertest.NewMemoryStore()
		w := podworker.New(podworker.Config{
			Pod: pod, Runtime: fake.New(clock.RealClock{}, nil), Images: podworkertest.NewImages("busybox"),
			Store: store, Clock: clock.RealClock{}, Settings: lifecycle.DefaultSettings(), LogDir: t.TempDir(),
		})
		errc := make(chan error, 1)
		go func() { errc <- w.Run(context.Background()) }()
		select {
		case err := <-errc:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(time.Hour):
			t.Fatalf("pod did not finish in an hour of virtual time; status %+v", w.Status())
		}
		rec := w.Record()
		if len(rec.Containers) != 3 || len(rec.Containers[1].Attempts) != 1 || rec.Containers[1].Attempts[0].KilledFor != "PodTermination" {
			t.Errorf("record containers = %+v, want init, sidecar (killed for PodTermination), main", rec.Containers)
		}
		if b, err := json.Marshal(store.Record()); err != nil || store.Record() == nil {
			t.Errorf("stored record missing or not JSON: %v %s", err, b)
		}
		if got := w.Status().Phase; got != corev1.PodSucceeded {
			t.Errorf("phase %s, want Succeeded", got)
		}
	})
}
