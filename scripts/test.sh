#!/usr/bin/env bash
# The project's one test command.
#
#   scripts/test.sh              everything: go, conformance, client
#   scripts/test.sh go           go vet ./... and go test -race ./...
#   scripts/test.sh conformance  the Durable Streams conformance suite against
#                                `rewind serve` (conformance/conformance.test.js)
#   scripts/test.sh client       the official TypeScript client end to end
#                                (conformance/client.test.js)
#
# Several parts may be named: `scripts/test.sh go client`.
#
# The conformance part builds ./cmd/rewind into a temporary directory, starts
# it on 127.0.0.1:0 with a temporary data directory and a 500 ms long-poll
# timeout, waits for its `msg=listening ... url=...` line, runs the suite
# against that URL and stops the server. The client part gives the test the
# built binary (REWIND_BIN) and tools/goappend (GOAPPEND_BIN); the test starts,
# restarts and stops the server itself.
#
# Environment:
#   DS_SERVER_CMD  a shell command that starts some other Durable Streams
#                  server in place of the built `rewind serve`, e.g.
#                    DS_SERVER_CMD="node conformance/refserver.mjs" scripts/test.sh conformance
#                  It is run from the repository root with REWIND_ADDR,
#                  REWIND_DATA and REWIND_LONG_POLL_TIMEOUT set, and must print
#                  (on stdout or stderr) a line holding `msg=listening` and
#                  `url=http://HOST:PORT`, and exit on SIGTERM. The client test
#                  uses it too, and then skips its part that writes a stream
#                  through Go code (that needs rewind's own data directory).
#                  scripts/bench-ds.sh starts servers the same way.
#   GO_TEST_FLAGS  extra flags for go test (e.g. "-count=1 -run TestX").
#   CHROMIUM_BIN   the browser the time-travel page's test drives (default:
#                  chromium, chromium-browser or google-chrome on PATH). The go
#                  part installs Debian's chromium with apt-get (through sudo
#                  when not root) when none is found.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

die() { echo "test.sh: $*" >&2; exit 1; }
step() { printf '\n=== %s\n' "$*"; }

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is not installed or not on PATH ($2)"
}

parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(go conformance client)
want_go=0 want_conformance=0 want_client=0
for p in "${parts[@]}"; do
  case "$p" in
    go) want_go=1 ;;
    conformance) want_conformance=1 ;;
    client) want_client=1 ;;
    all) want_go=1 want_conformance=1 want_client=1 ;;
    *) die "unknown part '$p': want go, conformance, client or all" ;;
  esac
done

need go "Go 1.26 or newer: https://go.dev/dl/"
if [ $((want_conformance + want_client)) -gt 0 ]; then
  need node "Node.js 20 or newer: https://nodejs.org/"
  need npm "npm ships with Node.js"
fi

# shellcheck source=scripts/lib/server.sh
. "$root/scripts/lib/server.sh"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/rewind-test.XXXXXX")"
REWIND_BIN="$tmp/rewind"

cleanup() {
  stop_server
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

npm_deps() {
  local lock=conformance/package-lock.json stamp=conformance/node_modules/.package-lock.json
  if [ ! -d conformance/node_modules ] || [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ]; then
    step "npm ci (conformance/)"
    (cd conformance && npm ci --no-audit --no-fund)
  fi
}

build_rewind() {
  [ -x "$REWIND_BIN" ] && return 0
  step "go build ./cmd/rewind"
  go build -o "$REWIND_BIN" ./cmd/rewind
}

# need_chromium makes sure the browser test of examples/orders/web (part of
# go test ./...) has a Chromium to drive, installing Debian's when missing.
need_chromium() {
  if [ -n "${CHROMIUM_BIN:-}" ]; then
    command -v "$CHROMIUM_BIN" >/dev/null 2>&1 || die "CHROMIUM_BIN=$CHROMIUM_BIN is not an executable"
    return 0
  fi
  local b
  for b in chromium chromium-browser google-chrome google-chrome-stable; do
    command -v "$b" >/dev/null 2>&1 && return 0
  done
  command -v apt-get >/dev/null 2>&1 ||
    die "the browser test of examples/orders/web needs Chromium, and there is no apt-get here to install it: install Chromium or Chrome, or set CHROMIUM_BIN"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 ||
      die "the browser test of examples/orders/web needs Chromium; installing it needs root: run 'apt-get install -y chromium' as root"
    sudo=(sudo)
  fi
  step "apt-get install chromium (for the browser test of examples/orders/web)"
  { "${sudo[@]}" apt-get update -qq &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } ||
    die "could not install chromium with apt-get: install it ('sudo apt-get install -y chromium') or set CHROMIUM_BIN, then run again"
  command -v chromium >/dev/null 2>&1 || die "apt-get installed chromium, but it is not on PATH"
}

if [ $want_go -eq 1 ]; then
  need_chromium
  step "go vet ./..."
  go vet ./...
  step "go test -race ./..."
  # The eventstore package runs a three-node cluster's failover test
  # besides its crash tests: on 2 cores under the race detector it can
  # approach go test's default 10-minute limit per package, so the limit
  # is set above it (the suite as a whole stays well under 15 minutes).
  # shellcheck disable=SC2086 # GO_TEST_FLAGS is a list of flags
  go test -race -timeout 25m ${GO_TEST_FLAGS:-} ./...
fi

if [ $want_conformance -eq 1 ]; then
  npm_deps
  [ -z "${DS_SERVER_CMD:-}" ] && build_rewind
  mkdir -p "$tmp/conformance-data"
  start_server "$tmp/conformance-data" 500ms "$tmp/conformance-server.log" "${DS_SERVER_CMD:-}"
  step "conformance suite against $server_url${DS_SERVER_CMD:+ (DS_SERVER_CMD=$DS_SERVER_CMD)}"
  status=0
  (cd conformance && CONFORMANCE_TEST_URL="$server_url" CONFORMANCE_LONG_POLL_MS=500 \
    npx --no vitest run conformance.test.js --no-coverage) || status=$?
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "test.sh: the server died during the suite" >&2
    status=1
  fi
  stop_server
  if [ $status -ne 0 ]; then
    echo "test.sh: the last 40 lines of the server's log:" >&2
    tail -n 40 "$tmp/conformance-server.log" | sed 's/^/  | /' >&2
    die "conformance suite failed"
  fi
fi

if [ $want_client -eq 1 ]; then
  npm_deps
  if [ -z "${DS_SERVER_CMD:-}" ]; then
    build_rewind
    export REWIND_BIN
  else
    export DS_SERVER_CMD
  fi
  step "go build ./internal/tools/goappend"
  go build -o "$tmp/goappend" ./internal/tools/goappend
  export GOAPPEND_BIN="$tmp/goappend"
  step "client end-to-end test${DS_SERVER_CMD:+ (DS_SERVER_CMD=$DS_SERVER_CMD)}"
  (cd conformance && DS_REPO_ROOT="$root" npx --no vitest run client.test.js --no-coverage) ||
    die "client end-to-end test failed"
fi

step "ok"
