#!/usr/bin/env bash
# Durable Streams servers side by side: the Node reference server
# (@durable-streams/server, file-backed, through conformance/refserver.mjs)
# and `rewind serve`, started one after the other on free ports of this
# machine, each on a fresh data directory under /tmp with a 30 s long-poll
# timeout, loaded by the same internal/tools/dsbench.
#
#   scripts/bench-ds.sh [dsbench flags...]
#   scripts/bench-ds.sh --duration 5s --readers 500
#
# The flags go to dsbench unchanged (see `go run ./internal/tools/dsbench -h`).
# It prints each server's table, then both side by side with ratios. The JSON
# reports stay in $BENCH_OUT (default /tmp/dsbench-results.<time>).
#
# Environment:
#   DS_SERVER_CMD  a shell command that starts the server to compare with the
#                  Node reference in place of the built `rewind serve`; the
#                  same contract as in scripts/test.sh (REWIND_ADDR,
#                  REWIND_DATA, REWIND_LONG_POLL_TIMEOUT; a `msg=listening
#                  url=...` line; SIGTERM stops it).
#   BENCH_OUT      where the reports go.
#   BENCH_ONLY     "node" or "rewind" to run one server only.
#   BENCH_FLOOR    0 to skip the floor: by default the long-poll test also
#                  runs against `dsbench floorserver`, a trivial in-memory
#                  server, to show what this machine and the driver itself
#                  cost (no real server can wake its readers faster).
#
# If ./cmd/rewind does not exist yet (and DS_SERVER_CMD is unset), only the
# Node reference is measured.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

die() { echo "bench-ds.sh: $*" >&2; exit 1; }
command -v go >/dev/null 2>&1 || die "go is not installed or not on PATH"
command -v node >/dev/null 2>&1 || die "node is not installed or not on PATH"
command -v npm >/dev/null 2>&1 || die "npm is not installed or not on PATH"

# shellcheck source=scripts/lib/server.sh
. "$root/scripts/lib/server.sh"

out="${BENCH_OUT:-/tmp/dsbench-results.$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
tmp="$(mktemp -d /tmp/dsbench.XXXXXX)"
REWIND_BIN="$tmp/rewind"
cleanup() {
  stop_server
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A thousand parked readers need a thousand sockets on each side.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

if [ ! -d conformance/node_modules ]; then
  (cd conformance && npm ci --no-audit --no-fund)
fi
go build -o "$tmp/dsbench" ./internal/tools/dsbench

# bench NAME CMD: one server, measured, stopped; its report in $out/NAME.json.
bench() {
  local name="$1" cmd="$2"
  shift 2
  mkdir -p "$tmp/data-$name"
  start_server "$tmp/data-$name" 30s "$out/$name-server.log" "$cmd"
  echo "== $name at $server_url" >&2
  local status=0
  "$tmp/dsbench" --url "$server_url" --label "$name" --json-file "$out/$name.json" "$@" || status=$?
  stop_server
  rm -rf "$tmp/data-$name"
  [ $status -eq 0 ] || die "dsbench against $name failed (server log: $out/$name-server.log)"
  echo
}

second=""
second_cmd="${DS_SERVER_CMD:-}"
if [ -n "$second_cmd" ]; then
  second=custom
elif [ -d cmd/rewind ]; then
  if go build -o "$REWIND_BIN" ./cmd/rewind; then
    second=rewind
  else
    echo "bench-ds.sh: ./cmd/rewind does not build; measuring the Node reference only" >&2
  fi
else
  echo "bench-ds.sh: no ./cmd/rewind yet; measuring the Node reference only" >&2
fi

only="${BENCH_ONLY:-}"
if [ "$only" != "rewind" ]; then
  bench node-reference "node conformance/refserver.mjs" "$@"
fi
if [ -n "$second" ] && [ "$only" != "node" ]; then
  bench "$second" "$second_cmd" "$@"
fi
if [ "${BENCH_FLOOR:-1}" != 0 ]; then
  bench floor "$tmp/dsbench floorserver" "$@" --tests longpoll
fi
if [ -f "$out/node-reference.json" ] && [ -n "$second" ] && [ -f "$out/$second.json" ]; then
  echo "== side by side"
  "$tmp/dsbench" compare "$out/node-reference.json" "$out/$second.json"
fi
echo "reports in $out" >&2
