package podworker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	goruntime "runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/manifest"
	"github.com/podrun/podrun/internal/podworker"
	"github.com/podrun/podrun/internal/podworker/podworkertest"
	"github.com/podrun/podrun/internal/runtime"
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

// runWorld runs a worker in a synctest bubble on the fake runtime.
type runWorld struct {
	rt    *fake.Runtime
	store *podworkertest.MemoryStore
	w     *podworker.Worker
	errc  chan error
}

func startRun(t *testing.T, ctx context.Context, pod *corev1.Pod) *runWorld {
	t.Helper()
	manifest.DefaultPod(pod)
	pod.UID = types.UID("uid-" + pod.Name)
	clk := clock.RealClock{}
	r := &runWorld{rt: fake.New(clk, nil), store: podworkertest.NewMemoryStore(), errc: make(chan error, 1)}
	r.w = podworker.New(podworker.Config{
		Pod: pod, Runtime: r.rt, Images: podworkertest.NewImages("busybox"), Store: r.store, Clock: clk,
		Settings: lifecycle.DefaultSettings(), LogDir: t.TempDir(),
	})
	go func() { r.errc <- r.w.Run(ctx) }()
	return r
}

func sidecarPod(name string) *corev1.Pod {
	always := corev1.ContainerRestartPolicyAlways
	side := shC("sidecar", "trap 'sleep 1; exit 0' TERM; sleep 3600 & wait")
	side.RestartPolicy = &always
	grace := int64(10)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyAlways, TerminationGracePeriodSeconds: &grace,
			InitContainers: []corev1.Container{side},
			Containers:     []corev1.Container{shC("main", "sleep 3600")}},
	}
}

// TestDeleteTerminatesInOrder: Delete kills the pod — main (ignoring
// SIGTERM) is SIGKILLed at the grace end, then the sidecar gets SIGTERM —
// and Run returns nil with nothing left in the runtime.
func TestDeleteTerminatesInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRun(t, context.Background(), sidecarPod("del"))
		<-time.After(5 * time.Second) // virtual time: the bubble's clock
		grace := int64(4)
		deletedAt := time.Now()
		r.w.Delete(&grace)
		<-r.w.Done()
		if err := <-r.errc; err != nil {
			t.Fatalf("Run after Delete: %v, want nil", err)
		}
		if ids := r.rt.SandboxIDs(false); len(ids) != 0 {
			t.Errorf("sandboxes left after deletion: %v", ids)
		}
		rec := r.w.Record()
		main, side := rec.Containers[1].Attempts[0], rec.Containers[0].Attempts[0]
		if main.ExitCode == nil || *main.ExitCode != 137 || main.FinishedAt.Sub(deletedAt) != 4*time.Second {
			t.Errorf("main: exit %v at +%s after delete, want 137 at +4s (grace 4, SIGTERM ignored)", main.ExitCode, main.FinishedAt.Sub(deletedAt))
		}
		if side.ExitCode == nil || *side.ExitCode != 0 || !side.FinishedAt.After(*main.FinishedAt) {
			t.Errorf("sidecar: exit %v at %s, want 0 after main's exit %s", side.ExitCode, side.FinishedAt, main.FinishedAt)
		}
		if rec.DeletedAt == nil || !rec.DeletedAt.Equal(deletedAt) || rec.FinishedAt == nil {
			t.Errorf("record deletedAt %v finishedAt %v, want %s and set", rec.DeletedAt, rec.FinishedAt, deletedAt)
		}
		var killing []string
		for _, e := range r.store.Events() {
			if e.Reason == podworker.EventKilling {
				killing = append(killing, e.Message)
			}
		}
		if diff := cmp.Diff([]string{"Stopping container main", "Stopping container sidecar"}, killing); diff != "" {
			t.Errorf("Killing events (-want +got):\n%s", diff)
		}
	})
}

// TestCancelStopsSupervisingOnly: cancelling Run's context leaves the
// containers running for a later worker.
func TestCancelStopsSupervisingOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		r := startRun(t, ctx, sidecarPod("keep"))
		<-time.After(5 * time.Second) // virtual time
		cancel()
		<-r.w.Done()
		if err := <-r.errc; !errors.Is(err, context.Canceled) {
			t.Errorf("Run after cancel: %v, want context.Canceled", err)
		}
		ids := r.rt.SandboxIDs(false)
		if len(ids) != 1 {
			t.Fatalf("sandboxes %v, want the pod's still there", ids)
		}
		list, err := r.rt.ListContainers(context.Background(), ids[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range list {
			if c.State != runtime.StateRunning {
				t.Errorf("container %s is %s after the supervisor stopped, want Running", c.Name, c.State)
			}
		}
		for _, c := range r.rt.Calls() {
			if c.Method == "SignalContainer" || c.Method == "RemovePodSandbox" {
				t.Errorf("stopping supervision called %s", c)
			}
		}
	})
}

