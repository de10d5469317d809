// Package features holds the lifecycle feature gates of the Kubernetes
// release podrun emulates (1.37) with that release's defaults and stages,
// and parses --feature-gates the way the kubelet and the API server do.
//
// Gates is a value: there is no process-wide gate registry. Build one with
// Default or Parse and pass it down to whoever needs a decision:
//
//	gates, err := features.Parse("ContainerRestartRules=false")
//	if gates.Enabled(features.ContainerRestartRules) { ... }
package features
