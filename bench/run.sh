#!/usr/bin/env bash
# podrun's performance figures in one run (see bench/README.md):
#   P1  wall time of `podrun run` (init + native sidecar + main, all trivial)
#       ÷ the same container operations done directly with runc
#   P3  main exit → sidecar SIGTERM and sidecar started → main started,
#       from the run records of 20 runs
#   P4  peak RSS per pod of one `podrun run -f` driving 20 pods at once,
#       and its CPU while they idle
# Installs what is missing (runc, busybox-static), builds podrun and the
# busybox image offline into a private state root, measures, prints a
# table, and removes everything it made. Needs root.
#
#   bench/run.sh [podbench flags: -runs N -p3-runs N -pods N -idle D -only p1,p3,p4]
#
# PODRUN=/path/to/podrun measures that binary instead of building one.
#
# Timings are measured, never asserted: the exit status is 0 when every
# figure could be measured, whatever the figures are.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ "$(id -u)" != 0 ]; then
  echo "bench/run.sh: needs root (runc, namespaces, overlay mounts)" >&2
  exit 2
fi
bash hack/install-deps.sh
export PATH="$PATH:/usr/local/go/bin"

work=$(mktemp -d /tmp/podrun-bench.XXXXXX)
root="$work/root"
cleanup() {
  # Anything a failed run left: containers in the private runc roots,
  # overlay and namespace mounts below $work, then the directory. Best
  # effort: no step may stop the others.
  set +e +o pipefail
  for r in "$root/runtime/runtime" "$work/scratch/raw/runc"; do
    [ -d "$r" ] || continue
    for id in $(runc --root "$r" list -q 2>/dev/null); do
      runc --root "$r" delete --force "$id" >/dev/null 2>&1 || true
    done
  done
  grep -o " $work/[^ ]*" /proc/self/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

echo "== building podrun, the baseline and the harness" >&2
if [ -n "${PODRUN:-}" ]; then
  cp "$PODRUN" "$work/podrun"
  # its shim beside it, else one built from this tree
  if [ -x "$(dirname "$PODRUN")/podrun-shim" ]; then
    cp "$(dirname "$PODRUN")/podrun-shim" "$work/podrun-shim"
  else
    go build -o "$work/podrun-shim" ./cmd/podrun-shim
  fi
else
  go build -o "$work/" ./cmd/podrun ./cmd/podrun-shim
fi
go build -o "$work/rawrunc" ./bench/rawrunc
go build -o "$work/podbench" ./bench/podbench
echo "== loading the busybox image into a private state root" >&2
go run ./hack/images busybox --load --root "$root" >&2
mkdir -p "$work/scratch"

"$work/podbench" -podrun "$work/podrun" -rawrunc "$work/rawrunc" \
  -root "$root" -work "$work/scratch" "$@"

echo
echo "Go benchmarks of the executor's pure hot paths (lifecycle, five-container pod):"
go test -run '^$' -bench . -benchmem ./bench | grep -E '^Benchmark'
