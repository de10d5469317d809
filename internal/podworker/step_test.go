package podworker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podrun/podrun/internal/image"
	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/manifest"
	"github.com/podrun/podrun/internal/podworker"
	"github.com/podrun/podrun/internal/podworker/podworkertest"
	"github.com/podrun/podrun/internal/runtime"
	"github.com/podrun/podrun/internal/runtime/fake"
)

var t0 = time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC)

// stepWorld is a worker driven by step on a fake clock: no goroutines
// except the hooks a test starts.
type stepWorld struct {
	clk    *clocktesting.FakeClock
	rt     *fake.Runtime
	images *podworkertest.Images
	store  *podworkertest.MemoryStore
	w      *podworker.Worker
}

// imagesFunc is a podworker.Images from a function.
type imagesFunc func(ref string) (string, bool, error)

func (f imagesFunc) EnsureImage(ctx context.Context, ref string, policy corev1.PullPolicy, secrets []*corev1.Secret) (string, bool, error) {
	return f(ref)
}

// newStepWorld builds a step-driven worker; images (optional) replaces the
// default podworkertest.Images with busybox:1.37 present.
func newStepWorld(t *testing.T, pod *corev1.Pod, script fake.Script, images ...podworker.Images) *stepWorld {
	t.Helper()
	manifest.DefaultPod(pod)
	if pod.UID == "" {
		pod.UID = types.UID("uid-" + pod.Name)
	}
	clk := clocktesting.NewFakeClock(t0)
	s := &stepWorld{clk: clk, rt: fake.New(clk, script), images: podworkertest.NewImages("busybox:1.37"), store: podworkertest.NewMemoryStore()}
	var im podworker.Images = s.images
	if len(images) > 0 && images[0] != nil {
		im = images[0]
	}
	s.w = podworker.New(podworker.Config{
		Pod: pod, Runtime: s.rt, Images: im, Store: s.store, Clock: clk,
		Settings: lifecycle.DefaultSettings(), NodeName: "node-1", LogDir: t.TempDir(),
	})
	t.Cleanup(s.w.Stop)
	return s
}

// step advances the clock to t0+at and steps once.
func (s *stepWorld) step(t *testing.T, at time.Duration, ev podworker.Event) {
	t.Helper()
	s.clk.SetTime(t0.Add(at))
	if err := s.w.Step(context.Background(), ev); err != nil {
		t.Fatalf("step at +%s (%s): %v", at, ev.Kind, err)
	}
}

// events renders the stored events as "Type Reason [object] message (xN)".
func (s *stepWorld) events() []string {
	var out []string
	for _, e := range s.store.Events() {
		line := fmt.Sprintf("%s %s", e.Type, e.Reason)
		if e.InvolvedObject.FieldPath != "" {
			line += " " + e.InvolvedObject.FieldPath
		}
		line += ": " + e.Message
		if e.Count > 1 {
			line += fmt.Sprintf(" (x%d)", e.Count)
		}
		out = append(out, line)
	}
	return out
}

func busybox(name, script string) corev1.Container {
	return corev1.Container{Name: name, Image: "busybox:1.37", Command: []string{"sh", "-c", script}}
}

func podOf(name string, policy corev1.RestartPolicy, inits []corev1.Container, containers ...corev1.Container) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       corev1.PodSpec{RestartPolicy: policy, InitContainers: inits, Containers: containers},
	}
}

