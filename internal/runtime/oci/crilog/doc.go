// Package crilog writes container output in the CRI log format that the
// kubelet's log readers expect: one entry per line,
//
//	2026-12-03T17:20:13.123456789Z stdout F the line
//
// (RFC 3339 timestamp in UTC with nanoseconds, stream, tag F for a full
// line or P for a partial one, content). It is shared by the OCI runtime
// and the per-container shim (cmd/podrun-shim), so it imports nothing
// beyond the standard library: the shim must stay small.
package crilog
