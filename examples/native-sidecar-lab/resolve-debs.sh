#!/usr/bin/env bash
# Prints the closure of Debian packages a program needs at run time, taking
# the first choice of every alternative and leaving out packages that only
# serve installation (maintainer scripts are never run in an image).
# Usage: resolve-debs.sh PACKAGE...
set -euo pipefail
skip=" debconf cdebconf adduser passwd dpkg install-info ucf sensible-utils lsb-base sysvinit-utils
 postgresql-common postgresql-client-common perl perl-base perl-modules-5.36 libperl5.36 libjson-perl
 ssl-cert locales locales-all init-system-helpers debconf-2.0 tar "
declare -A seen=()
level=("$@")
while [ ${#level[@]} -gt 0 ]; do
  fresh=()
  for pkg in "${level[@]}"; do
    [ -n "${seen[$pkg]:-}" ] && continue
    case "$skip" in *" $pkg "*) continue ;; esac
    seen[$pkg]=1
    fresh+=("$pkg")
    echo "$pkg"
  done
  [ ${#fresh[@]} -gt 0 ] || break
  mapfile -t level < <(apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
      --no-replaces --no-enhances "${fresh[@]}" 2>/dev/null | awk '
    /^[^ ]/ { alt = 0; next }
    /^ *\|(Pre)?Depends: / { if (!alt) print $2; alt = 1; next }
    /^ *(Pre)?Depends: / { if (!alt) print $2; alt = 0; next }
    { alt = 0 }' | tr -d '<>' | sort -u)
done