func TestStepRunsInitThenMainWithKubeletEvents(t *testing.T) {
	s := newStepWorld(t, podOf("p", corev1.RestartPolicyNever,
		[]corev1.Container{busybox("init", "sleep 1; exit 0")}, busybox("main", "sleep 2; exit 0")), nil)
	s.step(t, 0, podworker.Event{Kind: podworker.EventStart})
	s.step(t, time.Second, podworker.Event{Kind: podworker.EventExit, Container: "init"})
	s.step(t, 3*time.Second, podworker.Event{Kind: podworker.EventExit, Container: "main"})

	want := []string{
		"Normal Scheduled: Successfully assigned default/p to node-1",
		`Normal Pulled spec.initContainers{init}: Container image "busybox:1.37" already present on machine and can be accessed by the pod`,
		"Normal Created spec.initContainers{init}: Container created",
		"Normal Started spec.initContainers{init}: Container started",
		`Normal Pulled spec.containers{main}: Container image "busybox:1.37" already present on machine and can be accessed by the pod`,
		"Normal Created spec.containers{main}: Container created",
		"Normal Started spec.containers{main}: Container started",
	}
	if diff := cmp.Diff(want, s.events()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if got := s.w.Status().Phase; got != corev1.PodSucceeded {
		t.Errorf("phase %s, want Succeeded", got)
	}
	if !s.w.Finished() {
		t.Errorf("worker not finished after every container completed")
	}
	rec := s.store.Record()
	if rec == nil {
		t.Fatal("no record stored")
	}
	var cols []string
	for _, sc := range rec.StatusHistory {
		cols = append(cols, fmt.Sprintf("+%s %s %s %s", sc.At.Sub(t0), sc.Phase, sc.Columns.Status, sc.Columns.Ready))
	}
	wantCols := []string{"+0s Pending Init:0/1 0/1", "+1s Running Running 1/1", "+3s Succeeded Completed 0/1"}
	if diff := cmp.Diff(wantCols, cols); diff != "" {
		t.Errorf("status history (-want +got):\n%s", diff)
	}
	main := rec.Containers[1].Attempts[0]
	if main.StartedAt == nil || !main.StartedAt.Equal(t0.Add(time.Second)) || main.FinishedAt == nil || !main.FinishedAt.Equal(t0.Add(3*time.Second)) {
		t.Errorf("main attempt = %+v, want started +1s finished +3s", main)
	}
}

func TestStepCrashLoopAggregatesEvents(t *testing.T) {
	s := newStepWorld(t, podOf("crash", corev1.RestartPolicyAlways, nil, busybox("c", "exit 1")), nil)
	s.step(t, 0, podworker.Event{Kind: podworker.EventStart})
	// exits at once; restarts at 0 s (immediate), +10 s, +30 s (10, 20 s back-off)
	for _, at := range []time.Duration{time.Millisecond, 10 * time.Second, 30 * time.Second} {
		s.step(t, at, podworker.Event{Kind: podworker.EventTimer})
	}
	got := s.events()
	want := []string{
		"Normal Scheduled: Successfully assigned default/crash to node-1",
		`Normal Pulled spec.containers{c}: Container image "busybox:1.37" already present on machine and can be accessed by the pod (x4)`,
		"Normal Created spec.containers{c}: Container created (x4)",
		"Normal Started spec.containers{c}: Container started (x4)",
		"Warning BackOff spec.containers{c}: Back-off restarting failed container c in pod crash_default(uid-crash) (x3)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if n := len(s.w.Record().Containers[0].Attempts); n != 4 {
		t.Errorf("%d attempts, want 4 (immediate restart, then 10 s and 20 s back-off)", n)
	}
}

func TestStepStartFailures(t *testing.T) {
	for _, tc := range []struct {
		name       string
		container  corev1.Container
		script     fake.Script
		images     podworker.Images // nil: the stepWorld's
		inject     error
		wantReason string
		wantPhase  corev1.PodPhase // Pending unless set
		wantEvents []string
	}{
		{
			name:       "image pull fails, then back-off",
			container:  corev1.Container{Name: "c", Image: "busybox:nope", Command: []string{"sleep", "1"}},
			wantReason: "ImagePullBackOff",
			wantEvents: []string{
				`Normal Pulling spec.containers{c}: Pulling image "busybox:nope"`,
				`Warning Failed spec.containers{c}: Failed to pull image "busybox:nope": failed to pull and unpack image "busybox:nope": failed to resolve reference "busybox:nope": busybox:nope: not found`,
				"Warning Failed spec.containers{c}: Error: ErrImagePull",
				`Normal BackOff spec.containers{c}: Back-off pulling image "busybox:nope"`,
				"Warning Failed spec.containers{c}: Error: ImagePullBackOff",
			},
		},
		{
			name:      "image store error kinds: never pull",
			container: corev1.Container{Name: "c", Image: "busybox:1.36", ImagePullPolicy: corev1.PullNever, Command: []string{"true"}},
			images: imagesFunc(func(ref string) (string, bool, error) {
				return "", false, fmt.Errorf("Container image %q is not present with pull policy of Never: %w", ref, image.ErrImageNeverPull)
			}),
			wantReason: runtime.ReasonErrImageNeverPull,
			wantEvents: []string{
				`Warning ErrImageNeverPull spec.containers{c}: Container image "busybox:1.36" is not present with pull policy of Never`,
				"Warning Failed spec.containers{c}: Error: ErrImageNeverPull",
			},
		},
		{
			name: "missing binary",
			// Under restartPolicy Never the instance that failed to start
			// stays Terminated StartError (128) and the pod fails.
			container:  corev1.Container{Name: "c", Image: "busybox:1.37", Command: []string{"/no/such"}},
			wantReason: "StartError",
			wantPhase:  corev1.PodFailed,
			wantEvents: []string{
				`Normal Pulled spec.containers{c}: Container image "busybox:1.37" already present on machine and can be accessed by the pod`,
				"Normal Created spec.containers{c}: Container created",
				`Warning Failed spec.containers{c}: Error: failed to start container "c-0-0001": exec: "/no/such": executable file not found in $PATH`,
			},
		},
		{
			name:       "config error",
			container:  busybox("c", "exit 0"),
			script:     fake.Script{"c": {FailCreate: &runtime.StartError{Reason: runtime.ReasonCreateContainerConfigError, Message: `configmap "cfg" not found`}}},
			wantReason: runtime.ReasonCreateContainerConfigError,
			wantEvents: []string{
				`Normal Pulled spec.containers{c}: Container image "busybox:1.37" already present on machine and can be accessed by the pod`,
				`Warning Failed spec.containers{c}: Error: configmap "cfg" not found`,
			},
		},
		{
			name:       "injected runtime error",
			container:  busybox("c", "exit 0"),
			inject:     errors.New("runc: boom"),
			wantReason: runtime.ReasonCreateContainerError,
			wantEvents: []string{
				`Normal Pulled spec.containers{c}: Container image "busybox:1.37" already present on machine and can be accessed by the pod`,
				"Warning Failed spec.containers{c}: Error: runc: boom",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStepWorld(t, podOf("p", corev1.RestartPolicyNever, nil, tc.container), tc.script, tc.images)
			if tc.inject != nil {
				s.rt.InjectError("CreateContainer", tc.inject)
			}
			s.step(t, 0, podworker.Event{Kind: podworker.EventStart})
			s.step(t, 2*time.Second, podworker.Event{Kind: podworker.EventTimer})
			st := s.w.Status()
			reason := ""
			if len(st.ContainerStatuses) == 1 {
				if w := st.ContainerStatuses[0].State.Waiting; w != nil {
					reason = w.Reason
				} else if term := st.ContainerStatuses[0].State.Terminated; term != nil {
					reason = term.Reason
				}
			}
			if reason != tc.wantReason {
				t.Errorf("container status = %+v, want reason %s", st.ContainerStatuses, tc.wantReason)
			}
			if reason == runtime.ReasonImagePullBackOff {
				want := `Back-off pulling image "busybox:nope": ErrImagePull: failed to pull and unpack image "busybox:nope": failed to resolve reference "busybox:nope": busybox:nope: not found`
				if got := st.ContainerStatuses[0].State.Waiting.Message; got != want {
					t.Errorf("waiting message %q, want %q (the kubelet's shape)", got, want)
				}
			}
			wantPhase := tc.wantPhase
			if wantPhase == "" {
				wantPhase = corev1.PodPending
			}
			if st.Phase != wantPhase {
				t.Errorf("phase %s, want %s", st.Phase, wantPhase)
			}
			if diff := cmp.Diff(tc.wantEvents, s.events()[1:]); diff != "" {
				t.Errorf("events after Scheduled (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStepRetriesAfterInjectedStartError(t *testing.T) {
	s := newStepWorld(t, podOf("p", corev1.RestartPolicyNever, nil, busybox("c", "sleep 5")), nil)
	s.rt.InjectError("StartContainer", errors.New("transient"))
	s.step(t, 0, podworker.Event{Kind: podworker.EventStart})
	if st := s.w.Status().ContainerStatuses[0]; st.State.Waiting == nil || st.State.Waiting.Reason != runtime.ReasonRunContainerError {
		t.Fatalf("after a failed start: %+v, want Waiting RunContainerError", st.State)
	}
	wake := s.w.WakeAt()
	if wake.IsZero() {
		t.Fatalf("no wake-up planned after a failed start")
	}
	s.step(t, lifecycle.SyncRetryPeriod, podworker.Event{Kind: podworker.EventTimer})
	if st := s.w.Status().ContainerStatuses[0]; st.State.Running == nil {
		t.Errorf("after the retry period: %+v, want Running", st.State)
	}
	var starts int
	for _, c := range s.rt.Calls() {
		if c.Method == "StartContainer" {
			starts++
		}
	}
	if starts != 2 {
		t.Errorf("%d StartContainer calls, want 2 (failed, retried): %s", starts, strings.Join(s.rt.CallNames(), "\n"))
	}
}

func TestStepRetriesSandboxCreation(t *testing.T) {
	s := newStepWorld(t, podOf("p", corev1.RestartPolicyNever, nil, busybox("c", "sleep 5")), nil)
	s.rt.InjectError("RunPodSandbox", errors.New("netns: no space"))
	s.step(t, 0, podworker.Event{Kind: podworker.EventStart})
	if diff := cmp.Diff([]string{"Warning FailedCreatePodSandBox: Failed to create pod sandbox: netns: no space"}, s.events()[1:]); diff != "" {
		t.Errorf("events after Scheduled (-want +got):\n%s", diff)
	}
	if s.w.Status().Phase != corev1.PodPending {
		t.Errorf("phase %s, want Pending", s.w.Status().Phase)
	}
	s.step(t, lifecycle.SyncRetryPeriod, podworker.Event{Kind: podworker.EventTimer})
	if st := s.w.Status().ContainerStatuses; len(st) != 1 || st[0].State.Running == nil {
		t.Errorf("after the retry: %+v, want main running", st)
	}
}
