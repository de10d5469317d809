package cli

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"
)

// TestDescribeMatchesKubectl stores each captured pod and Job with its
// events and runs podrun describe at the capture time: the output must be
// kubectl's, byte for byte.
func TestDescribeMatchesKubectl(t *testing.T) {
	compared := 0
	for _, c := range kubectlGolden(t) {
		t.Run(c.name, func(t *testing.T) {
			s, g := newTestStore(t)
			c.fill(t, s, "")
			clk := clocktesting.NewFakeClock(c.now)
			type run struct {
				file string
				args []string
			}
			var runs []run
			if c.pod != nil {
				runs = append(runs, run{"describe.txt", []string{"pod", c.pod.Name}})
			}
			if c.job != nil {
				runs = append(runs, run{"describe-job.txt", []string{"job/" + c.job.Name}})
			}
			for _, r := range runs {
				want, ok := c.file(t, r.file)
				if !ok {
					continue
				}
				compared++
				got := execute(t, t.Context(), describeCommand, g, clk, r.args...)
				if got.code != 0 || got.stderr != "" {
					t.Errorf("describe %v: exit %d, stderr %q", r.args, got.code, got.stderr)
				}
				if diff := cmp.Diff(want, got.stdout); diff != "" {
					t.Errorf("podrun describe %s vs kubectl's %s (-kubectl +podrun):\n%s", strings.Join(r.args, " "), r.file, diff)
				}
			}
		})
	}
	if compared < 20 {
		t.Errorf("only %d outputs compared with kubectl's", compared)
	}
}

// TestDescribeTranscript covers describe's arguments and errors.
func TestDescribeTranscript(t *testing.T) {
	_, g, clk := viewFixture(t)
	var b strings.Builder
	for _, args := range [][]string{
		{"pod", "c009"},
		{"pods", "c05"},
		{"pod", "missing"},
		{"job", "missing", "c053-job-sidecar"},
		{"pods", "-n", "empty"},
		{"events"},
		{"pods", "-l", "a=(b"},
	} {
		b.WriteString(transcript("describe", args, execute(t, t.Context(), describeCommand, g, clk, args...)))
	}
	checkGolden(t, "describe/transcript.txt", b.String())
}
