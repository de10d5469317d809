// Package e2e is podrun's end-to-end suite on a real OCI runtime (runc):
// tests only, no exported API.
//
// What it runs, each test in its own state directory with the busybox
// image built offline (internal/image/testimage) so that `image: busybox`
// resolves without a registry:
//
//   - conformance_test.go: every scenario of the conformance catalog
//     (shared/conformance, copied in internal/conformance/testdata) whose
//     features exist, through local.RunPod (harness_test.go) or
//     local.RunJob (jobs_test.go), checked against its expect block by
//     internal/conformance on the run record read from the store; the
//     others are listed in one pending table with their reason and
//     reported with t.Skip; failures diagnosed as bugs elsewhere are
//     listed as known failures (known_test.go), matched precisely, and
//     reported with t.Skip too; a known failure that stops showing fails.
//   - delete_test.go: back-end cases the catalog lacks (a second deletion
//     with a shorter grace period).
//   - lab_test.go: the three variants of the native-sidecar lab with
//     busybox stand-ins (examples/native-sidecar-lab/busybox).
//   - cli_test.go, cli_lab_test.go: the podrun binary (built by
//     TestMain): exit codes 0/1/2/3, --timeout, Ctrl-C, a second Ctrl-C,
//     -o json, --rm, and the lab as run.sh runs it (with the real
//     PostgreSQL image when PODRUN_E2E_POSTGRES names its archive).
//
// Harness adaptations of the catalog manifests (adaptSpec): containers
// without imagePullPolicy get IfNotPresent (busybox without a tag would
// default to Always and pull from Docker Hub), and the `shared` emptyDir
// of the marker file becomes a hostPath so that the marks can be read
// after the pod is gone. A run stopped by stopWhen is observed one second
// (the kubelet's PLEG period) after the condition held.
//
// Every scenario and lab variant runs in a process of its own
// (child_test.go): one OCI runtime per process, as in podrun, since the
// runtime's orphan reaper would take another runtime's container exits.
// Tests pace their starts (admit in env_test.go) so that 2 cores are not
// swamped by runc; the whole suite takes about 3 minutes.
//
// After every test, cleanup asserts that nothing is left behind: no runc
// container in the state directory's runc root, no mount under the state
// directory, no sandbox or bundle, no cgroup of the test's pods, no
// process in them; TestMain checks that no child process survives.
//
// The tests run when PODRUN_E2E=1 (hack/test.sh sets it) and are skipped
// with a message otherwise; with PODRUN_E2E=1, a missing runc, busybox or
// root is a failure.
//
//	PODRUN_E2E=1 go test ./internal/e2e/
//	PODRUN_E2E=1 go test ./internal/e2e/ -run 'TestConformance/009' -v
//	PODRUN_E2E=1 PODRUN_E2E_PENDING=1 go test ./internal/e2e/ -run TestPending -v  # pending ones, run anyway
//	PODRUN_E2E=1 PODRUN_E2E_BINARY=/path/podrun go test ./internal/e2e/ -run TestRun  # another binary
//	PODRUN_E2E=1 PODRUN_E2E_POSTGRES=/tmp/pg.tar go test ./internal/e2e/ -run TestRunLabPostgres
package e2e
