package main

import (
	"fmt"
	"os"
	"strings"
)

// sidecarCmd is the sidecar's command (and P4's main command): a shell
// that exits at once on SIGTERM. The shell is PID 1 of its container, for which the kernel drops
// signals without a handler, hence the trap; `sleep & wait` keeps the
// trap from waiting for a foreground sleep to end.
const sidecarCmd = `["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`

// benchPod is the benchmark pod: a trivial init container, a native
// sidecar and a main container running mainCmd (a JSON array).
func benchPod(name, mainCmd string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  restartPolicy: Never
  initContainers:
  - name: init
    image: busybox
    imagePullPolicy: Never
    command: ["true"]
  - name: sidecar
    image: busybox
    imagePullPolicy: Never
    restartPolicy: Always
    command: %s
  containers:
  - name: main
    image: busybox
    imagePullPolicy: Never
    command: %s
`, name, sidecarCmd, mainCmd)
}

// writeManifest writes the pods (one YAML document each) to path.
func writeManifest(path string, pods ...string) error {
	if err := os.WriteFile(path, []byte(strings.Join(pods, "---\n")), 0o644); err != nil {
		return fmt.Errorf("write manifest %s: %w", path, err)
	}
	return nil
}
