package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podrun/podrun/internal/store"
)

var updateBackgroundGolden = flag.Bool("update-background", false, "rewrite the apply and delete command golden files")

func updateBackground() bool {
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		return true
	}
	return *updateBackgroundGolden
}

// runPodrun runs podrun through Main against the state directory root
// and renders its exit code and output for a golden file.
func runPodrun(t *testing.T, root string, stdin string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), Streams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut},
		append([]string{"--root", root}, args...))
	return fmt.Sprintf("$ podrun %s\nexit: %d\n--- stdout\n%s--- stderr\n%s", strings.Join(args, " "), code, out.String(), errOut.String())
}

// checkBackgroundGolden compares got with testdata/DIR/NAME.golden.
func checkBackgroundGolden(t *testing.T, dir, name, got string) {
	t.Helper()
	golden := filepath.Join("testdata", dir, name+".golden")
	if updateBackground() {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update-background to create)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", golden, diff)
	}
}

// seedStore fills a state directory with pods and Jobs nothing runs any
// more (so that delete never starts a supervisor): a Succeeded pod
// "done", a Failed pod "failed" in namespace "other", and a Job "batch"
// with its two Failed pods.
func seedStore(t *testing.T, root string) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	pod := func(ns, name string, phase corev1.PodPhase, owner *batchv1.Job) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name)},
			Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "busybox"}}},
			Status: corev1.PodStatus{Phase: phase}}
		if owner != nil {
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: owner.Name, UID: owner.UID}}
		}
		return p
	}
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "batch", UID: "uid-batch"}}
	if _, err := st.CreateJob(ctx, job); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*corev1.Pod{
		pod("default", "done", corev1.PodSucceeded, nil),
		pod("other", "failed", corev1.PodFailed, nil),
		pod("default", "batch-a", corev1.PodFailed, job),
		pod("default", "batch-b", corev1.PodFailed, job),
	} {
		if _, err := st.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// seedStoreEmpty opens the state directory root as it is.
func seedStoreEmpty(t *testing.T, root string) *store.Store {
	t.Helper()
	st, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// storedNames lists the stored pods and Jobs as kind/ns/name.
func storedNames(t *testing.T, st *store.Store) []string {
	t.Helper()
	ctx := context.Background()
	pods, err := st.ListPods(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := st.ListJobs(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range pods {
		out = append(out, "pod/"+p.Namespace+"/"+p.Name)
	}
	for _, j := range jobs {
		out = append(out, "job/"+j.Namespace+"/"+j.Name)
	}
	sort.Strings(out)
	return out
}

// TestDeleteCommand runs podrun delete through Main on objects nothing
// runs any more and compares its output with kubectl's
// (testdata/delete/NAME.golden) and the objects left in the store.
func TestDeleteCommand(t *testing.T) {
	all := []string{"job/default/batch", "pod/default/batch-a", "pod/default/batch-b", "pod/default/done", "pod/other/failed"}
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		left  []string
	}{
		{name: "no-arguments", args: []string{"delete"}, left: all},
		{name: "type-without-name", args: []string{"delete", "pod"}, left: all},
		{name: "name-with-all", args: []string{"delete", "pod", "done", "--all"}, left: all},
		{name: "force-with-grace", args: []string{"delete", "pod", "done", "--force", "--grace-period=5"}, left: all},
		{name: "now-with-grace", args: []string{"delete", "pod", "done", "--now", "--grace-period=5"}, left: all},
		{name: "unknown-type", args: []string{"delete", "deployment", "web"}, left: all},
		{name: "events-not-deletable", args: []string{"delete", "events", "x"}, left: all},
		{name: "not-found", args: []string{"delete", "pod", "nope"}, left: all},
		{name: "not-found-ignored", args: []string{"delete", "pod", "nope", "--ignore-not-found"}, left: all},
		{name: "pod", args: []string{"delete", "pod", "done"},
			left: []string{"job/default/batch", "pod/default/batch-a", "pod/default/batch-b", "pod/other/failed"}},
		{name: "pod-slash-name-and-missing", args: []string{"delete", "po/done", "pods/nope"},
			left: []string{"job/default/batch", "pod/default/batch-a", "pod/default/batch-b", "pod/other/failed"}},
		{name: "force", args: []string{"delete", "pod", "failed", "-n", "other", "--force", "--grace-period=0"},
			left: []string{"job/default/batch", "pod/default/batch-a", "pod/default/batch-b", "pod/default/done"}},
		{name: "all-pods", args: []string{"delete", "pods", "--all"}, left: []string{"job/default/batch", "pod/other/failed"}},
		{name: "all-in-empty-namespace", args: []string{"delete", "pods", "--all", "-n", "empty"}, left: all},
		{name: "job", args: []string{"delete", "job", "batch"}, left: []string{"pod/default/done", "pod/other/failed"}},
		{name: "file", args: []string{"delete", "-f", "-"}, stdin: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: done\nspec:\n  containers:\n  - name: main\n    image: busybox\n",
			left: []string{"job/default/batch", "pod/default/batch-a", "pod/default/batch-b", "pod/other/failed"}},
		{name: "file-and-names", args: []string{"delete", "pod", "done", "-f", "x.yaml"}, left: all},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			st := seedStore(t, root)
			checkBackgroundGolden(t, "delete", tc.name, runPodrun(t, root, tc.stdin, tc.args...))
			if diff := cmp.Diff(tc.left, storedNames(t, st)); diff != "" {
				t.Errorf("objects left in the store (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDeleteGraceFlags checks kubectl's rules for --grace-period, --now
// and --force.
func TestDeleteGraceFlags(t *testing.T) {
	for _, tc := range []struct {
		name      string
		o         deleteOptions
		wantGrace int
		wantErr   string
	}{
		{name: "default: the pod's own", o: deleteOptions{gracePeriod: -1}, wantGrace: -1},
		{name: "--grace-period=0 without --force becomes 1", o: deleteOptions{gracePeriod: 0}, wantGrace: 1},
		{name: "--force alone is --grace-period=0", o: deleteOptions{gracePeriod: -1, force: true}, wantGrace: 0},
		{name: "--force --grace-period=0", o: deleteOptions{gracePeriod: 0, force: true}, wantGrace: 0},
		{name: "--now is 1", o: deleteOptions{gracePeriod: -1, now: true}, wantGrace: 1},
		{name: "--force with a grace", o: deleteOptions{gracePeriod: 3, force: true}, wantErr: "--force and --grace-period greater than 0 cannot be specified together"},
		{name: "--now with a grace", o: deleteOptions{gracePeriod: 3, now: true}, wantErr: "--now and --grace-period cannot be specified together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.complete()
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tc.wantErr {
				t.Fatalf("complete() error = %q, want %q", gotErr, tc.wantErr)
			}
			if err == nil && tc.o.gracePeriod != tc.wantGrace {
				t.Errorf("grace period = %d, want %d", tc.o.gracePeriod, tc.wantGrace)
			}
		})
	}
}

// TestDeleteOwnedTerminalPod deletes a terminal pod whose supervisor is
// still finishing: delete marks it with grace 0 and, with --wait=false,
// leaves the removal to the supervisor.
func TestDeleteOwnedTerminalPod(t *testing.T) {
	root := t.TempDir()
	st := seedStore(t, root)
	lock, err := st.LockSupervisor("default", "done")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	checkBackgroundGolden(t, "delete", "owned-no-wait", runPodrun(t, root, "", "delete", "pod", "done", "--wait=false"))
	p, err := st.GetPod(context.Background(), "default", "done")
	if err != nil {
		t.Fatalf("pod after delete --wait=false: %v", err)
	}
	if p.DeletionTimestamp == nil || p.DeletionGracePeriodSeconds == nil || *p.DeletionGracePeriodSeconds != 0 {
		t.Errorf("deletion mark %v / %v, want a timestamp and grace 0", p.DeletionTimestamp, p.DeletionGracePeriodSeconds)
	}
	lock.Release()
	// Its supervisor ended: a second delete finishes the job.
	checkBackgroundGolden(t, "delete", "owner-gone", runPodrun(t, root, "", "delete", "pod", "done"))
	if _, err := st.GetPod(context.Background(), "default", "done"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("pod after the second delete: %v, want not found", err)
	}
}

// TestBackgroundDeleteDuringInit deletes a pod whose init container runs:
// the deletion does not wait for the init sequence.
func TestBackgroundDeleteDuringInit(t *testing.T) {
	e := newBgEnv(t)
	path := e.manifest("pod.yaml", `apiVersion: v1
kind: Pod
metadata:
  name: initing
spec:
  restartPolicy: Never
  initContainers:
  - name: wait-forever
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["true"]
`)
	e.mustRun("apply", "-f", path)
	e.waitPod("initing", time.Minute, "initializing", running("wait-forever"))
	if r := e.mustRun("delete", "pod", "initing"); r.took > 5*time.Second {
		t.Errorf("delete during init took %s, want well under the 30 s grace: %s", r.took, r)
	}
}

// TestBackgroundGracePeriod deletes a pod whose container ignores
// SIGTERM: --grace-period bounds the wait, --force --grace-period=0 kills
// at once.
func TestBackgroundGracePeriod(t *testing.T) {
	e := newBgEnv(t)
	stubborn := func(name string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 60
  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "sleep 600 & wait"]
`, name)
	}
	e.mustRun("apply", "-f", e.manifest("a.yaml", stubborn("stubborn")))
	e.mustRun("apply", "-f", e.manifest("b.yaml", stubborn("forced")))
	e.waitPod("stubborn", time.Minute, "running", running("main"))
	e.waitPod("forced", time.Minute, "running", running("main"))

	r := e.mustRun("delete", "pod", "stubborn", "--grace-period=3")
	if r.took < 3*time.Second || r.took > 12*time.Second {
		t.Errorf("delete --grace-period=3 of a pod ignoring SIGTERM took %s, want about 3 s: %s", r.took, r)
	}
	r = e.mustRun("delete", "pod", "forced", "--force", "--grace-period=0")
	if !strings.HasPrefix(r.stderr, "Warning: Immediate deletion does not wait") || r.stdout != "pod \"forced\" force deleted from default namespace\n" {
		t.Errorf("delete --force: %s\nwant kubectl's warning and \"force deleted\"", r)
	}
	if r.took > 5*time.Second {
		t.Errorf("delete --force --grace-period=0 took %s, want at once", r.took)
	}
}

// TestBackgroundDeleteRunPod deletes, from another process, a pod that a
// foreground podrun run drives: the run terminates it as on Ctrl-C and
// the delete returns once it is gone.
func TestBackgroundDeleteRunPod(t *testing.T) {
	e := newBgEnv(t)
	path := e.manifest("pod.yaml", bgPod("fg", 30))
	run := exec.Command(bg.bin, "--root", e.root, "run", "-f", path)
	var out bytes.Buffer
	run.Stdout, run.Stderr = &out, &out
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- run.Wait() }()
	e.waitPod("fg", time.Minute, "running", running("main"))
	if r := e.mustRun("delete", "pod", "fg"); r.took > 15*time.Second {
		t.Errorf("delete of a podrun run pod took %s: %s", r.took, r)
	}
	select {
	case err := <-exited:
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == ExitRuntime {
			t.Errorf("podrun run after the delete: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		_ = run.Process.Kill()
		t.Errorf("podrun run still running after its pod was deleted:\n%s", out.String())
		<-exited
	}
}

// TestDeleteNeverStartedPod deletes a Pending pod that no supervisor ever
// started (its supervisor could not run): nothing runs it, so it is
// removed at once without starting one.
func TestDeleteNeverStartedPod(t *testing.T) {
	root := t.TempDir()
	st := seedStore(t, root)
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "pending", UID: "uid-pending"},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "busybox"}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending}}
	if _, err := st.CreatePod(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	checkBackgroundGolden(t, "delete", "never-started", runPodrun(t, root, "", "delete", "pod", "pending"))
	if _, err := st.GetPod(context.Background(), "default", "pending"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("pod after delete: %v, want not found", err)
	}
}
