// Package store is podrun's state directory: pods (with their status),
// Jobs, run records, events, the log directory of each pod and the lock of
// each pod's supervisor — shared safely by many podrun processes at once.
//
// Layout under the root (DefaultRoot: /var/lib/podrun for root,
// $XDG_DATA_HOME/podrun or ~/.local/share/podrun otherwise):
//
//	lock                              the writers' lock (flock)
//	rv                                the last resourceVersion handed out
//	namespaces/<ns>/pods/<name>.json
//	namespaces/<ns>/jobs/<name>.json
//	namespaces/<ns>/records/<name>.json   opaque run records (podworker)
//	namespaces/<ns>/events/<name>.json    core/v1 Events, one per file
//	namespaces/<ns>/checkpoints/<pod>.json  opaque executor checkpoints (podworker), not watched
//	namespaces/<ns>/removals/<pod>.json     removal requests (MarkPodForRemoval), not watched
//	namespaces/<ns>/supervisors/<pod>.lock  pid; flock held while alive
//	logs/<ns>_<pod>_<uid>/              container log files (runtime)
//
// Guarantees:
//
//   - Every file is replaced atomically: written to a temporary file in the
//     same directory, fsynced, renamed over the old one, and the directory
//     fsynced. A reader sees the old or the new file, never a torn one,
//     and a crash at any point leaves one of the two.
//   - Writers serialise on one flock'd lock file, held only for the short
//     read-modify-write of one operation; readers take no lock at all, so
//     they never wait for a writer and a writer never waits for a reader.
//   - Every write of a pod or Job gives it a new resourceVersion from one
//     counter, so watchers can tell which objects changed.
//   - Watch reports changes through inotify (a bounded poll only if the
//     kernel refuses inotify).
//
// Store is the state directory on disk (Open) or in memory (NewMemory,
// for unit tests of its users); both pass the storetest suite.
//
//	       Open(root) ──► *Store ◄── NewMemory()
//	                        │
//	   ┌──────────── backend (unexported) ───────────┐
//	files + flock + inotify              maps + mutex + channels
package store
