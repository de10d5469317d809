package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/kubectl/pkg/util/podutils"
	"k8s.io/utils/clock"

	"github.com/podrun/podrun/internal/logs"
	"github.com/podrun/podrun/internal/store"
)

// logsOptions are the flags of `podrun logs`.
type logsOptions struct {
	namespace     string
	container     string
	previous      bool
	follow        bool
	timestamps    bool
	tail          int
	since         time.Duration
	allContainers bool
	prefix        bool
	// podRunningTimeout bounds how long -f waits for a container to start.
	podRunningTimeout time.Duration
}

// defaultContainerAnnotation names the container kubectl logs picks when
// none is given.
const defaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

// newLogsCommand returns `podrun logs`: kubectl logs over the CRI log
// files of the state directory, for every container instance that ran,
// until the pod is deleted.
func newLogsCommand(g *globalOptions, streams Streams) *cobra.Command {
	return logsCommand(g, streams, clock.RealClock{})
}

// logsCommand is newLogsCommand with the clock that --since counts from.
func logsCommand(g *globalOptions, streams Streams, clk clock.Clock) *cobra.Command {
	o := &logsOptions{}
	cmd := &cobra.Command{
		Use:   "logs POD [CONTAINER] [-c CONTAINER] [--previous] [-f] [--timestamps] [--tail N] [--since D] [--all-containers] [--prefix]",
		Short: "Print the logs of a container of a pod, as kubectl logs does",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, name := podKind, args[0]
			if typ, n, ok := strings.Cut(name, "/"); ok {
				k, err := kindOf(typ)
				if err != nil || k == eventKind {
					return InputError(fmt.Errorf("cannot get the logs of %q: pods and Jobs have logs", typ))
				}
				kind, name = k, n
			}
			if len(args) == 2 {
				if o.container != "" {
					return InputError(errors.New("only one of -c or an inline [CONTAINER] arg is allowed"))
				}
				o.container = args[1]
			}
			if o.allContainers && o.container != "" {
				return InputError(fmt.Errorf("--all-containers=true should not be specified with container name %s", o.container))
			}
			if o.tail < -1 {
				return InputError(errors.New("--tail must be greater than or equal to -1"))
			}
			if o.podRunningTimeout <= 0 {
				return InputError(errors.New("--pod-running-timeout must be higher than zero"))
			}
			if cmd.Flags().Changed("since") && o.since <= 0 {
				return InputError(errors.New("--since must be greater than 0"))
			}
			v, err := openViewer(g, streams, clk)
			if err != nil {
				return err
			}
			if kind == jobKind {
				if name, err = v.jobPodForLogs(cmd.Context(), o.namespace, name); err != nil {
					return reportErrors(streams.ErrOut, []error{err})
				}
			}
			return v.logs(cmd.Context(), o, name)
		},
	}
	addNamespaceFlags(cmd, &o.namespace, nil)
	cmd.Flags().StringVarP(&o.container, "container", "c", "", "print the logs of this container")
	cmd.Flags().BoolVarP(&o.previous, "previous", "p", false, "print the logs of the previous instance of the container")
	cmd.Flags().BoolVarP(&o.follow, "follow", "f", false, "stream the logs until the container exits")
	cmd.Flags().BoolVar(&o.timestamps, "timestamps", false, "prefix each line with its RFC3339Nano timestamp")
	cmd.Flags().IntVar(&o.tail, "tail", -1, "lines of the end of the log to show; -1 for all")
	cmd.Flags().DurationVar(&o.since, "since", 0, "only lines newer than this duration, like 5s, 2m or 3h")
	cmd.Flags().BoolVar(&o.allContainers, "all-containers", false, "print the logs of every container: init containers first")
	cmd.Flags().BoolVar(&o.prefix, "prefix", false, "prefix each line with [pod/NAME/CONTAINER]")
	cmd.Flags().DurationVar(&o.podRunningTimeout, "pod-running-timeout", 20*time.Second, "with -f, how long to wait for a container that has not started yet")
	return cmd
}

// jobPodForLogs picks the pod of the Job ns/name whose logs kubectl logs
// job/NAME shows: the first of its pods in kubectl's logging order, with a
// note when there are several.
func (v *viewer) jobPodForLogs(ctx context.Context, ns, name string) (string, error) {
	job, err := v.s.GetJob(ctx, ns, name)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		return "", notFound(jobKind, name)
	}
	if err != nil {
		return "", err
	}
	sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil || job.Spec.Selector == nil {
		return "", fmt.Errorf("cannot get the logs of job/%s: no pod selector", name)
	}
	all, err := v.s.ListPods(ctx, ns)
	if err != nil {
		return "", err
	}
	var pods []*corev1.Pod
	for _, p := range all {
		if sel.Matches(labels.Set(p.Labels)) {
			pods = append(pods, p)
		}
	}
	if len(pods) == 0 {
		return "", fmt.Errorf("no pods of job/%s found", name)
	}
	sort.Sort(podutils.ByLogging(pods))
	if len(pods) > 1 {
		fmt.Fprintf(v.streams.ErrOut, "Found %d pods, using pod/%s\n", len(pods), pods[0].Name)
	}
	return pods[0].Name, nil
}

