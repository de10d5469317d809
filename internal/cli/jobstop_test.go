package cli

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// slowStopJob is a Job whose pod has a native sidecar and a main that
// takes stopSeconds to stop after SIGTERM.
func slowStopJob(name string, stopSeconds int) string {
	return `apiVersion: batch/v1
kind: Job
metadata:
  name: ` + name + `
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 60
      initContainers:
      - name: side
        image: busybox
        imagePullPolicy: IfNotPresent
        restartPolicy: Always
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
      containers:
      - name: main
        image: busybox
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "trap 'echo got SIGTERM; sleep ` + fmt.Sprint(stopSeconds) + `; exit 0' TERM; while true; do sleep 0.1; done"]
`
}

// jobPodsOf returns the pods of the Job name in the store.
func (e *bgEnv) jobPodsOf(name string) []*corev1.Pod {
	pods, _ := e.st.ListPods(context.Background(), "default")
	var out []*corev1.Pod
	for _, p := range pods {
		if p.Labels["job-name"] == name {
			out = append(out, p)
		}
	}
	return out
}

// until polls cond (process deaths and supervisors' removals have no
// store event a test could wait on) until it holds or fails the test.
func (e *bgEnv) until(within time.Duration, what string, cond func() bool) {
	e.t.Helper()
	for deadline := time.Now().Add(within); !cond(); {
		if time.Now().After(deadline) {
			e.t.Fatalf("not %s within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBackgroundJobDeleteNoWait deletes, without waiting, a pod of a
// supervised Job (the Job supervisor ends it, removes it and creates a
// replacement) and then the Job itself, killing the Job's supervisor
// while it stops the pods: the next podrun command carries the deletion
// out — nothing stays Terminating.
func TestBackgroundJobDeleteNoWait(t *testing.T) {
	e := newBgEnv(t)
	e.mustRun("apply", "-f", e.manifest("job.yaml", slowStopJob("nw", 3)))
	var first string
	e.until(time.Minute, "the Job's pod running", func() bool {
		pods := e.jobPodsOf("nw")
		if len(pods) == 1 && running("main")(pods[0]) {
			first = pods[0].Name
			return true
		}
		return false
	})
	e.mustRun("delete", "pod", first, "--wait=false")
	e.until(time.Minute, "the deleted pod removed and replaced", func() bool {
		pods := e.jobPodsOf("nw")
		return len(pods) == 1 && pods[0].Name != first && running("main")(pods[0])
	})

	e.mustRun("delete", "job", "nw", "--wait=false")
	e.until(10*time.Second, "the Job's pod told to stop", func() bool {
		pods := e.jobPodsOf("nw")
		return len(pods) == 1 && pods[0].DeletionTimestamp != nil
	})
	supervisors := pidsNaming("--job\x00nw")
	if len(supervisors) != 1 {
		t.Fatalf("Job supervisors: %v, want one", processesNaming("--job\x00nw"))
	}
	if err := syscall.Kill(supervisors[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e.until(time.Minute, "the deleted Job and its pods gone after get", func() bool {
		r := e.run("get", "jobs,pods")
		_, err := e.st.GetJob(context.Background(), "default", "nw")
		return r.code == 0 && err != nil && len(e.jobPodsOf("nw")) == 0
	})
}

// syncedBuffer is a bytes.Buffer safe for a writing process and a
// reading test.
type syncedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunJobSecondInterrupt interrupts a run of a Job twice: the second
// Ctrl-C cuts the grace of the pods already stopping to zero, as it does
// for a bare pod — main is killed at once, not left to finish its slow
// stop.
func TestRunJobSecondInterrupt(t *testing.T) {
	e := newBgEnv(t)
	path := e.manifest("job.yaml", slowStopJob("twice", 30))
	cmd := exec.Command(bg.bin, "--root", e.root, "run", "-f", path)
	out := &syncedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	e.until(time.Minute, "the Job's pod running", func() bool {
		pods := e.jobPodsOf("twice")
		return len(pods) == 1 && running("main")(pods[0])
	})
	_ = cmd.Process.Signal(syscall.SIGINT)
	e.until(10*time.Second, "main told to stop", func() bool { return strings.Contains(out.String(), "got SIGTERM") })
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("run still stopping 20 s after the second Ctrl-C (main stops in 30 s):\n%s", out.String())
	}
	t.Logf("run ended %s after the second Ctrl-C", time.Since(start).Round(time.Millisecond))
	pods := e.jobPodsOf("twice")
	if len(pods) != 1 {
		t.Fatalf("pods of the Job: %d, want 1", len(pods))
	}
	for _, cs := range pods[0].Status.ContainerStatuses {
		if term := cs.State.Terminated; cs.Name == "main" && (term == nil || term.ExitCode != 137) {
			t.Errorf("main after the second Ctrl-C: %+v, want killed (exit 137)\n%s", cs.State, out.String())
		}
	}
	e.mustRun("delete", "job", "twice")
}
