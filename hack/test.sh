#!/usr/bin/env bash
# The whole test suite: installs what the tests need, checks formatting and
# vet, then runs every test including the end-to-end tests on runc.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
bash hack/install-deps.sh
unformatted=$(gofmt -l cmd internal)
if [ -n "$unformatted" ]; then
  echo "gofmt needed:" $unformatted >&2
  exit 1
fi
go vet ./...
PODRUN_E2E=1 go test -count=1 -timeout 20m ./...
