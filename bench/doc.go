// Package bench holds podrun's performance measurements; it has no code of
// its own outside tests.
//
//   - bench/run.sh measures the whole-process figures (P1, P3, P4) on real
//     containers and prints them beside their goals; bench/README.md keeps
//     the figures measured, with the machine and the date.
//   - bench/podbench is the harness run.sh calls; bench/rawrunc is the P1
//     baseline, the same container operations done directly with runc.
//   - bench_test.go has Go benchmarks of the pure hot paths the executor
//     calls on every event (lifecycle.Plan, lifecycle.Status,
//     lifecycle.Columns): go test -run '^$' -bench . ./bench
//
// Timings are measured, never asserted: nothing here fails because a
// figure is slow.
package bench
