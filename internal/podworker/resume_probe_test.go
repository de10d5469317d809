package podworker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

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

// TestResumeRestartsCrashedContainersBehindAStartedSidecar is the
// regression fixed upstream by kubernetes/kubernetes#137146: after a
// restart of the kubelet, a sidecar with a startupProbe whose startup
// result was not re-seeded kept the pod "not initialised", so crashed
// regular containers were never restarted (RestartCount stuck at 0).
//
// Here the sidecar passed its startup and readiness probes under the
// first worker, which then dies; a second worker, with a fresh prober
// that has no result at all yet, continues. main then crashes: it must
// be restarted at once (RestartCount 1) and after 10 s of back-off
// again (RestartCount 2), while the sidecar stays started and ready and
// the pod's Initialized condition never leaves True, nor Ready before
// main crashes.
func TestResumeRestartsCrashedContainersBehindAStartedSidecar(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		always := corev1.ContainerRestartPolicyAlways
		exec := corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}
		side := shC("sidecar", "trap 'exit 0' TERM; sleep 3600 & wait")
		side.RestartPolicy = &always
		side.StartupProbe = &corev1.Probe{ProbeHandler: exec}
		side.ReadinessProbe = &corev1.Probe{ProbeHandler: exec}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "regress", Namespace: "default"},
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyAlways,
				InitContainers: []corev1.Container{side},
				Containers:     []corev1.Container{shC("main", "sleep 10; exit 1")}}}
		manifest.DefaultPod(pod)
		pod.UID = types.UID("uid-regress")
		clk := clock.RealClock{} // virtual inside the bubble
		rt := fake.New(clk, nil)
		store := podworkertest.NewMemoryStore()
		start := time.Now()
		run := func(prober *podworkertest.Prober, resume *podworker.Checkpoint) (*podworker.Worker, context.CancelFunc) {
			w := podworker.New(podworker.Config{
				Pod: pod, Runtime: rt, Images: podworkertest.NewImages("busybox"), Prober: prober, Store: store,
				Clock: clk, Settings: lifecycle.DefaultSettings(), LogDir: t.TempDir(), Resume: resume,
			})
			ctx, cancel := context.WithCancel(context.Background())
			go w.Run(ctx)
			return w, cancel
		}

		first := podworkertest.NewProber()
		w, cancel := run(first, nil)
		synctest.Wait()
		first.Set("sidecar", podworker.ProbeStartup, lifecycle.ProbeSuccess)
		first.Set("sidecar", podworker.ProbeReadiness, lifecycle.ProbeSuccess)
		synctest.Wait()
		<-time.After(3 * time.Second) // virtual time
		before := w.Status()
		if got := columnsOf(before); got != "sidecar started ready 0, main started ready 0" {
			t.Fatalf("before the worker dies: %s, want both started and ready", got)
		}
		cancel()
		<-w.Done()

		statusesBefore := len(store.Statuses())
		second := podworkertest.NewProber() // knows nothing
		w, cancel = run(second, store.Checkpoint())
		defer func() {
			cancel()
			<-w.Done()
		}()
		synctest.Wait()
		if got := columnsOf(w.Status()); got != "sidecar started ready 0, main started ready 0" {
			t.Errorf("right after the resume: %s, want nothing changed", got)
		}
		for _, cond := range []corev1.PodConditionType{corev1.PodInitialized, corev1.PodReady} {
			if b, a := condition(before, cond), condition(w.Status(), cond); !cmp.Equal(b, a) {
				t.Errorf("%s condition changed on resume: %+v -> %+v", cond, b, a)
			}
		}

		// main exits 1 at +10s: restarted at once; at +20s again, then
		// held by the back-off until +30s.
		<-time.After(start.Add(10*time.Second + time.Millisecond).Sub(time.Now())) // virtual time
		synctest.Wait()
		if got := restarts(w.Status(), "main"); got != 1 {
			t.Fatalf("at +10s: main RestartCount %d, want 1 (the started sidecar keeps the pod initialised)", got)
		}
		<-time.After(start.Add(29 * time.Second).Sub(time.Now())) // virtual time
		synctest.Wait()
		if got := restarts(w.Status(), "main"); got != 1 {
			t.Errorf("at +29s: main RestartCount %d, want 1 (back-off until +30s)", got)
		}
		<-time.After(start.Add(30*time.Second + time.Millisecond).Sub(time.Now())) // virtual time
		synctest.Wait()
		if got := restarts(w.Status(), "main"); got != 2 {
			t.Errorf("at +30s: main RestartCount %d, want 2", got)
		}
		a := w.Record().Containers[1].Attempts
		if len(a) != 3 || a[1].StartedAt.Sub(start) != 10*time.Second || a[2].StartedAt.Sub(start) != 30*time.Second {
			t.Errorf("main attempts %+v, want restarts at +10s and +30s", a)
		}
		if got := second.Tracked("sidecar"); got != w.Record().Containers[0].Attempts[0].ContainerID {
			t.Errorf("the new prober probes %q, want the sidecar's running instance", got)
		}
		for i, st := range store.Statuses()[statusesBefore:] {
			if c := condition(st, corev1.PodInitialized); c == nil || c.Status != corev1.ConditionTrue {
				t.Errorf("status %d after the resume: Initialized %+v, want True throughout", i, c)
			}
			if side := containerStatus(st.InitContainerStatuses, "sidecar"); side == nil || !side.Ready || side.Started == nil || !*side.Started {
				t.Errorf("status %d after the resume: sidecar %+v, want started and ready throughout", i, side)
			}
		}
	})
}

// columnsOf summarises the started/ready flags and restart counts.
func columnsOf(st corev1.PodStatus) string {
	var parts []string
	for _, cs := range append(append([]corev1.ContainerStatus{}, st.InitContainerStatuses...), st.ContainerStatuses...) {
		started, ready := "not-started", "not-ready"
		if cs.Started != nil && *cs.Started {
			started = "started"
		}
		if cs.Ready {
			ready = "ready"
		}
		parts = append(parts, fmt.Sprintf("%s %s %s %d", cs.Name, started, ready, cs.RestartCount))
	}
	return strings.Join(parts, ", ")
}

func condition(st corev1.PodStatus, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

func containerStatus(list []corev1.ContainerStatus, name string) *corev1.ContainerStatus {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

func restarts(st corev1.PodStatus, name string) int32 {
	if cs := containerStatus(st.ContainerStatuses, name); cs != nil {
		return cs.RestartCount
	}
	return -1
}
