#!/usr/bin/env bash
# The native-sidecar lab, end to end on real containers: builds podrun and a
# PostgreSQL 15 image offline, runs the three variants of the same Job and
# prints their outcomes side by side. Exits 0 only when every variant gave
# the outcome a real cluster gives:
#   1. postgres as a plain init container -> Init:0/1 until the timeout
#   2. postgres as a regular container     -> NotReady, the Job never completes
#   3. postgres as a native sidecar        -> Completed, the Job completes
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top"
bash hack/install-deps.sh
export PATH="$PATH:/usr/local/go/bin"
go build -o bin/ ./cmd/podrun ./cmd/podrun-shim
podrun="$top/bin/podrun"
ref=localhost/podrun-lab/postgres:15

if ! "$podrun" image ls 2>/dev/null | grep -q "podrun-lab/postgres"; then
  echo "== building $ref from Debian's packages (once)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  "$here/build-postgres-image.sh" "$tmp/postgres.tar" "$ref"
  "$podrun" image load -i "$tmp/postgres.tar"
fi

out=$(mktemp -d)
run_variant() { # file timeout
  local name=$1 timeout=$2 code=0
  echo
  echo "== podrun run -f examples/native-sidecar-lab/$name --timeout $timeout"
  "$podrun" run --rm -f "$here/$name" --timeout "$timeout" 2> >(tee "$out/$name.err" >&2) | tee "$out/$name.out" || code=$?
  echo "$code" > "$out/$name.code"
}
run_variant 1-init-container.yaml 15s
run_variant 2-regular-container.yaml 20s
run_variant 3-native-sidecar.yaml 120s

# The pod's STATUS/READY as `get pods` showed it when the run ended: at the
# timeout for the variants that never finish, else at the end.
last_status() {
  sed '/^podrun: timed out/q' "$out/$1.err" | grep -E '^--- pod/' | tail -1 | sed 's/^--- //'
}
check() { # file want-code want-status-regex label
  local code status verdict=ok
  code=$(cat "$out/$1.code"); status=$(last_status "$1")
  [ "$code" = "$2" ] || verdict=UNEXPECTED
  echo "$status" | grep -Eq "$3" || verdict=UNEXPECTED
  printf '%-28s exit %-2s %-48s %s\n' "$1" "$code" "$status" "$verdict: $4"
  [ "$verdict" = ok ]
}
echo
echo "== outcomes"
fail=0
check 1-init-container.yaml 1 ' Init:0/1 ' "postgres as init container: main never starts" || fail=1
check 2-regular-container.yaml 1 ' NotReady ' "postgres as regular container: Job never completes" || fail=1
check 3-native-sidecar.yaml 0 ' Completed ' "postgres as native sidecar: Job completes" || fail=1
grep -q films "$out/3-native-sidecar.yaml.out" || { echo "variant 3 did not list the films table"; fail=1; }
rm -rf "$out"
exit $fail
