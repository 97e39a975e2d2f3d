#!/usr/bin/env bash
# One benchmark command: every target of BENCHMARKS.md beside its baseline in
# one run (internal/tools/bench), printed as met or missed, the figures as
# JSON and the scaling curves as PNG charts (default docs/bench/).
#
#   scripts/bench.sh [--quick] [bench flags...]
#   scripts/bench.sh --quick --charts /tmp/charts     # under 5 minutes on 2 cores
#
# It starts PostgreSQL (Debian's packages: initdb, pg_ctl and postgres on PATH
# or under /usr/lib/postgresql/*/bin) on 127.0.0.1 with a temporary data
# directory and a free port, and stops it at the end. Without those tools the
# PostgreSQL rows say "baseline absent". The HTTP rows call
# scripts/bench-ds.sh (Node and npm for the reference server).
# See `go run ./internal/tools/bench -h` for the flags.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

tmp="$(mktemp -d /tmp/rewind-bench.XXXXXX)"
chmod 711 "$tmp"
pgdata="$tmp/pg/data"
pgctl=""
as=()
cleanup() {
  if [ -n "$pgctl" ] && [ -f "$pgdata/postmaster.pid" ]; then
    "${as[@]}" "$pgctl" -D "$pgdata" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

go build -o "$tmp/bench" ./internal/tools/bench

# pgtool NAME: NAME on PATH, else the newest /usr/lib/postgresql/*/bin/NAME.
pgtool() {
  command -v "$1" 2>/dev/null && return 0
  ls -d /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -n1
}

pg=(--pg-absent "initdb, pg_ctl or postgres not found (on PATH or under /usr/lib/postgresql/*/bin)")
initdb="$(pgtool initdb || true)"
pgctl="$(pgtool pg_ctl || true)"
postgres="$(pgtool postgres || true)"
if [ -n "$initdb" ] && [ -n "$pgctl" ] && [ -n "$postgres" ]; then
  mkdir -p "$tmp/pg"
  if [ "$(id -u)" = 0 ]; then
    # PostgreSQL refuses to run as root.
    user=postgres
    id "$user" >/dev/null 2>&1 || user=nobody
    chown "$user" "$tmp/pg"
    as=(runuser -u "$user" --)
  fi
  port="$("$tmp/bench" freeport)"
  if "${as[@]}" "$initdb" -D "$pgdata" -A trust -U bench -E UTF8 >"$tmp/pg/initdb.log" 2>&1 &&
    "${as[@]}" "$pgctl" -D "$pgdata" -l "$tmp/pg/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $tmp/pg -c synchronous_commit=on -c fsync=on" start >/dev/null; then
    pg=(--pg-dsn "postgres://bench@127.0.0.1:$port/postgres?sslmode=disable")
    echo "bench.sh: PostgreSQL $("$postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
  else
    echo "bench.sh: PostgreSQL did not start; its logs:" >&2
    cat "$tmp/pg/initdb.log" "$tmp/pg/server.log" 2>/dev/null | tail -n 20 | sed 's/^/  | /' >&2
    pg=(--pg-absent "PostgreSQL did not start (initdb or pg_ctl failed)")
    pgctl=""
  fi
fi

"$tmp/bench" --root "$root" "${pg[@]}" "$@"
