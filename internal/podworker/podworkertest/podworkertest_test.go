package podworkertest_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"

	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/podworker"
	"github.com/podrun/podrun/internal/podworker/podworkertest"
	"github.com/podrun/podrun/internal/runtime"
	"github.com/podrun/podrun/internal/runtime/fake"
)

func TestMemoryStore(t *testing.T) {
	ctx := context.Background()
	s := podworkertest.NewMemoryStore()
	ev := corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "p.1"}, Reason: "Created", Count: 1}
	for _, e := range []corev1.Event{ev, {ObjectMeta: metav1.ObjectMeta{Name: "p.2"}, Reason: "Started", Count: 1}} {
		if err := s.AppendEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	ev.Count = 2
	if err := s.AppendEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range s.Events() {
		got = append(got, e.Name+" "+e.Reason+" "+string(rune('0'+e.Count)))
	}
	if diff := cmp.Diff([]string{"p.1 Created 2", "p.2 Started 1"}, got); diff != "" {
		t.Errorf("events: an event of the same name replaces the earlier one in place (-want +got):\n%s", diff)
	}
	rec := &podworker.Record{Name: "p", Containers: []podworker.ContainerRecord{{Name: "c", Kind: lifecycle.KindRegular}}}
	if err := s.SaveRecord(ctx, rec); err != nil {
		t.Fatal(err)
	}
	rec.Name = "changed after save"
	if got := s.Record(); got == nil || got.Name != "p" || len(got.Containers) != 1 {
		t.Errorf("Record() = %+v, want the copy saved", got)
	}
	boom := errors.New("disk full")
	s.Err = boom
	if err := s.SaveStatus(ctx, &corev1.Pod{}, corev1.PodStatus{}); !errors.Is(err, boom) {
		t.Errorf("SaveStatus with Err set: %v, want %v", err, boom)
	}
}

func TestImages(t *testing.T) {
	ctx := context.Background()
	im := podworkertest.NewImages("busybox")
	im.AddRemote("postgres:15")
	for _, tc := range []struct {
		ref        string
		policy     corev1.PullPolicy
		wantPulled bool
		wantReason string
	}{
		{"busybox", corev1.PullIfNotPresent, false, ""},
		{"busybox", corev1.PullNever, false, ""},
		{"busybox", corev1.PullAlways, true, ""},
		{"postgres:15", corev1.PullNever, false, runtime.ReasonErrImageNeverPull},
		{"postgres:15", corev1.PullIfNotPresent, true, ""},
		{"postgres:15", corev1.PullIfNotPresent, false, ""}, // present after the pull
		{"busybox:nope", corev1.PullIfNotPresent, false, runtime.ReasonErrImagePull},
	} {
		_, pulled, err := im.EnsureImage(ctx, tc.ref, tc.policy, nil)
		reason := ""
		var se *runtime.StartError
		if errors.As(err, &se) {
			reason = se.Reason
		} else if err != nil {
			t.Errorf("EnsureImage(%s, %s): %v, want a *runtime.StartError", tc.ref, tc.policy, err)
		}
		if pulled != tc.wantPulled || reason != tc.wantReason {
			t.Errorf("EnsureImage(%s, %s) = pulled %v reason %q, want %v %q", tc.ref, tc.policy, pulled, reason, tc.wantPulled, tc.wantReason)
		}
	}
	if diff := cmp.Diff([]string{"busybox", "postgres:15", "busybox:nope"}, im.Pulls()); diff != "" {
		t.Errorf("pulls (-want +got):\n%s", diff)
	}
}

func TestProberResetsOnNewInstance(t *testing.T) {
	p := podworkertest.NewProber()
	c := &corev1.Container{Name: "main"}
	p.Track(nil, []podworker.ProbeTarget{{Container: c, ContainerID: "a"}})
	p.Set("main", podworker.ProbeReadiness, lifecycle.ProbeSuccess)
	select {
	case <-p.Updates():
	default:
		t.Errorf("Set did not signal Updates")
	}
	if got := p.Results("a").Readiness; got != lifecycle.ProbeSuccess {
		t.Errorf("readiness of a = %q, want Success", got)
	}
	p.Track(nil, []podworker.ProbeTarget{{Container: c, ContainerID: "b"}})
	if got := p.Results("b").Readiness; got != lifecycle.ProbeNone {
		t.Errorf("readiness of the new instance b = %q, want none", got)
	}
}

