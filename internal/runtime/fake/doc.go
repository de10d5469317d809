// Package fake is a deterministic runtime.Runtime for tests: containers
// are programs run on an injected clock instead of processes.
//
// A container runs its own command when the fake understands it — the
// busybox idioms of the conformance catalog:
//
//	sleep N; exit C                       runs N s, exits C
//	trap 'exit 0' TERM; sleep N & wait    exits 0 at once on SIGTERM
//	trap 'sleep K; exit C' TERM; ...      exits C K s after SIGTERM
//	sleep N (as PID 1, no trap)           ignores SIGTERM: SIGKILL, 137
//	echo "$(date +%s) tok" >> /shared/marks, touch F, test -f F, if/&&/||
//
// (see ParseCommand) — or follows a Behavior from a Script keyed by
// container name (RunFor, ExitCode, OnSIGTERM, Lines, FailCreate,
// FailStart). A command whose first word is not a program the fake has
// fails to start with RunContainerError, as a missing binary does.
//
// The fake starts no goroutines. State is computed from the clock whenever
// it is read: a container that sleeps 5 s has exited once the clock says
// 5 s passed. WaitContainer and ExecSync block on a clock timer set to the
// next change, so with clocktesting.FakeClock they return after the test
// steps the clock, and inside a testing/synctest bubble with
// clock.RealClock they return as virtual time passes. NextChange tells a
// driver when the next change is due.
//
// Like the CRI test fakes it records every call (Calls) and can fail the
// next call of a named method (InjectError). Files under a volume mount
// are shared by the pod's containers (ReadVolumeFile reads the conformance
// marker file); other files belong to one container instance. Output goes
// to the container's LogPath in the CRI log format.
package fake
