package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/podrun/podrun/internal/store"
)

// TestApplyBadInput checks that podrun apply refuses bad input with exit
// code 2 and stores nothing (testdata/apply/NAME.golden).
func TestApplyBadInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
	}{
		{name: "no-file", args: []string{"apply"}},
		{name: "invalid-pod", args: []string{"apply", "-f", "-"},
			stdin: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: Bad_Name\nspec:\n  containers:\n  - name: main\n    image: busybox\n"},
		{name: "one-invalid-of-two", args: []string{"apply", "-f", "-"},
			stdin: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: good\nspec:\n  containers:\n  - name: main\n    image: busybox\n---\n" +
				"apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\nspec:\n  containers: []\n"},
		{name: "no-pod-or-job", args: []string{"apply", "-f", "-"},
			stdin: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  k: v\n"},
		{name: "bad-backoff", args: []string{"apply", "-f", "-", "--max-restart-backoff=0s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			got := runPodrun(t, root, tc.stdin, tc.args...)
			checkBackgroundGolden(t, "apply", tc.name, got)
			st := seedStoreEmpty(t, root)
			if diff := cmp.Diff([]string(nil), storedNames(t, st)); diff != "" {
				t.Errorf("objects stored by a refused apply (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBackgroundApplyGetDelete applies a pod, reads it from other
// processes while it runs in the background, and deletes it.
func TestBackgroundApplyGetDelete(t *testing.T) {
	e := newBgEnv(t)
	path := e.manifest("pod.yaml", bgPod("bg", 30))
	if r := e.mustRun("apply", "-f", path); r.stdout != "pod/bg created\n" || r.took > 10*time.Second {
		t.Fatalf("apply: %s\nwant \"pod/bg created\" at once", r)
	}
	e.waitPod("bg", time.Minute, "running", running("main"))
	if r := e.mustRun("apply", "-f", path); r.stdout != "pod/bg unchanged\n" {
		t.Errorf("second apply: %s\nwant \"pod/bg unchanged\"", r)
	}
	if r := e.run("apply", "-f", e.manifest("changed.yaml", bgPod("bg", 5))); r.code != 1 || !strings.Contains(r.stderr, `The Pod "bg" is invalid: spec: Forbidden`) {
		t.Errorf("apply of a changed spec: %s\nwant exit 1 and the API server's Forbidden", r)
	}
	if r := e.mustRun("get", "pods", "bg"); !strings.Contains(r.stdout, "Running") {
		t.Errorf("get pods bg: %s\nwant the pod Running", r)
	}
	r := e.mustRun("delete", "pod", "bg")
	if r.stdout != "pod \"bg\" deleted from default namespace\n" || r.took > 15*time.Second {
		t.Errorf("delete: %s\nwant kubectl's line, quickly (the container exits on SIGTERM)", r)
	}
	if _, err := e.st.GetPod(context.Background(), "default", "bg"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("pod after delete --wait: %v, want gone", err)
	}
	if r := e.run("delete", "pod", "bg"); r.code != 1 || r.stderr != "Error from server (NotFound): pods \"bg\" not found\n" {
		t.Errorf("second delete: %s\nwant kubectl's NotFound", r)
	}
}

// TestBackgroundConcurrent runs 17 pods' apply, get and delete — 51
// podrun processes — at once, while this process keeps reading the
// store: every read decodes (no torn file) and everything ends clean.
func TestBackgroundConcurrent(t *testing.T) {
	e := newBgEnv(t)
	const n = 17
	stop := make(chan struct{})
	readErr := make(chan error, 1)
	go func() { // a reader that must never see a torn object
		defer close(readErr)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := e.st.ListPods(context.Background(), ""); err != nil {
				readErr <- err
				return
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan string, 3*n)
	for i := range n {
		name := fmt.Sprintf("c%02d", i)
		path := e.manifest(name+".yaml", bgPod(name, 30))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := e.run("apply", "-f", path); r.code != 0 || r.stdout != "pod/"+name+" created\n" {
				errs <- "apply " + name + ": " + r.String()
				return
			}
			if r := e.run("get", "pod", name, "-o", "name"); r.code != 0 || r.stdout != "pod/"+name+"\n" {
				errs <- "get " + name + ": " + r.String()
			}
			if r := e.run("delete", "pod", name); r.code != 0 || r.stdout != "pod \""+name+"\" deleted from default namespace\n" {
				errs <- "delete " + name + ": " + r.String()
			}
		}()
	}
	wg.Wait()
	close(stop)
	if err := <-readErr; err != nil {
		t.Errorf("reading the store during the run: %v", err)
	}
	close(errs)
	for s := range errs {
		t.Error(s)
	}
}

// TestBackgroundJob applies a Job: its supervisor runs the Job controller
// and the pod; delete job removes the Job and its pods.
func TestBackgroundJob(t *testing.T) {
	e := newBgEnv(t)
	path := e.manifest("job.yaml", `apiVersion: batch/v1
kind: Job
metadata:
  name: once
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "echo done"]
`)
	if r := e.mustRun("apply", "-f", path); r.stdout != "job.batch/once created\n" {
		t.Fatalf("apply: %s", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	changes, err := e.st.Watch(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	for {
		j, err := e.st.GetJob(ctx, "default", "once")
		if err == nil && j.Status.Succeeded == 1 && j.Status.CompletionTime != nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("job not complete within a minute: %+v %v", j, err)
		case <-changes:
		}
	}
	if r := e.mustRun("delete", "job", "once"); r.stdout != "job.batch \"once\" deleted from default namespace\n" {
		t.Errorf("delete job: %s", r)
	}
	if pods, _ := e.st.ListPods(ctx, "default"); len(pods) != 0 {
		t.Errorf("%d pods left after deleting their Job", len(pods))
	}
	if _, err := e.st.GetJob(ctx, "default", "once"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("job after delete: %v, want gone", err)
	}
}

// TestRunAndApplyWithoutRuntimeParts checks that run and apply refuse to
// start when podrun-shim or the OCI runtime is missing: exit 3, an error
// naming what is missing, and nothing stored (not a pod that ends in
// StartError).
func TestRunAndApplyWithoutRuntimeParts(t *testing.T) {
	const pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: good\nspec:\n  containers:\n  - name: main\n    image: busybox\n"
	missing := filepath.Join(t.TempDir(), "podrun-shim")
	for _, tc := range []struct {
		name        string
		shim        string
		args        []string
		wantMention string
	}{
		{name: "apply without shim", shim: missing, args: []string{"apply", "-f", "-"},
			wantMention: `$PODRUN_SHIM "` + missing + `" is not an executable file`},
		{name: "run without shim", shim: missing, args: []string{"run", "-f", "-"},
			wantMention: `$PODRUN_SHIM "` + missing + `" is not an executable file`},
		{name: "apply without runtime", args: []string{"apply", "--runtime", "/nonexistent/runc", "-f", "-"},
			wantMention: `oci runtime "/nonexistent/runc"`},
		{name: "run without runtime", args: []string{"run", "--runtime", "/nonexistent/runc", "-f", "-"},
			wantMention: `oci runtime "/nonexistent/runc"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.wantMention
			if os.Geteuid() != 0 {
				want = "needs root"
			}
			t.Setenv("PODRUN_SHIM", tc.shim)
			root := t.TempDir()
			got := runPodrun(t, root, pod, tc.args...)
			if !strings.Contains(got, "exit: 3\n") || !strings.Contains(got, "error: cannot run pods here: ") || !strings.Contains(got, want) {
				t.Errorf("got\n%s\nwant exit 3 and an error mentioning %q", got, want)
			}
			st := seedStoreEmpty(t, root)
			if diff := cmp.Diff([]string(nil), storedNames(t, st)); diff != "" {
				t.Errorf("objects stored (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSharedFlagsChecked checks that every verb refuses a bad
// --namespace or --feature-gates as bad input (exit 2), before it reads
// or writes anything.
func TestSharedFlagsChecked(t *testing.T) {
	for _, tc := range []struct {
		args        []string
		wantMention string
	}{
		{[]string{"get", "pods", "-n", "../x"}, `error: invalid namespace "../x": a lowercase RFC 1123 label`},
		{[]string{"logs", "p", "-n", ".."}, `error: invalid namespace ".."`},
		{[]string{"delete", "pod", "p", "--namespace", "Upper"}, `error: invalid namespace "Upper"`},
		{[]string{"--feature-gates=Nope=true", "get", "pods"}, `error: invalid --feature-gates: `},
		{[]string{"events", "--feature-gates=SidecarContainers=maybe"}, `error: invalid --feature-gates: `},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			root := t.TempDir()
			got := runPodrun(t, root, "", tc.args...)
			if !strings.Contains(got, "exit: 2\n") || !strings.Contains(got, tc.wantMention) {
				t.Errorf("got\n%s\nwant exit 2 and %q", got, tc.wantMention)
			}
		})
	}
}

// TestRunInterruptedBeforeStart checks that an interrupt that reaches
// podrun before run claims the signal (Main cancels the context then) is
// not lost: run starts and stores nothing and exits 1.
func TestRunInterruptedBeforeStart(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("run checks for root first")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("run checks for runc first")
	}
	t.Setenv("PODRUN_SHIM", "/bin/true") // any executable: nothing is started
	root := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut strings.Builder
	code := Main(ctx, Streams{In: strings.NewReader("apiVersion: v1\nkind: Pod\nmetadata:\n  name: early\nspec:\n  containers:\n  - name: main\n    image: busybox\n"),
		Out: &out, ErrOut: &errOut}, []string{"--root", root, "run", "-f", "-"})
	if code != ExitFailed || !strings.Contains(errOut.String(), "interrupted before anything started") {
		t.Errorf("exit %d, stderr %q; want 1 and the interrupt named", code, errOut.String())
	}
	if diff := cmp.Diff([]string(nil), storedNames(t, seedStoreEmpty(t, root))); diff != "" {
		t.Errorf("objects stored by an interrupted run (-want +got):\n%s", diff)
	}
}
