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
# On a machine doing other work the figures swing from run to run; with
# BENCH_REPEAT=N the servers take turns N times and the side-by-side table
# takes each test from each server's best run (dsbench compare with lists).
#
# Environment:
#   DS_SERVER_CMD  a shell command that starts the server to compare with the
#                  Node reference in place of the built `rewind serve`; the
#                  same contract as in scripts/test.sh (REWIND_ADDR,
#                  REWIND_DATA, REWIND_LONG_POLL_TIMEOUT; a `msg=listening
#                  url=...` line; SIGTERM stops it).
#   BENCH_OUT      where the reports go.
#   BENCH_ONLY     "node" or "rewind" to run one server only.
#   BENCH_REPEAT   how many turns each server takes (default 1).
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
if [ "${BENCH_ONLY:-}" != "rewind" ]; then
  command -v node >/dev/null 2>&1 || die "node is not installed or not on PATH"
  command -v npm >/dev/null 2>&1 || die "npm is not installed or not on PATH"
fi

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

if [ "${BENCH_ONLY:-}" != "rewind" ] && [ ! -d conformance/node_modules ]; then
  (cd conformance && npm ci --no-audit --no-fund)
fi
go build -o "$tmp/dsbench" ./internal/tools/dsbench

# bench NAME RUN CMD [FLAGS...]: one server on a fresh data directory,
# measured, stopped; its report in $out/NAME-RUN.json.
bench() {
  local name="$1" run="$2" cmd="$3"
  shift 3
  mkdir -p "$tmp/data-$name"
  start_server "$tmp/data-$name" 30s "$out/$name-$run-server.log" "$cmd"
  echo "== $name at $server_url (turn $run of $repeat)"
  local status=0
  "$tmp/dsbench" --url "$server_url" --label "$name" --json-file "$out/$name-$run.json" "$@" || status=$?
  stop_server
  rm -rf "$tmp/data-$name"
  [ $status -eq 0 ] || die "dsbench against $name failed (server log: $out/$name-$run-server.log)"
  echo
}

# reports NAME: the comma-separated list of NAME's reports.
reports() {
  local list="" run
  for run in $(seq 1 "$repeat"); do
    list="${list:+$list,}$out/$1-$run.json"
  done
  echo "$list"
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
repeat="${BENCH_REPEAT:-1}"
for run in $(seq 1 "$repeat"); do
  if [ "$only" != "rewind" ]; then
    bench node-reference "$run" "node conformance/refserver.mjs" "$@"
  fi
  if [ -n "$second" ] && [ "$only" != "node" ]; then
    bench "$second" "$run" "$second_cmd" "$@"
  fi
  if [ "${BENCH_FLOOR:-1}" != 0 ]; then
    bench floor "$run" "$tmp/dsbench floorserver" "$@" --tests longpoll
  fi
done
best=""
[ "$repeat" -gt 1 ] && best=" (each test from each server's best of $repeat turns)"
if [ -z "$only" ] && [ -n "$second" ]; then
  echo "== side by side$best"
  "$tmp/dsbench" compare "$(reports node-reference)" "$(reports "$second")"
fi
if [ "${BENCH_FLOOR:-1}" != 0 ] && [ "$repeat" -gt 1 ]; then
  echo
  echo "== the floor$best"
  "$tmp/dsbench" show "$(reports floor)"
fi
echo "reports in $out" >&2
