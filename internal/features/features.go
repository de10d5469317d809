package features

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// The lifecycle feature gates podrun knows, by their upstream names.
const (
	// SidecarContainers enables restartable init containers (KEP-753).
	SidecarContainers = "SidecarContainers"
	// ContainerRestartRules enables container-level restartPolicy and
	// restartPolicyRules (KEP-5307).
	ContainerRestartRules = "ContainerRestartRules"
	// RestartAllContainersOnContainerExits enables the RestartAllContainers
	// action of restartPolicyRules (KEP-5532).
	RestartAllContainersOnContainerExits = "RestartAllContainersOnContainerExits"
	// SidecarsRestartableDuringPodTermination lets sidecars restart while
	// the pod terminates (KEP-4438).
	SidecarsRestartableDuringPodTermination = "SidecarsRestartableDuringPodTermination"
	// PodLifecycleSleepAction enables the sleep lifecycle handler (KEP-3960).
	PodLifecycleSleepAction = "PodLifecycleSleepAction"
	// PodLifecycleSleepActionAllowZero allows sleep.seconds = 0 (KEP-4818).
	PodLifecycleSleepActionAllowZero = "PodLifecycleSleepActionAllowZero"
	// ContainerStopSignals enables lifecycle.stopSignal (KEP-4960).
	ContainerStopSignals = "ContainerStopSignals"
	// KubeletCrashLoopBackOffMax makes the crash-loop back-off ceiling
	// configurable per node (KEP-5593).
	KubeletCrashLoopBackOffMax = "KubeletCrashLoopBackOffMax"
	// ReduceDefaultCrashLoopBackoffDecay lowers the crash-loop back-off to
	// 1 s initial, 60 s ceiling (KEP-4603).
	ReduceDefaultCrashLoopBackoffDecay = "ReduceDefaultCrashLoopBackoffDecay"
	// PodReadyToStartContainersCondition enables the
	// PodReadyToStartContainers pod condition (KEP-3085).
	PodReadyToStartContainersCondition = "PodReadyToStartContainersCondition"
)

// Stage is a feature's maturity in the emulated release.
type Stage string

// The stages a gate can be in, as component-base names alpha and beta.
const (
	Alpha Stage = "ALPHA"
	Beta  Stage = "BETA"
	GA    Stage = "GA"
)

// Spec describes one gate in the emulated release.
type Spec struct {
	// Default is the value when nothing sets the gate.
	Default bool
	// Stage is the gate's maturity.
	Stage Stage
	// LockToDefault forbids setting the gate to anything but Default.
	LockToDefault bool
	// DependsOn lists gates that must be enabled while this one is.
	DependsOn []string
}

// specs are the 1.37 stages and defaults. Sources: kubernetes/website
// feature-gate pages and kubernetes/enhancements kep.yaml files; §17 of
// SEMANTICS.md for ContainerRestartRules (beta, on, verified on 1.37.2).
// ContainerStopSignals missed the 1.37 beta code freeze
// (kubernetes/enhancements#4960) and is still alpha.
func specs() map[string]Spec {
	return map[string]Spec{
		SidecarContainers:                       {Default: true, Stage: GA, LockToDefault: true},
		ContainerRestartRules:                   {Default: true, Stage: Beta},
		RestartAllContainersOnContainerExits:    {Default: false, Stage: Alpha, DependsOn: []string{ContainerRestartRules}},
		SidecarsRestartableDuringPodTermination: {Default: false, Stage: Alpha},
		PodLifecycleSleepAction:                 {Default: true, Stage: GA, LockToDefault: true},
		PodLifecycleSleepActionAllowZero:        {Default: true, Stage: GA, LockToDefault: true},
		ContainerStopSignals:                    {Default: false, Stage: Alpha},
		KubeletCrashLoopBackOffMax:              {Default: false, Stage: Alpha},
		ReduceDefaultCrashLoopBackoffDecay:      {Default: false, Stage: Alpha},
		PodReadyToStartContainersCondition:      {Default: true, Stage: GA, LockToDefault: true},
	}
}

