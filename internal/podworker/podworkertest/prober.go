package podworkertest

import (
	"maps"
	"sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/podworker"
)

var _ podworker.Prober = (*Prober)(nil)

// Prober is a podworker.Prober whose results the test sets by container
// name; they apply to the container's current instance.
type Prober struct {
	mu      sync.Mutex
	targets map[string]string // container name -> tracked container ID
	results map[string]podworker.ProbeResults
	updates chan struct{}
}

// NewProber returns a prober with no results.
func NewProber() *Prober {
	return &Prober{targets: map[string]string{}, results: map[string]podworker.ProbeResults{}, updates: make(chan struct{}, 1)}
}

// Track records the instances the worker wants probed; a new instance
// with a Seed starts from the seeded results.
func (p *Prober) Track(pod *corev1.Pod, targets []podworker.ProbeTarget) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range targets {
		if p.targets[t.Container.Name] != t.ContainerID {
			p.targets[t.Container.Name] = t.ContainerID
			delete(p.results, t.ContainerID)
			if t.Seed != nil {
				p.results[t.ContainerID] = podworker.ProbeResults{Startup: t.Seed.Startup, Liveness: t.Seed.Liveness, Readiness: t.Seed.Readiness}
			}
		}
	}
}

// Set sets one result of the current instance of container and signals
// Updates.
func (p *Prober) Set(container string, kind podworker.ProbeKind, r lifecycle.ProbeResult) {
	p.update(container, func(res *podworker.ProbeResults) {
		switch kind {
		case podworker.ProbeStartup:
			res.Startup = r
		case podworker.ProbeLiveness:
			res.Liveness = r
		case podworker.ProbeReadiness:
			res.Readiness = r
		}
	})
}

// Fail counts one failed run of a probe of the current instance of
// container with its output (an Unhealthy event) and signals Updates.
func (p *Prober) Fail(container string, kind podworker.ProbeKind, output string) {
	p.update(container, func(res *podworker.ProbeResults) {
		failed, out := maps.Clone(res.Failed), maps.Clone(res.Output)
		if failed == nil {
			failed, out = map[podworker.ProbeKind]int{}, map[podworker.ProbeKind]string{}
		}
		failed[kind]++
		out[kind] = output
		res.Failed, res.Output = failed, out
	})
}

// update changes the results of container's current instance.
func (p *Prober) update(container string, fn func(*podworker.ProbeResults)) {
	p.mu.Lock()
	id := p.targets[container]
	res := p.results[id]
	fn(&res)
	p.results[id] = res
	p.mu.Unlock()
	select {
	case p.updates <- struct{}{}:
	default:
	}
}

// Tracked returns the container ID tracked for name.
func (p *Prober) Tracked(name string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.targets[name]
}

// Results returns the results of an instance.
func (p *Prober) Results(containerID string) podworker.ProbeResults {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.results[containerID]
}

// Updates fires after Set.
func (p *Prober) Updates() <-chan struct{} { return p.updates }
