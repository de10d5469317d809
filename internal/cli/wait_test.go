package cli

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podrun/podrun/internal/store"
	"github.com/podrun/podrun/internal/store/storetest"
)

// TestWaitImmediate covers what wait decides without waiting: conditions
// already met, missing objects, a check with --timeout 0 and bad flags.
func TestWaitImmediate(t *testing.T) {
	_, g, clk := viewFixture(t)
	var b strings.Builder
	for _, args := range [][]string{
		{"--for=condition=Ready", "pod/c027-sidecar-readiness"},
		{"--for=condition=ready", "pod/c027-sidecar-readiness", "pod/c009-crashloop", "--timeout=0"},
		{"--for=condition=Ready=False", "pod/c009-crashloop"},
		{"--for=condition=Initialized", "pods", "c027-sidecar-readiness", "c008-poststart-blocks"},
		{"--for=condition=PodScheduled", "pod/c023-sidecar-bad-image"},
		{"--for=condition=ContainersReady", "pod/c027-sidecar-readiness"},
		{"--for=condition=Complete", "job/c053-job-sidecar"},
		{"--for=condition=Failed", "job.batch/c055-job-pfp-failjob"},
		{"--for=condition=Complete", "job/c055-job-pfp-failjob", "--timeout", "0"},
		{"--for=condition=Ready", "pod/missing"},
		{"--for=delete", "pod/missing"},
		{"--for=jsonpath={.status.phase}", "pod/x"},
		{"--for=condition=Ready", "pods"},
		{"--for=condition=Ready", "event/x"},
		{"--for=condition=PodScheduled", "pods", "-l", "job-name"},
		{"--for=create", "jobs", "--all"},
		{"--for=condition=Ready", "pods", "-l", "app=none"},
		{"--for=condition=Ready", "pods", "x", "--all"},
		{"--for=create", "pod/c009-crashloop", "job/c053-job-sidecar"},
	} {
		b.WriteString(transcript("wait", args, execute(t, t.Context(), waitCommand, g, clk, args...)))
	}
	checkGolden(t, "wait/transcript.txt", b.String())
}

// startWait runs wait in the background and returns its output and exit
// code when it ends.
func startWait(t *testing.T, g *globalOptions, clk *clocktesting.FakeClock, args ...string) func() result {
	t.Helper()
	var out, errOut bytes.Buffer
	done := make(chan int, 1)
	go func() {
		err := executeTo(t.Context(), waitCommand, g, clk, Streams{Out: &out, ErrOut: &errOut}, args...)
		done <- exitCode(err, &errOut)
	}()
	return func() result {
		code := <-done
		return result{stdout: out.String(), stderr: errOut.String(), code: code}
	}
}

// waitForTimer returns once the command under test has armed its timeout,
// which it does when it starts waiting.
func waitForTimer(clk *clocktesting.FakeClock) {
	for !clk.HasWaiters() {
		runtime.Gosched()
	}
}

// TestWaitWakesOnChange changes the store while wait waits: it returns as
// soon as the condition holds, or the object is gone, or the (fake) clock
// passes the timeout.
func TestWaitWakesOnChange(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		change func(t *testing.T, ctx context.Context, g *globalOptions, clk *clocktesting.FakeClock)
		want   result
	}{
		{
			name: "pod becomes Ready",
			args: []string{"--for=condition=Ready", "pod/c008-poststart-blocks"},
			change: func(t *testing.T, ctx context.Context, g *globalOptions, _ *clocktesting.FakeClock) {
				updatePod(t, ctx, g, "c008-poststart-blocks", func(p *corev1.Pod) {
					for i := range p.Status.Conditions {
						if p.Status.Conditions[i].Type == corev1.PodReady {
							p.Status.Conditions[i].Status = corev1.ConditionTrue
						}
					}
				})
			},
			want: result{stdout: "pod/c008-poststart-blocks condition met\n"},
		},
		{
			name: "pod deleted",
			args: []string{"--for=delete", "pod/c009-crashloop", "--timeout=1m"},
			change: func(t *testing.T, ctx context.Context, g *globalOptions, _ *clocktesting.FakeClock) {
				s := openTestStore(t, g)
				if err := s.DeletePod(ctx, "default", "c009-crashloop"); err != nil {
					t.Fatal(err)
				}
			},
			want: result{stdout: "pod/c009-crashloop condition met\n"},
		},
		{
			name: "pod deleted while waiting for a condition",
			args: []string{"--for=condition=Ready", "pod/c009-crashloop"},
			change: func(t *testing.T, ctx context.Context, g *globalOptions, _ *clocktesting.FakeClock) {
				if err := openTestStore(t, g).DeletePod(ctx, "default", "c009-crashloop"); err != nil {
					t.Fatal(err)
				}
			},
			want: result{stderr: "Error from server (NotFound): pods \"c009-crashloop\" not found\n", code: 1},
		},
		{
			name: "job completes",
			args: []string{"--for=condition=Complete", "job/c055-job-pfp-failjob"},
			change: func(t *testing.T, ctx context.Context, g *globalOptions, _ *clocktesting.FakeClock) {
				if _, err := openTestStore(t, g).UpdateJob(ctx, "default", "c055-job-pfp-failjob", func(j *batchv1.Job) error {
					j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue})
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			},
			want: result{stdout: "job.batch/c055-job-pfp-failjob condition met\n"},
		},
		{
			name: "pod created",
			args: []string{"--for=create", "pod/later"},
			change: func(t *testing.T, ctx context.Context, g *globalOptions, _ *clocktesting.FakeClock) {
				if _, err := openTestStore(t, g).CreatePod(ctx, storetest.Pod("default", "later")); err != nil {
					t.Fatal(err)
				}
			},
			want: result{stdout: "pod/later condition met\n"},
		},
		{
			name: "create times out",
			args: []string{"--for=create", "pod/never", "--timeout=5s"},
			change: func(t *testing.T, ctx context.Context, g *globalOptions, clk *clocktesting.FakeClock) {
				clk.Step(5 * time.Second)
			},
			want: result{stderr: "error: timed out waiting for the condition\n", code: 1},
		},
		{
			name: "timeout",
			args: []string{"--for=condition=Ready", "pod/c003-init-fail-never", "--timeout", "10s"},
			change: func(t *testing.T, ctx context.Context, g *globalOptions, clk *clocktesting.FakeClock) {
				// An unrelated change does not end the wait; the timeout does.
				updatePod(t, ctx, g, "c003-init-fail-never", func(p *corev1.Pod) { p.Labels = map[string]string{"a": "b"} })
				clk.Step(10 * time.Second)
			},
			want: result{stderr: "error: timed out waiting for the condition on pods/c003-init-fail-never\n", code: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, g, clk := viewFixture(t)
			end := startWait(t, g, clk, tc.args...)
			waitForTimer(clk) // wait has read the object and waits
			tc.change(t, t.Context(), g, clk)
			if diff := cmp.Diff(tc.want, end(), cmp.AllowUnexported(result{})); diff != "" {
				t.Errorf("wait %v (-want +got):\n%s", tc.args, diff)
			}
		})
	}
}

func openTestStore(t *testing.T, g *globalOptions) *store.Store {
	t.Helper()
	s, err := openStore(g)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func updatePod(t *testing.T, ctx context.Context, g *globalOptions, name string, fn func(*corev1.Pod)) {
	t.Helper()
	if _, err := openTestStore(t, g).UpdatePod(ctx, "default", name, func(p *corev1.Pod) error { fn(p); return nil }); err != nil {
		t.Fatal(err)
	}
}
