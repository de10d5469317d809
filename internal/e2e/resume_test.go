package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/podworker"
	"github.com/podrun/podrun/internal/store"
)

// Supervisors that die mid-run (issue 6): a pod or Job started with
// podrun apply or podrun run loses its supervisor (kill -9, or SIGTERM:
// "stop supervising"); the next podrun command starts a new supervisor,
// which continues the pod from its checkpoint, re-observing the
// containers that kept running. Each case runs in a child process that
// is the subreaper of everything it starts (supervisors are detached,
// and a killed one leaves its containers' shims to the nearest
// subreaper), so that it can reap them and report any left alive.

// resumeCases are the supervisor-death cases, each run in a child.
var resumeCases = map[string]func(t *testing.T) childResult{
	"apply-pod-kill":       func(t *testing.T) childResult { return resumeCase(t, startApply, kindPod, killSupervisor, numbered) },
	"apply-pod-term":       func(t *testing.T) childResult { return resumeCase(t, startApply, kindPod, termSupervisor, numbered) },
	"apply-pod-crash-loop": func(t *testing.T) childResult { return resumeCase(t, startApply, kindPod, killSupervisor, crashTwice) },
	"apply-job-kill":       func(t *testing.T) childResult { return resumeCase(t, startApply, kindJob, killSupervisor, numbered) },
	"apply-job-term":       func(t *testing.T) childResult { return resumeCase(t, startApply, kindJob, termSupervisor, numbered) },
	"run-pod-kill":         func(t *testing.T) childResult { return resumeCase(t, startRun, kindPod, killRun, numbered) },
	"run-job-kill":         func(t *testing.T) childResult { return resumeCase(t, startRun, kindJob, killRun, numbered) },
	"run-pod-interrupt-kill": func(t *testing.T) childResult {
		return resumeCase(t, startRun, kindPod, interruptKillRun, numbered)
	},
	"run-job-interrupt-kill": func(t *testing.T) childResult {
		return resumeCase(t, startRun, kindJob, interruptKillRun, numbered)
	},
}

// envPodrun names the podrun binary for a child (runChild sets it).
const envPodrun = "PODRUN_E2E_PODRUN"

// TestResume runs resumeCases, each in a child process.
func TestResume(t *testing.T) {
	requireE2E(t)
	for _, name := range sortedKeys(resumeCases) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			report(t, "resume/"+name, runChild(t, "resume", name, 4*time.Minute))
		})
	}
}

// childResume runs the resume case name in a child process.
func childResume(t *testing.T, name string) childResult {
	run, ok := resumeCases[name]
	if !ok {
		t.Fatalf("no resume case %q", name)
	}
	return run(t)
}

// How a case starts its workload, what it is, and how its owner dies.
type (
	starter  int
	workKind int
	killer   int
	workload int
)

const (
	startApply starter = iota // podrun apply: a detached supervisor
	startRun                  // podrun run: the run drives it
)

const (
	kindPod workKind = iota
	kindJob
)

const (
	killSupervisor   killer = iota // kill -9 of the supervisor
	termSupervisor                 // SIGTERM: stop supervising
	killRun                        // kill -9 of podrun run
	interruptKillRun               // Ctrl-C of podrun run, then kill -9 of it while the pod terminates
)

const (
	numbered   workload = iota // main prints 1..numberedLines, a sidecar beside it
	crashTwice                 // main fails twice (counter in an emptyDir), then succeeds
)

// numberedLines is how many lines the numbered main prints, one every
// 50 ms.
const numberedLines = 120

// resumeName is the name of every case's pod or Job.
const resumeName = "resume"

// resumePodSpec is the pod spec of a workload, indented for a pod (2) or
// a Job's template (6).
func resumePodSpec(w workload, indent int) string {
	var spec string
	switch w {
	case numbered:
		// main (a shell as PID 1, deaf to SIGTERM) goes on to its last
		// line within the grace when the pod is deleted.
		spec = `restartPolicy: Never
terminationGracePeriodSeconds: 30
initContainers:
- name: sidecar
  image: busybox
  imagePullPolicy: IfNotPresent
  restartPolicy: Always
  command: ["sh", "-c", "trap 'echo sidecar got SIGTERM; exit 0' TERM; echo sidecar up; while true; do sleep 0.2; done"]
containers:
- name: main
  image: busybox
  imagePullPolicy: IfNotPresent
  command: ["sh", "-c", "i=1; while [ $i -le ` + fmt.Sprint(numberedLines) + ` ]; do echo $i; i=$((i+1)); sleep 0.05; done"]
`
	case crashTwice:
		spec = `restartPolicy: OnFailure
terminationGracePeriodSeconds: 10
volumes:
- name: data
  emptyDir: {}
containers:
- name: main
  image: busybox
  imagePullPolicy: IfNotPresent
  volumeMounts:
  - name: data
    mountPath: /data
  command: ["sh", "-c", "n=$(cat /data/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /data/n; echo attempt $n; sleep 1; if [ $n -lt 3 ]; then exit 1; fi; echo done"]
`
	}
	pad := strings.Repeat(" ", indent)
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSuffix(spec, "\n"), "\n") {
		b.WriteString(pad + l + "\n")
	}
	return b.String()
}

