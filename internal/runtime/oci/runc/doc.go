// Package runc is a typed client for OCI runtime command lines that follow
// runc's interface (runc, crun): one method per subcommand (create, start,
// state, kill, delete, exec, events), global flags on the Client, per-call
// options structs that render their arguments, and a swappable binary so
// tests can point it at a script.
//
// Every invocation runs the binary to completion with exec.Cmd and waits for
// it itself; the client never reaps other processes, so it cannot race with
// a caller's own exit watcher. A failed invocation returns an *Error that
// carries the command line and the runtime's stderr; errors.Is(err,
// ErrNotExist) reports a container the runtime does not know.
//
// Container stdio passed to Create must be *os.File values: a runtime's
// create leaves the container process holding them after the runtime exits,
// and a pipe created by exec.Cmd would make the call wait for the container.
package runc
