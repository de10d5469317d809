package lifecycle_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/podrun/podrun/internal/lifecycle"
)

// crashLoop builds a container whose attempts each ran `run` and were
// restarted the moment the gate allowed, and returns the observed gaps
// between each exit and the next start.
func crashLoop(t *testing.T, s lifecycle.Settings, run time.Duration, restarts int) []time.Duration {
	t.Helper()
	co := &lifecycle.ContainerObservation{}
	now := planT0
	var gaps []time.Duration
	for i := 0; i <= restarts; i++ {
		co.Attempts = append(co.Attempts, lifecycle.Attempt{State: lifecycle.AttemptRunning, CreatedAt: now, StartedAt: now})
		now = now.Add(run)
		a := co.Current()
		a.State, a.FinishedAt, a.ExitCode = lifecycle.AttemptExited, now, 1
		if i == restarts {
			break
		}
		start := now
		if waiting, _, until := lifecycle.CrashLoopBackOff(s, co, now); waiting {
			if w2, _, _ := lifecycle.CrashLoopBackOff(s, co, until.Add(-time.Millisecond)); !w2 {
				t.Fatalf("gate open before %v", until)
			}
			start = until
		}
		gaps = append(gaps, start.Sub(now))
		now = start
	}
	return gaps
}

func TestCrashLoopBackOffCurve(t *testing.T) {
	sec := func(ns ...int) []time.Duration {
		var out []time.Duration
		for _, n := range ns {
			out = append(out, time.Duration(n)*time.Second)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		max  time.Duration
		run  time.Duration
		want []time.Duration
	}{
		{"§3.4 R1.4 0 10 20 40 80 160 300 300 with the default ceiling", 300 * time.Second, time.Second, sec(0, 10, 20, 40, 80, 160, 300, 300)},
		{"§3.4 maxContainerRestartPeriod 30 s caps the curve", 30 * time.Second, time.Second, sec(0, 10, 20, 30, 30)},
		{"§3.4 a ceiling below 10 s lowers the first delay too", 5 * time.Second, time.Second, sec(0, 5, 5, 5)},
		{"§3.4 an exit over 600 s after the last restart resets the entry: restarted at once", 300 * time.Second, 601 * time.Second, sec(0, 0, 0, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := lifecycle.DefaultSettings()
			s.MaxContainerRestartPeriod = tc.max
			got := crashLoop(t, s, tc.run, len(tc.want))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("restart gaps (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCrashLoopBackOffAfterProbeKills checks the §17 finding: a container
// killed by its startup probe is restarted at once twice, because the
// restart happens in the kill's own sync and is gated against the instance
// before; back-off engages from the third restart.
func TestCrashLoopBackOffAfterProbeKills(t *testing.T) {
	s := lifecycle.DefaultSettings()
	co := &lifecycle.ContainerObservation{}
	now := planT0
	var gaps []time.Duration
	for i := 0; i < 5; i++ {
		co.Attempts = append(co.Attempts, lifecycle.Attempt{State: lifecycle.AttemptRunning, CreatedAt: now, StartedAt: now})
		kill := now.Add(6 * time.Second) // initialDelay 5 s + one failed probe
		a := co.Current()
		a.Kill = &lifecycle.Kill{Reason: lifecycle.KillStartupProbe, StartedAt: kill, Grace: 30 * time.Second}
		now = kill.Add(200 * time.Millisecond)
		a.State, a.FinishedAt, a.ExitCode = lifecycle.AttemptExited, now, 0
		start := now
		if waiting, _, until := lifecycle.CrashLoopBackOff(s, co, now); waiting {
			start = until
		}
		gaps = append(gaps, start.Sub(now))
		now = start
	}
	want := []time.Duration{0, 0, 10 * time.Second, 20 * time.Second, 40 * time.Second}
	if diff := cmp.Diff(want, gaps); diff != "" {
		t.Errorf("restart gaps after startup-probe kills (-want +got):\n%s", diff)
	}
}

func TestImagePullBackOff(t *testing.T) {
	var e *lifecycle.BackoffEntry
	var delays []time.Duration
	now := planT0
	for i := 0; i < 7; i++ {
		e = lifecycle.NextImagePullBackoff(e, now)
		delays = append(delays, e.Delay)
		waiting, until := lifecycle.ImagePullBackOff(e, now, now.Add(e.Delay-time.Millisecond))
		if !waiting || !until.Equal(now.Add(e.Delay)) {
			t.Fatalf("S10 pull %d: waiting=%v until=%v, want true %v", i, waiting, until, now.Add(e.Delay))
		}
		now = until
	}
	want := []time.Duration{10, 20, 40, 80, 160, 300, 300}
	for i := range want {
		want[i] *= time.Second
	}
	if diff := cmp.Diff(want, delays); diff != "" {
		t.Errorf("S10 image pull back-off delays (-want +got):\n%s", diff)
	}
}