// resumeManifest is the manifest of a case's pod or Job.
func resumeManifest(k workKind, w workload) string {
	if k == kindJob {
		return "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: " + resumeName +
			"\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n" + resumePodSpec(w, 6)
	}
	return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + resumeName + "\nspec:\n" + resumePodSpec(w, 2)
}

// resumeEnv is the state of one case in its child process.
type resumeEnv struct {
	t     *testing.T
	k     workKind
	e     *env
	st    *store.Store
	bin   string
	fails []string
}

func (r *resumeEnv) fail(format string, args ...any) {
	r.fails = append(r.fails, fmt.Sprintf(format, args...))
}

// podrun runs one podrun command to its end and returns its stdout,
// stderr and exit code.
func (r *resumeEnv) podrun(args ...string) (string, string, int) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.bin, append([]string{"--root", r.e.root}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), errOut.String(), 0
	case errors.As(err, &ee) && ee.Exited():
		return out.String(), errOut.String(), ee.ExitCode()
	}
	r.t.Fatalf("podrun %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	return "", "", -1
}

// until polls cond (the store has no event for a process's death, and
// the log files none at all) until it holds or limit passes.
func (r *resumeEnv) until(limit time.Duration, what string, cond func() bool) bool {
	r.t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			r.fail("not %s within %s", what, limit)
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// pod reads the case's pod: the pod itself, or the Job's only pod.
func (r *resumeEnv) pod(k workKind) *corev1.Pod {
	ctx := context.Background()
	if k == kindPod {
		p, _ := r.st.GetPod(ctx, "default", resumeName)
		return p
	}
	pods, _ := r.st.ListPods(ctx, "default")
	if len(pods) == 0 {
		return nil
	}
	return pods[0]
}

// supervisors returns the pids of the podrun supervise processes of this
// case's state directory.
func (r *resumeEnv) supervisors() []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, en := range entries {
		pid := 0
		if _, err := fmt.Sscan(en.Name(), &pid); err != nil {
			continue
		}
		cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
		if len(args) > 3 && args[1] == "--root" && args[2] == r.e.root && args[3] == "supervise" && !zombie(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// zombie reports whether pid has exited and awaits its reaper.
func zombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z")
}

// mainRunning reports whether the pod's main container runs and has
// logged at least n lines.
func (r *resumeEnv) mainRunning(k workKind, n int) func() bool {
	return func() bool {
		p := r.pod(k)
		if p == nil {
			return false
		}
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Name == "main" && cs.State.Running != nil {
				data, _ := os.ReadFile(filepath.Join(r.st.LogDir(p.Namespace, p.Name, p.UID), "main", fmt.Sprintf("%d.log", cs.RestartCount)))
				return bytes.Count(data, []byte("\n")) >= n
			}
		}
		return false
	}
}

// resumeCase starts the workload, kills its owner mid-run, lets the
// next podrun command adopt it, and checks that it still ends as it
// would have with no death: phase, restart counts, termination order
// and every log line once, in order.
func resumeCase(t *testing.T, how starter, k workKind, kill killer, w workload) childResult {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("become a child subreaper: %v", err)
	}
	e := newRoot(t)
	t.Cleanup(func() { reapOrphans(t) }) // before the leftover checks
	st, err := store.Open(e.root)
	if err != nil {
		t.Fatal(err)
	}
	r := &resumeEnv{t: t, k: k, e: e, st: st, bin: os.Getenv(envPodrun)}
	if r.bin == "" {
		t.Fatalf("%s is not set: the parent names the podrun binary", envPodrun)
	}
	file := filepath.Join(t.TempDir(), "workload.yaml")
	if err := os.WriteFile(file, []byte(resumeManifest(k, w)), 0o644); err != nil {
		t.Fatal(err)
	}
	kindArg := "pod"
	if k == kindJob {
		kindArg = "job"
	}
	defer func() {
		// Whatever happened, remove the workload (through a supervisor).
		if out, errOut, code := r.podrun("delete", kindArg, resumeName, "--ignore-not-found", "--timeout", "60s"); code != 0 {
			r.fail("delete %s %s: exit %d\n%s%s", kindArg, resumeName, code, out, errOut)
		}
	}()

	// Start it, and the logs -f that must follow across the death.
	var run *exec.Cmd
	var runOut bytes.Buffer
	switch how {
	case startApply:
		if out, errOut, code := r.podrun("apply", "-f", file, "--max-restart-backoff", "2s"); code != 0 {
			t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
		}
	case startRun:
		run = exec.Command(r.bin, "--root", e.root, "run", "-f", file, "--max-restart-backoff", "2s")
		run.Stdout, run.Stderr = &runOut, &runOut
		if err := run.Start(); err != nil {
			t.Fatal(err)
		}
	}
	var ready func() bool
	switch w {
	case numbered:
		ready = r.mainRunning(k, 20)
	case crashTwice:
		ready = func() bool { // killed in a back-off, after a failure
			p := r.pod(k)
			if p == nil || len(p.Status.ContainerStatuses) != 1 {
				return false
			}
			cs := p.Status.ContainerStatuses[0]
			failed := (cs.State.Terminated != nil && cs.State.Terminated.ExitCode != 0) || cs.LastTerminationState.Terminated != nil
			return cs.State.Running == nil && failed && cs.RestartCount < 2
		}
	}
	if !r.until(time.Minute, "under way", ready) {
		return r.result()
	}
	var follow *exec.Cmd
	followOut := &syncBuffer{}
	if w == numbered {
		p := r.pod(k)
		follow = exec.Command(r.bin, "--root", e.root, "logs", "-f", p.Name, "-c", "main")
		follow.Stdout, follow.Stderr = followOut, followOut
		if err := follow.Start(); err != nil {
			t.Fatal(err)
		}
		// Following (it printed the lines so far) before the death.
		r.until(30*time.Second, "following the log", func() bool { return strings.Contains(followOut.String(), "10\n") })
	}
	before := r.pod(k)

	// The death.
	switch kill {
	case killRun:
		_ = run.Process.Signal(syscall.SIGKILL)
		_ = run.Wait()
	case interruptKillRun:
		_ = run.Process.Signal(syscall.SIGINT)
		r.until(10*time.Second, "the pod marked deleted by Ctrl-C", func() bool {
			p := r.pod(k)
			return p != nil && p.DeletionTimestamp != nil
		})
		_ = run.Process.Signal(syscall.SIGKILL)
		_ = run.Wait()
	case killSupervisor, termSupervisor:
		pids := r.supervisors()
		if len(pids) != 1 {
			t.Fatalf("supervisors of the case: %v, want one", pids)
		}
		sig := syscall.SIGKILL
		if kill == termSupervisor {
			sig = syscall.SIGTERM
		}
		if err := syscall.Kill(pids[0], sig); err != nil {
			t.Fatal(err)
		}
		// Dead (a zombie: its files, and so its lock, closed) — not just
		// without a command line, which it loses earlier in its exit.
		r.until(10*time.Second, "the supervisor gone", func() bool { return zombie(pids[0]) })
	}
	if w == numbered {
		// Lines go on being written while nobody supervises (logs -f may
		// start a new supervisor meanwhile: it looks every 2 s).
		if !r.until(10*time.Second, "logging after the death", r.mainRunning(k, 30)) {
			r.fail("pod while nobody supervised it: %s\nlog files: %s", describeStatus(r.pod(k)), logFiles(r.st, r.pod(k)))
		}
	}

	// The next command notices and starts a new supervisor.
	if out, errOut, code := r.podrun("get", kindArg, resumeName); code != 0 || strings.Contains(errOut, "warning") {
		r.fail("get after the death: exit %d\n%s%s", code, out, errOut)
	}
	// One new supervisor (a concurrent start by logs -f loses the lock
	// and exits).
	if !r.until(10*time.Second, "supervised by one new supervisor", func() bool { return len(r.supervisors()) == 1 }) {
		r.fail("supervisors: %v; lock holders: %s", r.supervisors(), lockHolders(filepath.Join(r.e.root, "namespaces", "default", "supervisors", resumeName+".lock")))
	}
	var final *corev1.Pod
	r.until(2*time.Minute, "terminal under the new supervisor", func() bool {
		final = r.pod(k)
		return final != nil && (final.Status.Phase == corev1.PodSucceeded || final.Status.Phase == corev1.PodFailed)
	})
	if final == nil {
		return r.result()
	}
	r.checkPod(before, final, w)
	r.checkLogs(final, w)
	if kill == interruptKillRun {
		// Ctrl-C stops a run's pods but keeps them, also when a new
		// supervisor finishes stopping them.
		r.until(30*time.Second, "the new supervisor done", func() bool { return len(r.supervisors()) == 0 })
		if p := r.pod(k); p == nil || p.DeletionTimestamp == nil {
			r.fail("pod once its supervisor ended: %v; want it kept, with its deletion mark", p)
		}
	}
	if k == kindJob {
		// A Job its run was stopping when the run died ends as the run
		// would have ended it: Failed, Interrupted.
		want, reason := batchv1.JobComplete, ""
		if kill == interruptKillRun {
			want, reason = batchv1.JobFailed, "Interrupted"
		}
		var j *batchv1.Job
		r.until(30*time.Second, "the Job "+string(want), func() bool {
			j, _ = st.GetJob(context.Background(), "default", resumeName)
			return j != nil && hasJobCondition(j, want)
		})
		for _, c := range jobConditions(j) {
			if reason != "" && c.Type == want && c.Reason != reason {
				r.fail("Job condition %s: reason %q, want %q", c.Type, c.Reason, reason)
			}
		}
		if pods, _ := st.ListPods(context.Background(), "default"); len(pods) != 1 {
			r.fail("pods of the Job: %d, want 1 (no replacement)", len(pods))
		}
	}
	if follow != nil {
		done := make(chan error, 1)
		go func() { done <- follow.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				r.fail("logs -f: %v\n%s", err, followOut.String())
			}
			if got, want := followOut.String(), numberedOutput(); got != want {
				r.fail("logs -f across the death: %d bytes, want lines 1..%d once each:\n%s", len(got), numberedLines, got)
			}
		case <-time.After(30 * time.Second):
			_ = follow.Process.Kill()
			<-done
			r.fail("logs -f did not end with the main container:\n%s", followOut.String())
		}
	}
	return r.result()
}

