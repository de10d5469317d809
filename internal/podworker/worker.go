package podworker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"

	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/runtime"
)

// Config is everything one Worker needs. Pod, Runtime, Images, Store and
// Clock are required.
type Config struct {
	// Pod is the defaulted, validated pod; the worker keeps its own copy.
	Pod     *corev1.Pod
	Runtime runtime.Runtime
	Images  Images
	// Hooks runs lifecycle hooks; nil runs exec hooks through Runtime and
	// sleep actions on Clock (NewHooks).
	Hooks Hooks
	// Prober supplies probe results; nil means no probe ever reports.
	Prober Prober
	Store  Store
	Clock  clock.WithTicker
	// Settings are the node settings (lifecycle.DefaultSettings()).
	Settings lifecycle.Settings
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
	// NodeName names the node in events and status ("localhost" if empty).
	NodeName string
	// LogDir receives the containers' log files.
	LogDir string
	// ConfigMaps and Secrets are the objects of the pod's apply set.
	ConfigMaps map[string]*corev1.ConfigMap
	Secrets    map[string]*corev1.Secret
	// Resume, when set, continues a pod that another worker drove until
	// its process died: the worker starts from this state (an empty
	// Checkpoint if none was saved) and re-observes the pod's sandboxes
	// and containers in the runtime (Runtime.ListPodSandbox) instead of
	// starting the pod afresh.
	Resume *Checkpoint
	// Plan and Status override the planner (tests only); nil uses
	// lifecycle.Plan and lifecycle.Status.
	Plan   PlanFunc
	Status StatusFunc
}

// Worker is the executor of one pod. Run drives it in one goroutine that
// owns the pod; Delete, Status, Record and Done are safe to call from any
// goroutine.
type Worker struct {
	pod      *corev1.Pod
	rt       runtime.Runtime
	images   Images
	hooks    Hooks
	prober   Prober
	store    Store
	clock    clock.WithTicker
	log      *slog.Logger
	node     string
	logDir   string
	cms      map[string]*corev1.ConfigMap
	secrets  map[string]*corev1.Secret
	planFn   PlanFunc
	statusFn StatusFunc

	// Owned by the worker goroutine (or a test calling step).
	obs      lifecycle.Observed
	rec      *recorder
	wakeAt   time.Time
	finished bool
	started  bool
	record   Record
	// backOffSeen marks attempts for which a BackOff event was emitted.
	backOffSeen map[string]bool
	// probeFailures counts the Unhealthy events emitted per instance/kind.
	probeFailures map[string]int
	// watched holds the container IDs with a WaitContainer goroutine.
	watched map[string]bool
	// hookCancel cancels running hook goroutines by container ID.
	hookCancel map[string]context.CancelFunc
	// resuming is set until the first step of a worker that continues
	// another's pod reconciled with the runtime (resume.go); carried
	// holds the instances that predate it, whose probe results carry
	// over until the prober reports its own.
	resuming bool
	carried  map[string]bool

	events   chan Event
	deletes  chan *int64
	done     chan struct{}
	wg       sync.WaitGroup // goroutines started by the worker
	bg       context.Context
	bgCancel context.CancelFunc

	mu        sync.Mutex // guards published and pubRecord
	published corev1.PodStatus
	pubRecord Record
}

// New returns a worker for cfg.Pod. It does nothing until Run (or step).
// With cfg.Resume it continues from that state (see resume.go's
// Worker.resume): no Scheduled event again once the pod had started, and
// its first step reconciles with the runtime before it plans.
func New(cfg Config) *Worker {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	node := cfg.NodeName
	if node == "" {
		node = "localhost"
	}
	pod := cfg.Pod.DeepCopy()
	if pod.Namespace == "" {
		pod.Namespace = metav1.NamespaceDefault
	}
	w := &Worker{
		pod: pod, rt: cfg.Runtime, images: cfg.Images, hooks: cfg.Hooks, prober: cfg.Prober,
		store: cfg.Store, clock: cfg.Clock, node: node, logDir: cfg.LogDir,
		cms: cfg.ConfigMaps, secrets: cfg.Secrets, planFn: cfg.Plan, statusFn: cfg.Status,
		log:           log.With("pod", pod.Namespace+"/"+pod.Name),
		obs:           lifecycle.Observed{Settings: cfg.Settings, Containers: map[string]*lifecycle.ContainerObservation{}},
		backOffSeen:   map[string]bool{},
		probeFailures: map[string]int{},
		watched:       map[string]bool{},
		hookCancel:    map[string]context.CancelFunc{},
		carried:       map[string]bool{},
		events:        make(chan Event, 16),
		deletes:       make(chan *int64, 4),
		done:          make(chan struct{}),
	}
	if w.obs.Settings.MaxContainerRestartPeriod == 0 {
		w.obs.Settings.MaxContainerRestartPeriod = lifecycle.MaxBackoff
	}
	if w.hooks == nil {
		w.hooks = NewHooks(cfg.Runtime, cfg.Clock)
	}
	if w.prober == nil {
		w.prober = noProber{}
	}
	if w.planFn == nil {
		w.planFn = defaultPlan
	}
	if w.statusFn == nil {
		w.statusFn = lifecycle.Status
	}
	w.rec = newRecorder(pod, node)
	w.record = Record{Namespace: pod.Namespace, Name: pod.Name, UID: string(pod.UID), Node: node,
		Containers: buildContainers(pod, &w.obs)}
	w.pubRecord = cloneRecord(w.record)
	if cfg.Resume != nil {
		w.restore(cfg.Resume)
	}
	w.bg, w.bgCancel = context.WithCancel(context.Background())
	return w
}

