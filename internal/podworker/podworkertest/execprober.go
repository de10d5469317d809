package podworkertest

import (
	"context"
	"maps"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"

	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/podworker"
	"github.com/podrun/podrun/internal/runtime"
)

var _ podworker.Prober = (*ExecProber)(nil)

// ExecProber is a stand-in for the prober of the probes issue: it runs
// exec probes through Runtime.ExecSync on a clock with the kubelet's
// mechanics (SEMANTICS.md §4.2: initial results, initialDelaySeconds,
// periodSeconds, timeoutSeconds, success and failure thresholds, startup
// before liveness and readiness, only readiness while killing), counting
// failed runs for the worker's Unhealthy events. httpGet, tcpSocket and
// grpc probes never report.
// Close stops its goroutines and waits for them.
type ExecProber struct {
	rt    runtime.Runtime
	clock clock.WithTicker

	mu      sync.Mutex
	workers map[string]*probeSet // by container ID
	results map[string]podworker.ProbeResults
	updates chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// probeSet is the probe goroutines of one container instance.
type probeSet struct {
	cancel  context.CancelFunc
	killing context.CancelFunc // stops startup and liveness
}

// NewExecProber returns a prober probing through rt on clk.
func NewExecProber(rt runtime.Runtime, clk clock.WithTicker) *ExecProber {
	ctx, cancel := context.WithCancel(context.Background())
	return &ExecProber{rt: rt, clock: clk, workers: map[string]*probeSet{}, results: map[string]podworker.ProbeResults{},
		updates: make(chan struct{}, 1), ctx: ctx, cancel: cancel}
}

// Close stops every probe and waits for the goroutines.
func (p *ExecProber) Close() {
	p.cancel()
	p.wg.Wait()
}

// Updates fires after a cached result changed.
func (p *ExecProber) Updates() <-chan struct{} { return p.updates }

// Results returns the cached results of an instance.
func (p *ExecProber) Results(containerID string) podworker.ProbeResults {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.results[containerID]
}

// Track starts probes for new instances and stops those of instances no
// longer running; a killed instance keeps only its readiness probe.
func (p *ExecProber) Track(pod *corev1.Pod, targets []podworker.ProbeTarget) {
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := map[string]bool{}
	for _, t := range targets {
		seen[t.ContainerID] = true
		set, ok := p.workers[t.ContainerID]
		if !ok {
			ctx, cancel := context.WithCancel(p.ctx)
			kctx, kcancel := context.WithCancel(ctx)
			set = &probeSet{cancel: cancel, killing: kcancel}
			p.workers[t.ContainerID] = set
			c := t.Container
			init := podworker.ProbeResults{}
			if c.StartupProbe != nil {
				init.Startup = lifecycle.ProbeUnknown
				p.start(kctx, t, c.StartupProbe, "startup")
			}
			if c.LivenessProbe != nil {
				init.Liveness = lifecycle.ProbeSuccess
				p.start(kctx, t, c.LivenessProbe, "liveness")
			}
			if c.ReadinessProbe != nil {
				init.Readiness = lifecycle.ProbeFailure
				p.start(ctx, t, c.ReadinessProbe, "readiness")
			}
			if t.Seed != nil {
				// An instance that predates a resumed worker keeps its
				// results until a probe says otherwise.
				init = podworker.ProbeResults{Startup: t.Seed.Startup, Liveness: t.Seed.Liveness, Readiness: t.Seed.Readiness}
			}
			p.results[t.ContainerID] = init
		}
		if t.Killing {
			set.killing()
		}
	}
	for id, set := range p.workers {
		if !seen[id] {
			set.cancel()
			delete(p.workers, id)
		}
	}
}

// start runs one probe of one instance in a goroutine owned by p.
func (p *ExecProber) start(ctx context.Context, t podworker.ProbeTarget, probe *corev1.Probe, kind string) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.loop(ctx, t, probe, kind)
	}()
}

