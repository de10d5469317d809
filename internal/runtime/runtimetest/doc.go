// Package runtimetest is the contract every runtime.Runtime passes: the
// fake in unit tests, runc and crun in end-to-end tests, CRI later.
//
//	func TestRuntime(t *testing.T) {
//		runtimetest.RunSuite(t, func(t *testing.T) runtimetest.Harness { ... })
//	}
//
// Containers are described by command (busybox `sh -c "..."`) so the same
// cases run on a real runtime and on the fake, which interprets those
// idioms. Time passes through Harness.Advance: a fake steps its clock, a
// real runtime sleeps.
//
// Decisions the suite fixes for every runtime:
//   - Creating a container whose sandbox, name and attempt equal an
//     existing one's is runtime.ErrAlreadyExists; another attempt of the
//     same name gets a distinct ID. This is what makes a repeated create
//     (a supervisor adopting a pod) safe.
//   - ContainerStatus, WaitContainer and ExecSync of an unknown container
//     and PodSandboxStatus of an unknown sandbox are runtime.ErrNotFound.
//   - SignalContainer of an exited container, RemoveContainer and
//     RemovePodSandbox of a removed object succeed.
//   - Exit codes are preserved: 0 → Completed, non-zero → Error, SIGKILL
//     → 137 with Signal 9. PID 1 without a TERM handler ignores SIGTERM.
//   - A command that cannot be executed fails CreateContainer or
//     StartContainer with a *runtime.StartError (reason
//     CreateContainerError or RunContainerError).
//   - Output reaches ContainerConfig.LogPath in the CRI log format, and
//     the file outlives RemoveContainer (logs --previous).
//   - RemovePodSandbox removes the sandbox and every container in it.
package runtimetest
