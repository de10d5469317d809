// Package shim is the per-container monitor that keeps a container's
// output and exit status independent of the podrun process that started
// it, in the manner of conmon or containerd-shim. Its Main is the whole
// of cmd/podrun-shim, a separate small binary: this package imports no
// Kubernetes module, so a shim costs about 2 MB of memory.
//
// The runtime writes Config as shim.json into the container's bundle and
// starts the binary (Launch) in a new session with the bundle as its only
// argument, stdin /dev/null, stdout and stderr into shim.log in the
// bundle, and a report pipe as fd 3. The shim then
//
//	becomes child subreaper; ignores SIGINT, SIGTERM, SIGHUP, SIGPIPE
//	opens the CRI log and creates the stdout/stderr pipes
//	runs `runc create --pid-file` with those pipes
//	writes shim-state.json (its own and the container's PID and start
//	    time) atomically
//	reports the container's PID, or the runtime's error, on fd 3
//	copies both streams into the CRI log
//	reaps every child until the container's main process exits
//	runs `runc kill --all KILL` when Config.KillAll (a shared PID
//	    namespace, where the main process's children survive it)
//	waits at most Config.DrainTimeout for the output to end
//	writes exit.json (exit code, signal, finishedAt) atomically; exits 0
//
// The runtime itself runs `runc start`, signals the container through a
// pidfd of its process, and learns of the end from a pidfd of the shim:
// when the shim has exited, exit.json holds the container's status. A
// shim that exited without exit.json left the container's fate unknown.
//
// Files in the bundle: shim.json (ConfigFile), shim-state.json
// (StateFile), exit.json (ExitFile), shim.log (LogFile), pid.
package shim
