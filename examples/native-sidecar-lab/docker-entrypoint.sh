#!/bin/sh
# Entrypoint of the lab's PostgreSQL image: honours POSTGRES_USER,
# POSTGRES_PASSWORD and POSTGRES_DB like the official image, initialises the
# data directory on first start, then runs postgres in the foreground so the
# container's stop signal (SIGTERM: smart shutdown) reaches it.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
export PGDATA
if [ $# -eq 0 ] || [ "${1#-}" != "$1" ]; then
  set -- postgres "$@"
fi
if [ "$1" != "postgres" ]; then
  exec "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  chmod 700 "$PGDATA"
  pwfile=$(mktemp)
  printf '%s\n' "${POSTGRES_PASSWORD:-}" > "$pwfile"
  auth=trust
  [ -n "${POSTGRES_PASSWORD:-}" ] && auth=scram-sha-256
  initdb --no-sync --username="$POSTGRES_USER" --pwfile="$pwfile" \
    --auth-local=trust --auth-host="$auth" --encoding=UTF8 --no-locale >/dev/null
  rm -f "$pwfile"
  printf "listen_addresses = '*'\nfsync = off\n" >> "$PGDATA/postgresql.auto.conf"
  printf 'host all all 0.0.0.0/0 %s\nhost all all ::/0 %s\n' "$auth" "$auth" >> "$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != "postgres" ]; then
    postgres --single -D "$PGDATA" postgres >/dev/null <<SQL
CREATE DATABASE "$POSTGRES_DB";
SQL
  fi
  echo "PostgreSQL init process complete; ready for start up."
fi
exec "$@"