// Run drives the pod until it has terminated (returns nil) or ctx ends
// (returns ctx's error). Cancelling ctx stops supervising: containers are
// left running for a later worker to adopt. To kill the pod, call Delete
// and wait for Done. Run may be called once; Done is closed when it
// returns, after every goroutine it started has ended.
func (w *Worker) Run(ctx context.Context) error {
	defer close(w.done)
	w.bgCancel() // the context New made for step-driven use
	w.bg, w.bgCancel = context.WithCancel(ctx)
	defer w.wg.Wait()
	defer func() { w.bgCancel() }()
	ev := Event{Kind: EventStart}
	var timer clock.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if err := w.step(w.bg, ev); err != nil {
			return err
		}
		if w.finished {
			return nil
		}
		w.watchExits()
		var fire <-chan time.Time
		if timer != nil {
			timer.Stop()
			timer = nil
		}
		if !w.wakeAt.IsZero() {
			d := w.wakeAt.Sub(w.clock.Now())
			if d <= 0 {
				// Already due: step again at once (a fake clock would not
				// fire a zero timer until stepped).
				ev = Event{Kind: EventTimer}
				continue
			}
			timer = w.clock.NewTimer(d)
			fire = timer.C()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev = <-w.events:
		case <-fire:
			ev = Event{Kind: EventTimer}
		case <-w.prober.Updates():
			ev = Event{Kind: EventProbe}
		case g := <-w.deletes:
			ev = Event{Kind: EventDelete, Grace: g}
		}
	}
}

// Delete asks the worker to delete the pod: its termination starts with
// grace (nil: the pod's terminationGracePeriodSeconds), in the kubelet's
// order. It does not block; wait for Done.
func (w *Worker) Delete(grace *int64) {
	select {
	case w.deletes <- grace:
	case <-w.done:
	}
}

// Done is closed when Run has returned.
func (w *Worker) Done() <-chan struct{} { return w.done }

// Status returns the last published pod status.
func (w *Worker) Status() corev1.PodStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	return *w.published.DeepCopy()
}

// Record returns a copy of the run record as last published.
func (w *Worker) Record() Record {
	w.mu.Lock()
	defer w.mu.Unlock()
	return cloneRecord(w.pubRecord)
}

// Pod returns a copy of the worker's pod with the last published status.
func (w *Worker) Pod() *corev1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.pod.DeepCopy()
	p.Status = *w.published.DeepCopy()
	return p
}

// send delivers ev to the worker loop unless the worker is stopping.
func (w *Worker) send(ctx context.Context, ev Event) {
	select {
	case w.events <- ev:
	case <-ctx.Done():
	}
}

// watchExits starts one WaitContainer goroutine per running attempt that
// has none; each ends when its container exits or the worker stops.
func (w *Worker) watchExits() {
	for name, co := range w.obs.Containers {
		a := co.Current()
		if a == nil || a.State != lifecycle.AttemptRunning || w.watched[a.ID] {
			continue
		}
		w.watched[a.ID] = true
		id, name := a.ID, name
		ctx := w.bg
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			_, err := w.rt.WaitContainer(ctx, id)
			if ctx.Err() != nil {
				return
			}
			w.send(ctx, Event{Kind: EventExit, Container: name, ContainerID: id, Err: err})
		}()
	}
}

func cloneRecord(r Record) Record {
	out := r
	out.Containers = make([]ContainerRecord, len(r.Containers))
	for i, c := range r.Containers {
		c.Attempts = append([]AttemptRecord(nil), c.Attempts...)
		out.Containers[i] = c
	}
	// Kill and PostStart are rebuilt on every publish, never modified in
	// place, so sharing them is safe.
	out.StatusHistory = append([]StatusChange(nil), r.StatusHistory...)
	out.Events = append([]EventRecord(nil), r.Events...)
	return out
}

// errorf names the pod in an error.
func (w *Worker) errorf(format string, args ...any) error {
	return fmt.Errorf("pod %q: %w", w.pod.Namespace+"/"+w.pod.Name, fmt.Errorf(format, args...))
}
