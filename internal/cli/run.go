package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/podrun/podrun/internal/backend/local"
	"github.com/podrun/podrun/internal/job"
	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/podworker"
	"github.com/podrun/podrun/internal/printers"
	"github.com/podrun/podrun/internal/store"
)

// runOptions are the flags of `podrun run`.
type runOptions struct {
	files             []string
	timeout           time.Duration
	remove            bool
	output            string
	maxRestartBackoff time.Duration
	runtime           string
}

func newRunCommand(g *globalOptions, streams Streams) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run -f FILE",
		Short: "Run the Pods and Jobs of a manifest to completion on this machine",
		Long: `Run validates the manifest, gets the images, runs every Pod and Job in it
through the kubelet's lifecycle on real containers, streams each container's
output prefixed by its name, and prints a summary.

Exit codes: 0 when every Pod Succeeded and every Job is Complete, 1 when one
failed or the run timed out, 2 for bad input (nothing was started), 3 for a
runtime or system error. Ctrl-C terminates the pods as a deletion does
(preStop hooks, regular containers, then sidecars in reverse order, within
the grace period); a second Ctrl-C kills them at once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), g, streams)
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&o.files, "filename", "f", nil, "manifest files or directories, - for standard input")
	f.DurationVar(&o.timeout, "timeout", 0, "stop waiting after this long, terminate the pods and exit 1 (0 waits forever)")
	f.BoolVar(&o.remove, "rm", false, "delete the pods and Jobs from the state directory afterwards")
	f.StringVarP(&o.output, "output", "o", "", "print the final objects as json or yaml instead of the summary")
	f.DurationVar(&o.maxRestartBackoff, "max-restart-backoff", lifecycle.MaxBackoff, "crash-loop back-off ceiling, as the kubelet's crashLoopBackOff.maxContainerRestartPeriod (1s to 300s)")
	f.StringVar(&o.runtime, "runtime", "runc", "OCI runtime: runc, crun or the path of a runc-compatible binary")
	return cmd
}

func (o *runOptions) run(ctx context.Context, g *globalOptions, streams Streams) error {
	if o.output != "" && o.output != "json" && o.output != "yaml" {
		return InputError(fmt.Errorf("--output must be json or yaml, not %q", o.output))
	}
	if o.timeout < 0 {
		return InputError(fmt.Errorf("--timeout must not be negative, not %s", o.timeout))
	}
	w, err := loadWorkload("run", g, streams, o.files, o.maxRestartBackoff)
	if err != nil {
		return err
	}
	pods, jobs, set, settings := w.pods, w.jobs, w.set, w.settings
	if err := local.CheckRuntime(o.runtime); err != nil {
		return &ExitError{Code: ExitRuntime, Err: err}
	}

	for _, warning := range probeWarnings(pods, jobs) {
		fmt.Fprintf(streams.ErrOut, "podrun: warning: %s\n", warning)
	}

	backend, err := local.Open(local.Options{Root: g.root, Runtime: o.runtime, Settings: settings})
	if err != nil {
		return &ExitError{Code: ExitRuntime, Err: err}
	}
	defer backend.Close()
	if err := checkNamesFree(ctx, streams.ErrOut, backend, pods, jobs); err != nil {
		return err
	}

	var names []string
	for _, p := range pods {
		names = append(names, containerNames(&p.Spec)...)
	}
	for _, j := range jobs {
		names = append(names, containerNames(&j.Spec.Template.Spec)...)
	}
	con := newConsole(streams, names, o.output == "")
	defer con.close()

	// Deletion requests: Ctrl-C (graceful, then at once) and --timeout.
	del := newDeleter(len(pods) + len(jobs))
	g.claimInterrupts.Store(true)
	if ctx.Err() != nil {
		// Interrupted before the run could claim the signal: Main
		// cancelled ctx instead. Nothing has started; start nothing.
		return &ExitError{Code: ExitFailed, Err: errors.New("interrupted before anything started")}
	}
	var timedOut, interrupted bool
	var timeoutMu sync.Mutex
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		var timer <-chan time.Time
		if o.timeout > 0 {
			t := time.NewTimer(o.timeout)
			defer t.Stop()
			timer = t.C
		}
		interrupts := 0
		for {
			select {
			case <-streams.Interrupts:
				interrupts++
				timeoutMu.Lock()
				interrupted = true
				timeoutMu.Unlock()
				if interrupts == 1 {
					con.note("interrupted: terminating (interrupt again to cut the grace to zero)")
					del.send(nil)
				} else {
					con.note("grace cut to zero: killing")
					zero := int64(0)
					del.send(&zero)
				}
			case <-timer:
				timeoutMu.Lock()
				timedOut = true
				timeoutMu.Unlock()
				con.timedOut(o.timeout)
				del.send(nil)
			case <-stop:
				return
			}
		}
	}()

	start := time.Now()
	type result struct {
		pods []*corev1.Pod
		job  *batchv1.Job
		err  error
	}
	results := make([]result, len(pods)+len(jobs))
	var wg sync.WaitGroup
	ropts := local.RunOptions{Watch: con, ConfigMaps: byName(set.ConfigMaps()), Secrets: byName(set.Secrets())}
	// A Job the run stops ends Failed: DeadlineExceeded after --timeout
	// (it acts as the Job's active deadline), Interrupted otherwise.
	ropts.StopReason = func() (string, string) {
		timeoutMu.Lock()
		defer timeoutMu.Unlock()
		if timedOut {
			return job.ReasonDeadlineExceeded, job.MessageDeadlineExceeded
		}
		return job.ReasonInterrupted, job.MessageInterrupted
	}
	for i, p := range pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ro := ropts
			ro.Delete = del.channel(i)
			final, err := backend.RunPod(ctx, p, ro)
			results[i] = result{pods: []*corev1.Pod{final}, err: err}
		}()
	}
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ro := ropts
			ro.Delete = del.channel(len(pods) + i)
			job, jp, err := backend.RunJob(ctx, j, ro)
			results[len(pods)+i] = result{pods: jp, job: job, err: err}
		}()
	}
	wg.Wait()
	con.close()
	elapsed := time.Since(start)

	var errs []error
	succeeded := true
	var objs []runtime.Object
	for _, r := range results {
		if r.err != nil {
			errs = append(errs, r.err)
		}
		if r.job != nil {
			objs = append(objs, r.job)
			succeeded = succeeded && jobComplete(r.job)
		}
		for _, p := range r.pods {
			if p == nil {
				continue
			}
			objs = append(objs, p)
			if r.job == nil {
				succeeded = succeeded && p.Status.Phase == corev1.PodSucceeded
			}
		}
		timeoutMu.Lock()
		note := ""
		if timedOut {
			switch {
			case r.job != nil:
				note = con.timeoutNoteFor("job/" + r.job.Name)
			case len(r.pods) > 0 && r.pods[0] != nil:
				note = con.timeoutNoteFor(r.pods[0].Name)
			}
			if note == "" {
				note = fmt.Sprintf("timed out after %s", o.timeout)
			}
		}
		timeoutMu.Unlock()
		if o.output == "" {
			records := map[string]*podworker.Record{}
			for _, p := range r.pods {
				if p == nil {
					continue
				}
				if raw, err := backend.Store().GetRecord(context.WithoutCancel(ctx), p.Namespace, p.Name); err == nil {
					rec := &podworker.Record{}
					if json.Unmarshal(raw, rec) == nil {
						records[p.Name] = rec
					}
				}
			}
			printSummary(streams.Out, runResult{Pods: r.pods, Job: r.job, Elapsed: elapsed, Note: note, Records: records})
		}
	}
	if o.output != "" {
		if err := printers.PrintObjects(streams.Out, objs, printers.OutputOptions{Format: o.output}); err != nil {
			errs = append(errs, err)
		}
	}
	if o.remove {
		errs = append(errs, removeAll(context.WithoutCancel(ctx), backend, objs))
	}
	if err := errors.Join(errs...); err != nil {
		return &ExitError{Code: ExitRuntime, Err: err}
	}
	// An interrupted run is not a success, however its pods ended.
	if !succeeded || timedOut || interrupted {
		return &ExitError{Code: ExitFailed}
	}
	return nil
}

// probeWarnings names the probes podrun does not run yet (the probes
// issue adds the prober): a startup probe then never passes, a readiness
// probe keeps its container unready, a liveness probe never kills.
func probeWarnings(pods []*corev1.Pod, jobs []*batchv1.Job) []string {
	var out []string
	check := func(kind, name string, spec *corev1.PodSpec) {
		for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
			for _, c := range list {
				var probes []string
				if c.StartupProbe != nil {
					probes = append(probes, "startupProbe (never passes)")
				}
				if c.ReadinessProbe != nil {
					probes = append(probes, "readinessProbe (never ready)")
				}
				if c.LivenessProbe != nil {
					probes = append(probes, "livenessProbe (never fails)")
				}
				if len(probes) > 0 {
					out = append(out, fmt.Sprintf("%s/%s container %q: probes are not run yet: %s", kind, name, c.Name, strings.Join(probes, ", ")))
				}
			}
		}
	}
	for _, p := range pods {
		check("pod", p.Name, &p.Spec)
	}
	for _, j := range jobs {
		check("job.batch", j.Name, &j.Spec.Template.Spec)
	}
	return out
}

// checkNamesFree refuses, before anything starts, Pods and Jobs whose
// names the state directory already holds, as the API server refuses a
// create (kubectl: exit 1).
func checkNamesFree(ctx context.Context, errOut io.Writer, b *local.Local, pods []*corev1.Pod, jobs []*batchv1.Job) error {
	var errs []string
	for _, p := range pods {
		if p.Name == "" {
			continue
		}
		if _, err := b.Store().GetPod(ctx, p.Namespace, p.Name); err == nil {
			errs = append(errs, fmt.Sprintf("Error from server (AlreadyExists): pods %q already exists (podrun delete pod %s)", p.Name, p.Name))
		}
	}
	for _, j := range jobs {
		if j.Name == "" {
			continue
		}
		if _, err := b.Store().GetJob(ctx, j.Namespace, j.Name); err == nil {
			errs = append(errs, fmt.Sprintf("Error from server (AlreadyExists): jobs.batch %q already exists (podrun delete job %s)", j.Name, j.Name))
		}
	}
	for _, e := range errs {
		fmt.Fprintln(errOut, e) // as kubectl prints API errors: no "error: "
	}
	if len(errs) > 0 {
		return &ExitError{Code: ExitFailed}
	}
	return nil
}

// removeAll deletes the run's pods and Jobs from the state directory;
// one podrun delete removed first is not an error.
func removeAll(ctx context.Context, b *local.Local, objs []runtime.Object) error {
	var errs []error
	for _, o := range objs {
		switch v := o.(type) {
		case *corev1.Pod:
			errs = append(errs, ignoreNotFound(b.Store().DeletePod(ctx, v.Namespace, v.Name)))
			local.RemoveSuperviseFiles(b.Store().Root(), local.KindPod, v.Namespace, v.Name)
		case *batchv1.Job:
			errs = append(errs, ignoreNotFound(b.Store().DeleteJob(ctx, v.Namespace, v.Name)))
			local.RemoveSuperviseFiles(b.Store().Root(), local.KindJob, v.Namespace, v.Name)
		}
	}
	return errors.Join(errs...)
}

// ignoreNotFound is err, unless it says the object is not in the store.
func ignoreNotFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

func jobComplete(j *batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func containerNames(spec *corev1.PodSpec) []string {
	var out []string
	for _, c := range spec.InitContainers {
		out = append(out, c.Name)
	}
	for _, c := range spec.Containers {
		out = append(out, c.Name)
	}
	return out
}

func byName[T interface{ GetName() string }](objs []T) map[string]T {
	m := make(map[string]T, len(objs))
	for _, o := range objs {
		m[o.GetName()] = o
	}
	return m
}

// deleter fans deletion requests out to every run.
type deleter struct {
	chans []chan *int64
}

func newDeleter(n int) *deleter {
	d := &deleter{}
	for i := 0; i < n; i++ {
		d.chans = append(d.chans, make(chan *int64, 4))
	}
	return d
}

func (d *deleter) channel(i int) <-chan *int64 { return d.chans[i] }

func (d *deleter) send(grace *int64) {
	for _, c := range d.chans {
		select {
		case c <- grace:
		default:
		}
	}
}