// result is the case's childResult, with what ran.
func (r *resumeEnv) result() childResult {
	res := childResult{Fails: r.fails}
	if len(r.fails) > 0 {
		res.Detail = "pod: " + describeStatus(r.pod(r.k)) + "\nsupervisor logs:\n" + supervisorLogs(r.e.root)
	}
	return res
}

// checkPod checks the end of the pod against its state before the death.
func (r *resumeEnv) checkPod(before, final *corev1.Pod, w workload) {
	if final.Status.Phase != corev1.PodSucceeded {
		r.fail("phase %s, want Succeeded", final.Status.Phase)
	}
	if before.UID != final.UID {
		r.fail("the pod was replaced (uid %s, then %s)", before.UID, final.UID)
	}
	want := map[string]int32{"main": 0, "sidecar": 0}
	if w == crashTwice {
		want = map[string]int32{"main": 2}
	}
	for _, cs := range append(append([]corev1.ContainerStatus{}, final.Status.InitContainerStatuses...), final.Status.ContainerStatuses...) {
		n, ok := want[cs.Name]
		if !ok {
			continue
		}
		if cs.RestartCount != n {
			r.fail("%s: restartCount %d, want %d", cs.Name, cs.RestartCount, n)
		}
		if term := cs.State.Terminated; term == nil || term.ExitCode != 0 || term.Reason != "Completed" {
			r.fail("%s: state %+v, want terminated 0 Completed", cs.Name, cs.State)
		}
		delete(want, cs.Name)
	}
	for name := range want {
		r.fail("%s: no status", name)
	}
	if w != numbered {
		return
	}
	// The sidecar stopped after main ended (reverse order, SIGTERM), as
	// the run record says once the worker finished it (it is saved just
	// after the terminal status).
	rec := &podworker.Record{}
	r.until(10*time.Second, "the run record finished", func() bool {
		raw, err := r.st.GetRecord(context.Background(), final.Namespace, final.Name)
		*rec = podworker.Record{}
		return err == nil && json.Unmarshal(raw, rec) == nil && rec.FinishedAt != nil
	})
	end := map[string]*time.Time{}
	for _, c := range rec.Containers {
		if len(c.Attempts) != 1 {
			r.fail("run record: %s has %d attempts, want 1", c.Name, len(c.Attempts))
			continue
		}
		end[c.Name] = c.Attempts[0].FinishedAt
	}
	if end["main"] == nil || end["sidecar"] == nil || end["sidecar"].Before(*end["main"]) {
		r.fail("run record: main finished at %v, sidecar at %v; want the sidecar after main", end["main"], end["sidecar"])
	}
}

