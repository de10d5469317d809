package cli

import (
	"fmt"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/printers"
)

// console is what `podrun run` shows while pods run: container output
// prefixed by the container's name, and the kubectl STATUS / READY /
// RESTARTS of each pod — as a live line on a terminal, as one line per
// change otherwise. It implements local.JobWatcher.
type console struct {
	mu       sync.Mutex
	lines    *prefixWriter
	errOut   interface{ Write([]byte) (int, error) }
	live     bool
	show     bool
	statuses map[string]string // pod name -> last rendered status
	order    []string
	closed   bool
	// latest holds the newest state of every pod and Job, so that a
	// timeout can say what held the run up before termination changed it.
	latest     map[string]*corev1.Pod
	latestJobs map[string]*batchv1.Job
	// timeoutNotes explain, per pod or Job name, a timeout.
	timeoutNotes map[string]string
}

func newConsole(streams Streams, names []string, show bool) *console {
	return &console{
		lines:        newPrefixWriter(streams.Out, names),
		errOut:       streams.ErrOut,
		live:         isTerminal(streams.ErrOut),
		show:         show,
		statuses:     map[string]string{},
		latest:       map[string]*corev1.Pod{},
		latestJobs:   map[string]*batchv1.Job{},
		timeoutNotes: map[string]string{},
	}
}

// Line prints one line of a container's output.
func (c *console) Line(_ *corev1.Pod, container string, line []byte) {
	if !c.show {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLive()
	c.lines.Line(container, line)
	c.drawLive()
}

// PodChanged renders the pod's kubectl columns when they changed.
func (c *console) PodChanged(pod *corev1.Pod) {
	ready, status, restarts := printers.PodColumns(pod, time.Now())
	text := fmt.Sprintf("pod/%s %s %s restarts=%s", pod.Name, status, ready, restarts)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.latest[pod.Name] = pod
	if c.closed || c.statuses[pod.Name] == text {
		return
	}
	if _, ok := c.statuses[pod.Name]; !ok {
		c.order = append(c.order, pod.Name)
	}
	c.statuses[pod.Name] = text
	if c.live {
		c.clearLive()
		c.drawLive()
		return
	}
	fmt.Fprintf(c.errOut, "--- %s\n", text)
}

// JobChanged reports a Job's status column when it changed.
func (c *console) JobChanged(job *batchv1.Job) {
	text := fmt.Sprintf("job.batch/%s %s %s", job.Name, printers.JobStatus(job), completions(job))
	c.mu.Lock()
	defer c.mu.Unlock()
	key := "job/" + job.Name
	c.latestJobs[job.Name] = job
	if c.closed || c.statuses[key] == text {
		return
	}
	c.statuses[key] = text
	if !c.live {
		fmt.Fprintf(c.errOut, "--- %s\n", text)
	}
}

func completions(job *batchv1.Job) string {
	want := int32(1)
	if job.Spec.Completions != nil {
		want = *job.Spec.Completions
	}
	return fmt.Sprintf("%d/%d", job.Status.Succeeded, want)
}

// note prints a message of podrun's own.
func (c *console) note(msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLive()
	fmt.Fprintf(c.errOut, "podrun: %s\n", msg)
	c.drawLive()
}

// timedOut records, for every pod and Job, what held it up, then says
// that the run terminates.
func (c *console) timedOut(d time.Duration) {
	c.mu.Lock()
	for name, pod := range c.latest {
		var job *batchv1.Job
		for _, ref := range pod.OwnerReferences {
			if ref.Kind == "Job" {
				job = c.latestJobs[ref.Name]
				if job == nil {
					job = &batchv1.Job{}
					job.Name = ref.Name
				}
			}
		}
		note := timeoutNote(d, []*corev1.Pod{pod}, job)
		c.timeoutNotes[name] = note
		if job != nil {
			c.timeoutNotes["job/"+job.Name] = note
		}
	}
	c.mu.Unlock()
	c.note(fmt.Sprintf("timed out after %s: terminating", d))
}

// timeoutNote returns the explanation recorded for a pod (or "job/NAME").
func (c *console) timeoutNoteFor(name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.timeoutNotes[name]
}

// close ends the live line.
func (c *console) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.clearLive()
	c.closed = true
}

func (c *console) clearLive() {
	if c.live && !c.closed && len(c.order) > 0 {
		fmt.Fprint(c.errOut, "\r\x1b[K")
	}
}

func (c *console) drawLive() {
	if !c.live || c.closed || len(c.order) == 0 {
		return
	}
	var parts []string
	for _, name := range c.order {
		parts = append(parts, c.statuses[name])
	}
	fmt.Fprintf(c.errOut, "\x1b[2m%s\x1b[0m", strings.Join(parts, " | "))
}

// timeoutNote explains what held the run up when it timed out: an init
// container that never finished, or the containers still running after
// the regular containers ended.
func timeoutNote(d time.Duration, pods []*corev1.Pod, job *batchv1.Job) string {
	what := "the pod"
	if job != nil {
		what = "job.batch/" + job.Name
	}
	for _, pod := range pods {
		if pod == nil {
			continue
		}
		regularRan := false
		for _, s := range pod.Status.ContainerStatuses {
			if s.State.Running != nil || s.State.Terminated != nil || s.LastTerminationState.Terminated != nil {
				regularRan = true
			}
		}
		for i, s := range pod.Status.InitContainerStatuses {
			if regularRan {
				break // initialization finished; a sidecar crash-looping now held nothing up
			}
			spec := &pod.Spec.InitContainers[min(i, len(pod.Spec.InitContainers)-1)]
			done := s.State.Terminated != nil && s.State.Terminated.ExitCode == 0
			if isSidecar(spec) {
				done = s.Started != nil && *s.Started
			}
			if !done && s.State.Terminated == nil {
				kind := "init container"
				if isSidecar(spec) {
					kind = "sidecar"
				}
				return fmt.Sprintf("timed out after %s: %s %q of pod/%s never finished, so %s never started its main containers",
					d, kind, s.Name, pod.Name, what)
			}
		}
		var regularDone, running []string
		for _, s := range pod.Status.ContainerStatuses {
			if s.LastTerminationState.Terminated != nil || s.State.Terminated != nil {
				regularDone = append(regularDone, s.Name)
			}
		}
		for _, s := range pod.Status.ContainerStatuses {
			if s.LastTerminationState.Terminated == nil && s.State.Terminated == nil {
				running = append(running, s.Name)
			}
		}
		if len(regularDone) > 0 && len(running) > 0 {
			return fmt.Sprintf("timed out after %s: %s kept running after %s finished, so pod/%s never completed (a regular container, not a sidecar)",
				d, strings.Join(running, ", "), strings.Join(regularDone, ", "), pod.Name)
		}
	}
	return fmt.Sprintf("timed out after %s before %s finished", d, what)
}
