# Starting and stopping a Durable Streams server for scripts/test.sh and
# scripts/bench-ds.sh (sourced, not run).
#
# start_server DATA_DIR LONG_POLL LOG [CMD]
#   starts `$REWIND_BIN serve --addr 127.0.0.1:0 --data DATA_DIR
#   --long-poll-timeout LONG_POLL`, or the shell command CMD when it is given
#   (run with REWIND_ADDR=127.0.0.1:0, REWIND_DATA and REWIND_LONG_POLL_TIMEOUT
#   set), with stdout and stderr in LOG; waits up to 30 s for a line holding
#   `msg=listening` and `url=...`; sets server_pid and server_url. On failure
#   it prints the log and exits 1.
# stop_server
#   sends SIGTERM, waits up to 10 s (then SIGKILL), and reaps the process.
#   Safe to call when nothing runs; meant for an EXIT trap too.

server_pid=""
server_url=""

start_server() {
  local data="$1" long_poll="$2" log="$3" cmd="${4:-}"
  : >"$log"
  if [ -n "$cmd" ]; then
    REWIND_ADDR=127.0.0.1:0 REWIND_DATA="$data" REWIND_LONG_POLL_TIMEOUT="$long_poll" \
      bash -c "exec $cmd" >"$log" 2>&1 &
  else
    "$REWIND_BIN" serve --addr 127.0.0.1:0 --data "$data" --long-poll-timeout "$long_poll" >"$log" 2>&1 &
  fi
  server_pid=$!
  server_url=""
  local deadline=$((SECONDS + 30))
  while [ $SECONDS -lt $deadline ]; do
    server_url="$(grep -m1 'msg=listening' "$log" | grep -o 'url="\{0,1\}http://[^ "]*' | head -n1 | sed 's/^url="\{0,1\}//')" || true
    [ -n "$server_url" ] && return 0
    if ! kill -0 "$server_pid" 2>/dev/null; then
      wait "$server_pid" 2>/dev/null || true
      server_pid=""
      echo "the server exited before it was listening; its log:" >&2
      sed 's/^/  | /' "$log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "the server printed no 'msg=listening ... url=' line within 30 s; its log:" >&2
  sed 's/^/  | /' "$log" >&2
  exit 1
}

stop_server() {
  [ -n "$server_pid" ] || return 0
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    local i
    for i in $(seq 1 100); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$server_pid" 2>/dev/null; then
      echo "the server did not stop within 10 s of SIGTERM; killing it" >&2
      kill -KILL "$server_pid" 2>/dev/null || true
    fi
  fi
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