// logSource is one container instance's log file.
type logSource struct {
	container string
	path      string // empty: the instance wrote no file
	// runningID is the ID of the instance when it is running (and so can
	// be followed), else empty.
	runningID string
}

// logs prints the logs of the chosen containers of the pod ns/name.
func (v *viewer) logs(ctx context.Context, o *logsOptions, name string) error {
	var changes <-chan store.Change
	if o.follow { // before reading the pod, so that no exit is missed
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var err error
		if changes, err = v.s.Watch(wctx, o.namespace); err != nil {
			return err
		}
	}
	pod, err := v.s.GetPod(ctx, o.namespace, name)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		return reportErrors(v.streams.ErrOut, []error{notFound(podKind, name)})
	}
	if err != nil {
		return err
	}
	v.adopt(ctx, pod)
	names, err := chooseContainers(pod, o, v.streams.ErrOut)
	if err != nil {
		return reportErrors(v.streams.ErrOut, []error{err})
	}
	out := &lineWriter{w: v.streams.Out}
	var since time.Time
	if o.since > 0 {
		since = v.clock.Now().Add(-o.since)
	}
	// In order, as kubectl reads them one after the other: a container
	// without logs stops the command after the ones before it.
	var live []logSource
	w := &startWaiter{v: v, o: o, changes: changes}
	defer w.stop()
	for _, c := range names {
		var src logSource
		src, pod, err = w.source(ctx, pod, c)
		if err != nil {
			return reportErrors(v.streams.ErrOut, []error{err})
		}
		if o.follow && src.runningID != "" && src.path != "" {
			live = append(live, src)
			continue
		}
		if err := printLog(out, pod.Name, src, o, since); err != nil {
			return err
		}
	}
	if len(live) == 0 {
		return nil
	}
	return v.follow(ctx, changes, pod, live, out, o, since)
}

// chooseContainers returns the containers whose logs o asks for, as kubectl
// picks them: all (init containers first), the named one, the default
// container annotation, or the first container with a note on errOut.
func chooseContainers(pod *corev1.Pod, o *logsOptions, errOut io.Writer) ([]string, error) {
	all := func(cs []corev1.Container) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Name)
		}
		return out
	}
	if o.allContainers {
		return append(all(pod.Spec.InitContainers), all(pod.Spec.Containers)...), nil
	}
	name := o.container
	if name == "" {
		name = pod.Annotations[defaultContainerAnnotation]
	}
	if name == "" {
		if len(pod.Spec.Containers) == 0 {
			return nil, fmt.Errorf("pod %s/%s does not have any containers", pod.Namespace, pod.Name)
		}
		name = pod.Spec.Containers[0].Name
		if len(pod.Spec.Containers) > 1 || len(pod.Spec.InitContainers) > 0 {
			fmt.Fprintf(errOut, "Defaulted container %q out of: %s\n", name, allContainerNames(pod))
		}
	}
	if !slices.Contains(all(pod.Spec.Containers), name) && !slices.Contains(all(pod.Spec.InitContainers), name) {
		return nil, fmt.Errorf("container %s is not valid for pod %s out of: %s", name, pod.Name, allContainerNames(pod))
	}
	return []string{name}, nil
}

// allContainerNames lists the containers as kubectl does: regular ones,
// then init containers marked "(init)".
func allContainerNames(pod *corev1.Pod) string {
	var names []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.InitContainers {
		names = append(names, c.Name+" (init)")
	}
	return strings.Join(names, ", ")
}

// startWaiter waits, for logs -f, for containers that have not started
// yet, as kubectl logs -f retries: each refusal is printed and the next
// change of the pod tries again, until --pod-running-timeout.
type startWaiter struct {
	v       *viewer
	o       *logsOptions
	changes <-chan store.Change
	timer   clock.Timer // armed at the first refusal
}

// source returns the log source of container in pod (or in the pod as it
// is once the container started) and that pod.
func (w *startWaiter) source(ctx context.Context, pod *corev1.Pod, container string) (logSource, *corev1.Pod, error) {
	for {
		src, err := w.v.logSource(pod, container, w.o.previous)
		var se *serverError
		if err == nil || !w.o.follow || !errors.As(err, &se) || !strings.Contains(se.message, " is waiting to start") {
			return src, pod, err
		}
		fmt.Fprintln(w.v.streams.ErrOut, se.message)
		if w.timer == nil {
			w.timer = w.v.clock.NewTimer(w.o.podRunningTimeout)
		}
		if pod, err = w.nextPod(ctx, pod); err != nil {
			return logSource{}, nil, err
		}
	}
}

