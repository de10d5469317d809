// Package logs reads container log files in the CRI log format that the
// runtime writes, one file per container attempt:
//
//	2026-12-03T17:20:13.123456789Z stdout F a whole line
//	2026-12-03T17:20:13.223456789Z stderr P the first part of a long line
//
// It parses lines, reads a file whole or its tail, and follows a file as
// it grows (inotify, no polling) for `podrun run` and `podrun logs -f`.
package logs
