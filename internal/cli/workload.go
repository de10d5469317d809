package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/features"
	"github.com/podrun/podrun/internal/lifecycle"
	"github.com/podrun/podrun/internal/manifest"
)

// workload is a validated manifest set to run, with the node settings the
// flags give.
type workload struct {
	set      *manifest.Set
	pods     []*corev1.Pod
	jobs     []*batchv1.Job
	gates    features.Gates
	settings lifecycle.Settings
}

// loadWorkload reads, defaults and validates the Pods and Jobs of files
// for verb (run, apply), as the API server would on create, and derives
// the node settings from the feature gates and the back-off ceiling. Every
// failure is bad input (exit 2) and nothing has been started.
func loadWorkload(verb string, g *globalOptions, streams Streams, files []string, maxRestartBackoff time.Duration) (*workload, error) {
	if len(files) == 0 {
		return nil, InputError(errors.New("must specify -f FILE (a file, a directory or - for stdin)"))
	}
	if maxRestartBackoff < time.Second || maxRestartBackoff > lifecycle.MaxBackoff {
		return nil, InputError(fmt.Errorf("--max-restart-backoff must be between 1s and 300s, not %s", maxRestartBackoff))
	}
	gates := g.gates
	mopts := manifest.Options{Gates: gates}
	set, err := manifest.Load(files, streams.In, mopts)
	if err != nil {
		return nil, InputError(err)
	}
	if err := set.Validate(mopts); err != nil {
		return nil, InputError(err)
	}
	w := &workload{set: set, pods: set.Pods(), jobs: set.Jobs(), gates: gates, settings: lifecycle.DefaultSettings()}
	if len(w.pods)+len(w.jobs) == 0 {
		return nil, InputError(fmt.Errorf("%s: no Pod or Job to %s", strings.Join(files, ", "), verb))
	}
	w.settings.MaxContainerRestartPeriod = maxRestartBackoff
	w.settings.ContainerRestartRules = gates.Enabled(features.ContainerRestartRules)
	w.settings.RestartAllContainersOnContainerExits = gates.Enabled(features.RestartAllContainersOnContainerExits)
	w.settings.SidecarsRestartableDuringPodTermination = gates.Enabled(features.SidecarsRestartableDuringPodTermination)
	return w, nil
}
