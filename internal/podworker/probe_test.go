package podworker_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/manifest"
	"github.com/podrun/podrun/internal/podworker"
	"github.com/podrun/podrun/internal/podworker/podworkertest"
	"github.com/podrun/podrun/internal/runtime/fake"
)

// TestProberSeam drives the planner's probe decisions through the Prober
// seam with a settable prober: readiness feeds Ready, a liveness failure
// kills and restarts the container with the kubelet's Killing message.
func TestProberSeam(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		main := shC("main", "trap 'exit 0' TERM; sleep 3600 & wait")
		exec := corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}
		main.ReadinessProbe = &corev1.Probe{ProbeHandler: exec}
		main.LivenessProbe = &corev1.Probe{ProbeHandler: exec}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "probed", Namespace: "default"},
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyAlways, Containers: []corev1.Container{main}}}
		manifest.DefaultPod(pod)
		pod.UID = types.UID("uid-probed")
		clk := clock.RealClock{}
		prober := podworkertest.NewProber()
		store := podworkertest.NewMemoryStore()
		w := podworker.New(podworker.Config{
			Pod: pod, Runtime: fake.New(clk, nil), Images: podworkertest.NewImages("busybox"),
			Prober: prober, Store: store, Clock: clk, Settings: lifecycle.DefaultSettings(),
		})
		ctx, cancel := context.WithCancel(context.Background())
		defer func() {
			cancel()
			<-w.Done()
		}()
		go w.Run(ctx)
		synctest.Wait()

		ready := func() bool {
			st := w.Status()
			return len(st.ContainerStatuses) == 1 && st.ContainerStatuses[0].Ready
		}
		if ready() {
			t.Fatalf("ready before any readiness result")
		}
		first := prober.Tracked("main")
		if first == "" {
			t.Fatalf("the worker did not ask the prober to probe main")
		}
		prober.Fail("main", podworker.ProbeReadiness, "not yet")
		prober.Fail("main", podworker.ProbeReadiness, "not yet")
		prober.Set("main", podworker.ProbeReadiness, lifecycle.ProbeSuccess)
		synctest.Wait()
		if !ready() {
			t.Fatalf("not ready after readiness success: %+v", w.Status().ContainerStatuses)
		}
		prober.Set("main", podworker.ProbeLiveness, lifecycle.ProbeFailure)
		synctest.Wait()
		rec := w.Record()
		attempts := rec.Containers[0].Attempts
		if len(attempts) != 2 || attempts[0].KilledFor != string(lifecycle.KillLivenessProbe) {
			t.Fatalf("attempts %+v, want the first killed for LivenessProbe and a second one", attempts)
		}
		if second := prober.Tracked("main"); second == first || second != attempts[1].ContainerID {
			t.Errorf("prober tracks %q, want the new instance %q", second, attempts[1].ContainerID)
		}
		if ready() {
			t.Errorf("the new instance is ready without a readiness result")
		}
		found := false
		for _, e := range store.Events() {
			if e.Reason == podworker.EventKilling && e.Message == "Container main failed liveness probe, will be restarted" {
				found = true
			}
		}
		if !found {
			t.Errorf("no Killing event with the liveness message; events %v", store.Events())
		}
		var unhealthy []string
		for _, e := range store.Events() {
			if e.Reason == podworker.EventUnhealthy {
				unhealthy = append(unhealthy, fmt.Sprintf("%s %s: %s (x%d)", e.Type, e.InvolvedObject.FieldPath, e.Message, e.Count))
			}
		}
		if diff := cmp.Diff([]string{"Warning spec.containers{main}: Readiness probe failed: not yet (x2)"}, unhealthy); diff != "" {
			t.Errorf("Unhealthy events (-want +got):\n%s", diff)
		}
		if tr := attempts[0].ReadyTransitions; len(tr) == 0 || !tr[0].Ready {
			t.Errorf("first attempt ready transitions %+v, want it to have become ready", tr)
		}
	})
}