// TestPostStartFailure: a failing exec postStart emits FailedPostStartHook
// with the kubelet's message and kills the container with the message
// FailedPostStartHook.
func TestPostStartFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		main := shC("main", "trap 'exit 0' TERM; sleep 3600 & wait")
		main.Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "echo oops; exit 3"}}}}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "hook", Namespace: "default"},
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{main}}}
		r := startRun(t, context.Background(), pod)
		select {
		case <-r.w.Done():
		case <-time.After(time.Hour):
			t.Fatalf("pod with a failed postStart not finished after an hour: %+v", r.w.Status())
		}
		var got []string
		for _, e := range r.store.Events() {
			if e.Type == corev1.EventTypeWarning || e.Reason == podworker.EventKilling {
				got = append(got, e.Reason+": "+e.Message)
			}
		}
		want := []string{
			`FailedPostStartHook: Exec lifecycle hook ([sh -c echo oops; exit 3]) for Container "main" in Pod "hook_default(uid-hook)" failed - error: command 'sh -c echo oops; exit 3' exited with 3: oops` + "\n" + `, message: "oops\n"`,
			"Killing: FailedPostStartHook",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		if a := r.w.Record().Containers[0].Attempts; len(a) != 1 || a[0].KilledFor != "PostStartHook" {
			t.Errorf("attempts %+v, want one, killed for PostStartHook", a)
		}
	})
}

// TestRunOnFakeClock drives Run with clocktesting's fake clock instead of
// a synctest bubble: the exit is seen only once the test steps the clock.
func TestRunOnFakeClock(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC))
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "fc", Namespace: "default", UID: "uid-fc"},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{shC("main", "sleep 5; exit 0")}}}
	manifest.DefaultPod(pod)
	w := podworker.New(podworker.Config{
		Pod: pod, Runtime: fake.New(clk, nil), Images: podworkertest.NewImages("busybox"),
		Store: podworkertest.NewMemoryStore(), Clock: clk, Settings: lifecycle.DefaultSettings(),
	})
	errc := make(chan error, 1)
	go func() { errc <- w.Run(context.Background()) }()
	// Wait (in real time, bounded) until the worker waits on the clock for
	// the container's exit.
	deadline := time.Now().Add(10 * time.Second)
	for !clk.HasWaiters() {
		if time.Now().After(deadline) {
			t.Fatal("the worker never waited on the clock")
		}
		runtimeGosched()
	}
	select {
	case <-w.Done():
		t.Fatalf("the pod finished before the clock moved: %+v", w.Status())
	default:
	}
	clk.Step(5 * time.Second)
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the pod did not finish after the clock passed the exit: %+v", w.Status())
	}
	if got := w.Status().Phase; got != corev1.PodSucceeded {
		t.Errorf("phase %s, want Succeeded", got)
	}
}

// runtimeGosched yields to the worker's goroutines while the test polls
// the fake clock for waiters.
func runtimeGosched() { goruntime.Gosched() }

// TestSecondDeleteShortensGrace: a second deletion with a shorter grace
// (kubectl delete again, a second Ctrl-C) cuts the kills under way: main,
// signalled with a 30 s window and ignoring SIGTERM, is SIGKILLed at
// once instead of 30 s later.
func TestSecondDeleteShortensGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRun(t, context.Background(), sidecarPod("again"))
		<-time.After(5 * time.Second)
		grace := int64(30)
		r.w.Delete(&grace)
		<-time.After(3 * time.Second)
		zero := int64(0)
		secondAt := time.Now()
		r.w.Delete(&zero)
		<-r.w.Done()
		if err := <-r.errc; err != nil {
			t.Fatalf("Run after Delete: %v, want nil", err)
		}
		main := r.w.Record().Containers[1].Attempts[0]
		if main.ExitCode == nil || *main.ExitCode != 137 || main.FinishedAt.Sub(secondAt) != 0 {
			t.Errorf("main: exit %s at +%s after the second delete, want 137 at once", exitString(main.ExitCode), main.FinishedAt.Sub(secondAt))
		}
	})
}

func exitString(code *int32) string {
	if code == nil {
		return "none"
	}
	return fmt.Sprint(*code)
}
