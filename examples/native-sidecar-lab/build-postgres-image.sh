#!/usr/bin/env bash
# Builds the lab's PostgreSQL 15 image offline from Debian's packages,
# without debootstrap: resolve postgresql-15's run-time closure with apt,
# download the .debs, extract them into one root, add busybox-static for the
# shell, a postgres user and the entrypoint, and write a docker-archive.
# Usage: build-postgres-image.sh OUT.tar [REF]
set -euo pipefail
out=$1
ref=${2:-localhost/podrun-lab/postgres:15}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs" "$work/root" "$work/img"

"$here/resolve-debs.sh" postgresql-15 postgresql-client-15 > "$work/debs.txt"
(cd "$work/debs" && xargs apt-get download -qq -o APT::Sandbox::User=root < "$work/debs.txt")
for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$work/root"; done

root=$work/root
rm -rf "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/info" "$root/usr/share/lintian"
mkdir -p "$root/tmp" "$root/etc" "$root/var/lib/postgresql/data" "$root/var/run/postgresql" "$root/usr/local/bin"
chmod 1777 "$root/tmp"
# usrmerge as on Debian 12: /bin, /sbin, /lib, /lib64 are links into /usr.
for d in bin sbin lib lib64; do
  mkdir -p "$root/usr/$d"
  if [ -d "$root/$d" ] && [ ! -L "$root/$d" ]; then cp -a "$root/$d/." "$root/usr/$d/" && rm -rf "${root:?}/$d"; fi
  ln -sfn "usr/$d" "$root/$d"
done
cp /bin/busybox "$root/usr/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ -e "$root/usr/bin/$applet" ] || ln -s busybox "$root/usr/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\npostgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\npostgres:x:999:\nnogroup:x:65534:\n' > "$root/etc/group"
# initdb asks `locale -a` for the system's locales; the image has C only.
printf '#!/bin/sh\nprintf "C\\nC.utf8\\nPOSIX\\n"\n' > "$root/usr/bin/locale" && chmod 0755 "$root/usr/bin/locale"
install -m 0755 "$here/docker-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
chown -R 999:999 "$root/var/lib/postgresql" "$root/var/run/postgresql"
chmod 2777 "$root/var/run/postgresql"

tar --numeric-owner --sort=name --mtime=@0 -C "$root" -cf "$work/img/layer.tar" .
diff=$(sha256sum "$work/img/layer.tar" | cut -d' ' -f1)
mkdir -p "$work/img/$diff" && mv "$work/img/layer.tar" "$work/img/$diff/layer.tar"
pgbin=/usr/lib/postgresql/15/bin
cat > "$work/img/config.json" <<JSON
{"architecture":"amd64","os":"linux","config":{"User":"999:999","Env":["PATH=$pgbin:/usr/local/bin:/usr/bin:/bin","PGDATA=/var/lib/postgresql/data","LANG=C.UTF-8"],"Entrypoint":["docker-entrypoint.sh"],"Cmd":["postgres"],"WorkingDir":"/var/lib/postgresql","ExposedPorts":{"5432/tcp":{}}},"rootfs":{"type":"layers","diff_ids":["sha256:$diff"]},"history":[{"created_by":"podrun examples/native-sidecar-lab/build-postgres-image.sh"}]}
JSON
cfg=$(sha256sum "$work/img/config.json" | cut -d' ' -f1)
mv "$work/img/config.json" "$work/img/$cfg.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]\n' "$cfg" "$ref" "$diff" > "$work/img/manifest.json"
tar --sort=name --mtime=@0 -C "$work/img" -cf "$out" .
echo "wrote $ref to $out ($(du -h "$out" | cut -f1))"