// Known returns the names of every gate podrun knows, sorted.
func Known() []string {
	s := specs()
	names := make([]string, 0, len(s))
	for name := range s {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// SpecOf returns the specification of gate name and whether it is known.
func SpecOf(name string) (Spec, bool) {
	s, ok := specs()[name]
	return s, ok
}

// Gates is a set of feature-gate values. The zero value holds the release
// defaults; Gates is immutable and safe to copy and share.
type Gates struct {
	// overrides holds the values set explicitly; nil means none.
	overrides map[string]bool
}

// Default returns the gates of the emulated release with their defaults.
func Default() Gates { return Gates{} }

// Enabled reports whether gate name is on. An unknown name is off.
func (g Gates) Enabled(name string) bool {
	if v, ok := g.overrides[name]; ok {
		return v
	}
	s, ok := specs()[name]
	return ok && s.Default
}

// With returns a copy of g with gate name set to value, or an error
// if the gate is unknown or locked to its default.
func (g Gates) With(name string, value bool) (Gates, error) {
	s, ok := specs()[name]
	if !ok {
		return g, fmt.Errorf("unrecognized feature gate: %s", name)
	}
	if s.LockToDefault && value != s.Default {
		return g, fmt.Errorf("cannot set feature gate %s to %v, feature is locked to %v", name, value, s.Default)
	}
	out := Gates{overrides: make(map[string]bool, len(g.overrides)+1)}
	for k, v := range g.overrides {
		out.overrides[k] = v
	}
	out.overrides[name] = value
	return out, nil
}

// Parse reads a --feature-gates value, "Name=true,Other=false", on top of
// the release defaults, as the kubelet does: names are case-sensitive,
// values are Go booleans, an unknown name or a locked gate set away from
// its default is an error, and so is a gate enabled while a gate it
// depends on is disabled. The keys AllAlpha and AllBeta set every
// unlocked alpha or beta gate before the named ones apply. An empty
// string gives the defaults.
func Parse(s string) (Gates, error) {
	g := Default()
	if strings.TrimSpace(s) == "" {
		return g, nil
	}
	values := map[string]bool{}
	var order []string
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok {
			return Default(), fmt.Errorf("missing bool value for %s", k)
		}
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return Default(), fmt.Errorf("invalid value of %s=%s, err: %w", k, strings.TrimSpace(v), err)
		}
		if _, seen := values[k]; !seen {
			order = append(order, k)
		}
		values[k] = b
	}
	// AllAlpha / AllBeta first, so that named gates override them.
	for _, all := range []struct {
		key   string
		stage Stage
	}{{"AllAlpha", Alpha}, {"AllBeta", Beta}} {
		v, ok := values[all.key]
		if !ok {
			continue
		}
		for _, name := range Known() {
			s := specs()[name]
			if s.Stage == all.stage && !s.LockToDefault {
				if _, named := values[name]; named {
					continue
				}
				var err error
				if g, err = g.With(name, v); err != nil {
					return Default(), err
				}
			}
		}
	}
	for _, k := range order {
		if k == "AllAlpha" || k == "AllBeta" {
			continue
		}
		var err error
		if g, err = g.With(k, values[k]); err != nil {
			return Default(), err
		}
	}
	if err := g.checkDependencies(); err != nil {
		return Default(), err
	}
	return g, nil
}

func (g Gates) checkDependencies() error {
	for _, name := range Known() {
		if !g.Enabled(name) {
			continue
		}
		var missing []string
		for _, dep := range specs()[name].DependsOn {
			if !g.Enabled(dep) {
				missing = append(missing, dep)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("%s is enabled, but depends on features: %s", name, strings.Join(missing, ", "))
		}
	}
	return nil
}

// String renders the gates that differ from the defaults as a
// --feature-gates value, sorted by name; "" when none differ.
func (g Gates) String() string {
	var parts []string
	for _, name := range Known() {
		if v, ok := g.overrides[name]; ok && v != specs()[name].Default {
			parts = append(parts, fmt.Sprintf("%s=%t", name, v))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}
