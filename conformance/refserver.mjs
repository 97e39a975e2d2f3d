// The Node reference server (@durable-streams/server), file-backed, started
// the way scripts/test.sh and scripts/bench-ds.sh start `rewind serve`: it
// reads the same environment variables and prints the same startup line, so
// the scripts can run against either server.
//
//   REWIND_ADDR               host:port to listen on (default 127.0.0.1:0)
//   REWIND_DATA               data directory (required: the server is file-backed)
//   REWIND_LONG_POLL_TIMEOUT  a Go duration such as 500ms or 30s (default 30s)
//
// On startup it prints `level=INFO msg=listening url=http://HOST:PORT` on
// stderr; on SIGTERM or SIGINT it stops and exits 0.
import { DurableStreamTestServer } from "@durable-streams/server"

function durationMs(s) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(s)
  if (!m) throw new Error(`bad duration ${JSON.stringify(s)}: want e.g. 500ms, 30s`)
  return Number(m[1]) * { ms: 1, s: 1000, m: 60000 }[m[2]]
}

const addr = process.env.REWIND_ADDR || "127.0.0.1:0"
const cut = addr.lastIndexOf(":")
const host = addr.slice(0, cut) || "127.0.0.1"
const port = Number(addr.slice(cut + 1))
const dataDir = process.env.REWIND_DATA
if (!dataDir) {
  console.error("level=ERROR msg=\"REWIND_DATA is not set\"")
  process.exit(2)
}
const longPollTimeout = durationMs(process.env.REWIND_LONG_POLL_TIMEOUT || "30s")

const server = new DurableStreamTestServer({ host, port, dataDir, longPollTimeout })
const url = await server.start()
console.error(`level=INFO msg=listening url=${url} server=node-reference`)

let stopping = false
async function stop() {
  if (stopping) return
  stopping = true
  await server.stop()
  process.exit(0)
}
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