// loop probes every period from the instance's start, as the kubelet's
// prober worker does, until ctx ends or liveness/startup reached Failure.
// For a seeded instance (one that predates a resumed worker) it keeps
// the same schedule from the first period not yet probed — after now,
// or at now when the instance started now (the worker that started it
// died before any prober saw it) — with its counts at zero as a new
// kubelet prober worker.
func (p *ExecProber) loop(ctx context.Context, t podworker.ProbeTarget, probe *corev1.Probe, kind string) {
	period := time.Duration(max(probe.PeriodSeconds, 1)) * time.Second
	timeout := time.Duration(max(probe.TimeoutSeconds, 1)) * time.Second
	failures, successes := 0, 0
	failureThreshold, successThreshold := int(max(probe.FailureThreshold, 1)), int(max(probe.SuccessThreshold, 1))
	first := t.StartedAt
	if now := p.clock.Now(); t.Seed != nil && first.Before(now) {
		first = first.Add((now.Sub(first)/period + 1) * period)
	}
	for next := first; ; next = next.Add(period) {
		if d := next.Sub(p.clock.Now()); d > 0 {
			timer := p.clock.NewTimer(d)
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C():
			}
		}
		if ctx.Err() != nil {
			return
		}
		if p.clock.Now().Sub(t.StartedAt) < time.Duration(probe.InitialDelaySeconds)*time.Second {
			continue
		}
		started := t.Container.StartupProbe == nil || p.Results(t.ContainerID).Startup == lifecycle.ProbeSuccess
		if kind == "startup" && started {
			return
		}
		if kind != "startup" && !started {
			continue
		}
		ok, output := p.probeOnce(ctx, t.ContainerID, probe, timeout)
		if ctx.Err() != nil {
			return
		}
		if !ok {
			p.failed(t.ContainerID, kind, output)
		}
		if ok {
			successes, failures = successes+1, 0
			if successes >= successThreshold {
				p.set(t.ContainerID, kind, lifecycle.ProbeSuccess)
			}
			continue
		}
		failures, successes = failures+1, 0
		if failures >= failureThreshold {
			p.set(t.ContainerID, kind, lifecycle.ProbeFailure)
			if kind != "readiness" {
				return // the kubelet holds until a new instance appears
			}
		}
	}
}

// probeOnce runs an exec probe and returns its success and output;
// other handlers never succeed here.
func (p *ExecProber) probeOnce(ctx context.Context, id string, probe *corev1.Probe, timeout time.Duration) (bool, string) {
	if probe.Exec == nil {
		return false, "only exec probes are supported by this stand-in"
	}
	res, err := p.rt.ExecSync(ctx, id, probe.Exec.Command, timeout)
	if err != nil {
		return false, err.Error()
	}
	return res.ExitCode == 0, string(res.Stdout) + string(res.Stderr)
}

// kindOf maps the loop's probe names to ProbeKinds.
var kindOf = map[string]podworker.ProbeKind{
	"startup": podworker.ProbeStartup, "liveness": podworker.ProbeLiveness, "readiness": podworker.ProbeReadiness,
}

// failed counts a failed run of a probe and signals Updates.
func (p *ExecProber) failed(id, kind, output string) {
	p.mu.Lock()
	res := p.results[id]
	failed, out := maps.Clone(res.Failed), maps.Clone(res.Output)
	if failed == nil {
		failed, out = map[podworker.ProbeKind]int{}, map[podworker.ProbeKind]string{}
	}
	failed[kindOf[kind]]++
	out[kindOf[kind]] = output
	res.Failed, res.Output = failed, out
	p.results[id] = res
	p.mu.Unlock()
	select {
	case p.updates <- struct{}{}:
	default:
	}
}

// set caches a result and signals Updates when it changed.
func (p *ExecProber) set(id, kind string, r lifecycle.ProbeResult) {
	p.mu.Lock()
	res := p.results[id]
	old := res
	switch kind {
	case "startup":
		res.Startup = r
	case "liveness":
		res.Liveness = r
	case "readiness":
		res.Readiness = r
	}
	p.results[id] = res
	p.mu.Unlock()
	if res.Startup != old.Startup || res.Liveness != old.Liveness || res.Readiness != old.Readiness {
		select {
		case p.updates <- struct{}{}:
		default:
		}
	}
}
