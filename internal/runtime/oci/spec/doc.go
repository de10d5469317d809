// Package spec translates one container of a pod into an OCI runtime
// config (config.json), as the kubelet and containerd together would.
//
// The translation is pure: Generate reads only its Input — the defaulted
// pod, the container, the image config, the ConfigMaps and Secrets of the
// apply set, node facts, sandbox namespace paths, resolved volume mounts
// and host file paths. It reads no file, environment variable or clock;
// imports_test.go enforces that.
package spec
