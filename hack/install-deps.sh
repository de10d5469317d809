#!/usr/bin/env bash
# Installs what podrun's tests and lab need on a fresh Debian 12 machine:
# runc and crun (OCI runtimes), busybox-static (test images), iproute2.
set -euo pipefail
need=()
command -v runc >/dev/null || need+=(runc)
command -v crun >/dev/null || need+=(crun)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v ip >/dev/null || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! command -v go >/dev/null; then
  export PATH="$PATH:/usr/local/go/bin"
fi
go version >/dev/null