// checkLogs checks podrun logs of each container: every line once, in
// order, including those written while no supervisor lived.
func (r *resumeEnv) checkLogs(final *corev1.Pod, w workload) {
	logs := func(args ...string) string {
		out, errOut, code := r.podrun(append([]string{"logs", final.Name}, args...)...)
		if code != 0 {
			r.fail("logs %v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	switch w {
	case numbered:
		if got := logs("-c", "main"); got != numberedOutput() {
			r.fail("logs -c main: want lines 1..%d once each, got:\n%s", numberedLines, got)
		}
		if got, want := logs("-c", "sidecar"), "sidecar up\nsidecar got SIGTERM\n"; got != want {
			r.fail("logs -c sidecar = %q, want %q", got, want)
		}
	case crashTwice:
		if got, want := logs("-c", "main"), "attempt 3\ndone\n"; got != want {
			r.fail("logs -c main = %q, want %q", got, want)
		}
		if got, want := logs("-c", "main", "--previous"), "attempt 2\n"; got != want {
			r.fail("logs -c main --previous = %q, want %q", got, want)
		}
	}
}

// numberedOutput is what the numbered main prints.
func numberedOutput() string {
	var b strings.Builder
	for i := 1; i <= numberedLines; i++ {
		fmt.Fprintf(&b, "%d\n", i)
	}
	return b.String()
}

// jobConditions returns the Job's conditions (none for no Job).
func jobConditions(j *batchv1.Job) []batchv1.JobCondition {
	if j == nil {
		return nil
	}
	return j.Status.Conditions
}

func hasJobCondition(j *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// describeStatus is a short account of a pod's status.
func describeStatus(p *corev1.Pod) string {
	if p == nil {
		return "<none>"
	}
	data, _ := json.Marshal(p.Status)
	return string(data)
}

// supervisorLogs returns every supervisor log of the state directory.
func supervisorLogs(root string) string {
	files, _ := filepath.Glob(filepath.Join(root, "supervise", "*", "*.log"))
	var b strings.Builder
	for _, f := range files {
		data, _ := os.ReadFile(f)
		fmt.Fprintf(&b, "== %s\n%s", filepath.Base(f), data)
	}
	return b.String()
}

// reapOrphans waits up to 20 s for every process this child adopted as
// their subreaper (supervisors, shims) to end, reaping them, and reports
// those still alive.
func reapOrphans(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		switch {
		case errors.Is(err, unix.ECHILD):
			return
		case err != nil && !errors.Is(err, unix.EINTR):
			t.Errorf("reap orphans: %v", err)
			return
		case pid > 0:
			continue
		}
		if time.Now().After(deadline) {
			t.Errorf("left behind: processes still running 20 s after the case:\n  %s", strings.Join(childProcesses(), "\n  "))
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logFiles lists the log files of pod with their line counts.
func logFiles(st *store.Store, p *corev1.Pod) string {
	if p == nil {
		return "<no pod>"
	}
	files, _ := filepath.Glob(filepath.Join(st.LogDir(p.Namespace, p.Name, p.UID), "*", "*.log"))
	var out []string
	for _, f := range files {
		data, _ := os.ReadFile(f)
		out = append(out, fmt.Sprintf("%s (%d lines)", f, bytes.Count(data, []byte("\n"))))
	}
	return strings.Join(out, ", ")
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lockHolders describes the processes holding a lock on the file path,
// from /proc/locks.
func lockHolders(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return err.Error()
	}
	ino := fi.Sys().(*syscall.Stat_t).Ino
	data, _ := os.ReadFile("/proc/locks")
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		// 1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF
		if len(f) < 6 || !strings.HasSuffix(f[5], fmt.Sprintf(":%d", ino)) {
			continue
		}
		pid := 0
		fmt.Sscan(f[4], &pid)
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		out = append(out, fmt.Sprintf("%s pid %d (%s)", f[3], pid, strings.ReplaceAll(string(cmd), "\x00", " ")))
	}
	return strings.Join(out, "; ")
}