// nextPod waits for the next change of pod and returns it.
func (w *startWaiter) nextPod(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	for {
		select {
		case <-w.timer.C():
			return nil, context.DeadlineExceeded
		case <-ctx.Done():
			return nil, ctx.Err()
		case c, ok := <-w.changes:
			if !ok {
				return nil, ctx.Err()
			}
			if !c.Resync && (c.Kind != store.Pods || c.Name != pod.Name) {
				continue
			}
		}
		cur, err := w.v.s.GetPod(ctx, pod.Namespace, pod.Name)
		if errors.Is(err, store.ErrNotFound) || (err == nil && cur.UID != pod.UID) {
			return nil, notFound(podKind, pod.Name)
		}
		return cur, err
	}
}

// stop releases the timer.
func (w *startWaiter) stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

// logSource chooses the instance of container whose log to print, with the
// kubelet's rules and messages (validateContainerLogStatus): the current
// instance, or the last terminated one while the next has not started;
// with previous, the last terminated instance.
func (v *viewer) logSource(pod *corev1.Pod, container string, previous bool) (logSource, error) {
	badRequest := func(format string, a ...any) error {
		return &serverError{reason: "BadRequest", message: fmt.Sprintf(format, a...)}
	}
	st := containerStatus(pod, container)
	if st == nil {
		return logSource{}, badRequest("container %q in pod %q is waiting to start: ContainerCreating", container, pod.Name)
	}
	files, err := logFiles(filepath.Join(v.s.LogDir(pod.Namespace, pod.Name, logUID(pod)), container))
	if err != nil {
		return logSource{}, err
	}
	// current is the instance the status shows (running or terminated);
	// while the next one waits, the newest file is the last terminated.
	src := logSource{container: container}
	nth := func(fromEnd int) string {
		if len(files) < fromEnd {
			return ""
		}
		return files[len(files)-fromEnd]
	}
	last := st.LastTerminationState.Terminated
	switch {
	case previous:
		if last == nil {
			return logSource{}, badRequest("previous terminated container %q in pod %q not found", container, pod.Name)
		}
		if st.State.Running != nil || st.State.Terminated != nil {
			src.path = nth(2)
		} else {
			src.path = nth(1)
		}
	case st.State.Running != nil:
		src.path, src.runningID = nth(1), st.ContainerID
	case st.State.Terminated != nil || last != nil:
		src.path = nth(1)
	case st.State.Waiting != nil:
		switch reason := st.State.Waiting.Reason; reason {
		case "ErrImagePull":
			return logSource{}, badRequest("container %q in pod %q is waiting to start: image can't be pulled", container, pod.Name)
		case "ImagePullBackOff":
			return logSource{}, badRequest("container %q in pod %q is waiting to start: trying and failing to pull image", container, pod.Name)
		default:
			return logSource{}, badRequest("container %q in pod %q is waiting to start: %v", container, pod.Name, reason)
		}
	default:
		return logSource{}, badRequest("container %q in pod %q is waiting to start - no logs yet", container, pod.Name)
	}
	return src, nil
}

// logUID is the UID in the name of the pod's log directory: the pod's, or
// for a pod stored without one the stand-in the podworker uses.
func logUID(pod *corev1.Pod) types.UID {
	if pod.UID != "" {
		return pod.UID
	}
	return types.UID(pod.Namespace + "-" + strings.ToLower(pod.Name))
}

// containerStatus returns the status of the named init or regular
// container, nil if the pod reports none.
func containerStatus(pod *corev1.Pod, name string) *corev1.ContainerStatus {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// logFiles returns the paths of the N.log files in dir by attempt N.
func logFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("container logs %s: %w", dir, err)
	}
	type file struct {
		n    int
		path string
	}
	var files []file
	for _, e := range entries {
		n, err := strconv.Atoi(strings.TrimSuffix(e.Name(), ".log"))
		if err != nil || !strings.HasSuffix(e.Name(), ".log") {
			continue
		}
		files = append(files, file{n, filepath.Join(dir, e.Name())})
	}
	slices.SortFunc(files, func(a, b file) int { return a.n - b.n })
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.path
	}
	return out, nil
}

// printLog prints the part of src's log that o selects.
func printLog(out *lineWriter, pod string, src logSource, o *logsOptions, since time.Time) error {
	if src.path == "" {
		return nil
	}
	entries, err := logs.ReadFile(src.path, logs.Options{Tail: o.tail, Since: since})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		out.entry(pod, src.container, e, o)
	}
	return nil
}