// TestExecProberMechanics: a readiness probe that fails until a file
// exists turns Success only after successThreshold runs, and a liveness
// probe reaches Failure after failureThreshold consecutive failures.
func TestExecProberMechanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.RealClock{}
		rt := fake.New(clk, nil)
		ctx := context.Background()
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "u"}}
		sb, err := rt.RunPodSandbox(ctx, runtime.SandboxConfig{Pod: pod})
		if err != nil {
			t.Fatal(err)
		}
		c := &corev1.Container{Name: "main", Command: []string{"sh", "-c", "sleep 5; touch /tmp/ready; sleep 3600"},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"test", "-f", "/tmp/ready"}}},
				PeriodSeconds: 1, SuccessThreshold: 2, FailureThreshold: 1},
			LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"false"}}},
				InitialDelaySeconds: 3, PeriodSeconds: 2, FailureThreshold: 3}}
		id, err := rt.CreateContainer(ctx, sb, runtime.ContainerConfig{Name: "main", Pod: pod, Container: c})
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.StartContainer(ctx, id); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		p := podworkertest.NewExecProber(rt, clk)
		defer p.Close()
		p.Track(pod, []podworker.ProbeTarget{{Container: c, ContainerID: id, StartedAt: start}})
		type obs struct {
			At                  time.Duration
			Readiness, Liveness lifecycle.ProbeResult
		}
		var got []obs
		last := obs{At: -1}
		for time.Since(start) < 12*time.Second {
			<-time.After(500 * time.Millisecond) // virtual time in the bubble
			r := p.Results(id)
			if r.Readiness != last.Readiness || r.Liveness != last.Liveness {
				last = obs{At: time.Since(start).Truncate(time.Second), Readiness: r.Readiness, Liveness: r.Liveness}
				got = append(got, last)
			}
		}
		want := []obs{
			{At: 0, Readiness: lifecycle.ProbeFailure, Liveness: lifecycle.ProbeSuccess},
			{At: 6 * time.Second, Readiness: lifecycle.ProbeSuccess, Liveness: lifecycle.ProbeSuccess}, // ready at 5, 6: two successes
			// liveness runs every 2 s from the start, skipped before 3 s:
			// fails at 4, 6 and 8 s, Failure at the third
			{At: 8 * time.Second, Readiness: lifecycle.ProbeSuccess, Liveness: lifecycle.ProbeFailure},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("cached results over time (-want +got):\n%s", diff)
		}
		if n := p.Results(id).Failed[podworker.ProbeLiveness]; n != 3 {
			t.Errorf("%d liveness failures counted, want 3 (it stops at Failure)", n)
		}
	})
}

// TestProbersStartFromASeed: an instance that predates a resumed worker
// starts from its seeded results in both probers; the ExecProber keeps
// its schedule from the start (probes at +10s, +12s, … for a resume at
// +9s) instead of probing every missed period at once, and a readiness
// seeded Success stays so until a probe fails.
func TestProbersStartFromASeed(t *testing.T) {
	seed := &podworker.ProbeResults{Startup: lifecycle.ProbeSuccess, Liveness: lifecycle.ProbeSuccess, Readiness: lifecycle.ProbeSuccess}
	manual := podworkertest.NewProber()
	manual.Track(nil, []podworker.ProbeTarget{{Container: &corev1.Container{Name: "main"}, ContainerID: "a", Seed: seed}})
	if diff := cmp.Diff(*seed, manual.Results("a")); diff != "" {
		t.Errorf("Prober: results of a seeded instance (-want +got):\n%s", diff)
	}

	synctest.Test(t, func(t *testing.T) {
		clk := clock.RealClock{}
		rt := fake.New(clk, nil)
		ctx := context.Background()
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "u"}}
		sb, err := rt.RunPodSandbox(ctx, runtime.SandboxConfig{Pod: pod})
		if err != nil {
			t.Fatal(err)
		}
		// Ready until the file disappears at +13s.
		c := &corev1.Container{Name: "main", Command: []string{"sh", "-c", "touch /tmp/ready; sleep 13; rm /tmp/ready; sleep 3600"},
			StartupProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"false"}}},
				PeriodSeconds: 1, FailureThreshold: 1},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"test", "-f", "/tmp/ready"}}},
				PeriodSeconds: 2, FailureThreshold: 1}}
		id, err := rt.CreateContainer(ctx, sb, runtime.ContainerConfig{Name: "main", Pod: pod, Container: c})
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.StartContainer(ctx, id); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		<-time.After(9 * time.Second) // virtual time: the resume
		p := podworkertest.NewExecProber(rt, clk)
		defer p.Close()
		p.Track(pod, []podworker.ProbeTarget{{Container: c, ContainerID: id, StartedAt: start, Seed: seed}})
		synctest.Wait()
		if diff := cmp.Diff(*seed, p.Results(id)); diff != "" {
			t.Errorf("ExecProber: results right after Track (-want +got):\n%s", diff)
		}
		<-time.After(start.Add(13*time.Second + 500*time.Millisecond).Sub(time.Now()))
		if r := p.Results(id); r.Readiness != lifecycle.ProbeSuccess || r.Startup != lifecycle.ProbeSuccess {
			t.Errorf("at +13.5s: %+v, want still started (seeded; the failing startup probe never runs) and ready", r)
		}
		<-time.After(start.Add(14*time.Second + 500*time.Millisecond).Sub(time.Now()))
		if got := p.Results(id).Readiness; got != lifecycle.ProbeFailure {
			t.Errorf("at +14.5s: readiness %s, want Failure (probed at +14s)", got)
		}
		var execs int
		for _, call := range rt.Calls() {
			if call.Method == "ExecSync" {
				execs++
			}
		}
		if execs != 3 {
			t.Errorf("%d probes ran, want 3 (readiness at +10s, +12s and +14s)", execs)
		}
	})
}
