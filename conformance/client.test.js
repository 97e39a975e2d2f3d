// The official TypeScript client (@durable-streams/client) end to end against
// `rewind serve`: producers, catch-up reads, resumption from a saved offset,
// live reads by long-poll and SSE, a restart of the server in the middle,
// producer fencing, a stream written by Go code read over HTTP, and a
// server with bearer-token authentication (`rewind token`, --auth-tokens)
// used through the client's headers option.
//
// The test starts the server itself, on a temporary data directory that it
// keeps across restarts:
//   REWIND_BIN     the built rewind binary (scripts/test.sh client builds it);
//   DS_SERVER_CMD  or a shell command that starts another server instead
//                  (see scripts/test.sh); the Go-append test is then skipped;
//   GOAPPEND_BIN   the built internal/tools/goappend (else `go run` is used);
//   DS_REPO_ROOT   the repository root (default: this folder's parent).
import { spawn, execFile } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import {
  DurableStream,
  IdempotentProducer,
  StaleEpochError,
} from "@durable-streams/client"

const JSON_TYPE = "application/json"
const LONG_POLL = "500ms"
const START_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 15_000
const repoRoot =
  process.env.DS_REPO_ROOT ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const serverCmd = process.env.DS_SERVER_CMD
const rewindBin = process.env.REWIND_BIN

// Every server process this file started and has not yet seen exit, so that a
// failing test still leaves none behind.
const running = new Set()
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL")
})

// Server is one run of the server process on dataDir.
class Server {
  constructor(child, url) {
    this.child = child
    this.url = url
  }

  static start(dataDir, extraArgs = []) {
    const env = {
      ...process.env,
      REWIND_ADDR: "127.0.0.1:0",
      REWIND_DATA: dataDir,
      REWIND_LONG_POLL_TIMEOUT: LONG_POLL,
    }
    const child = serverCmd
      ? spawn("bash", ["-c", `exec ${serverCmd}`], { cwd: repoRoot, env })
      : spawn(
          rewindBin,
          ["serve", "--addr", "127.0.0.1:0", "--data", dataDir, "--long-poll-timeout", LONG_POLL, ...extraArgs],
          { env },
        )
    running.add(child)
    child.log = []
    child.exited = new Promise((resolve) => {
      child.on("exit", (code, signal) => {
        running.delete(child)
        resolve({ code, signal })
      })
    })
    return new Promise((resolve, reject) => {
      let pending = ""
      const fail = (why) => {
        clearTimeout(timer)
        child.kill("SIGKILL")
        reject(new Error(`${why}; server log:\n${child.log.join("\n")}`))
      }
      const timer = setTimeout(
        () => fail(`no "msg=listening ... url=" line within ${START_TIMEOUT_MS} ms`),
        START_TIMEOUT_MS,
      )
      const onData = (chunk) => {
        pending += chunk.toString()
        const lines = pending.split("\n")
        pending = lines.pop()
        for (const line of lines) {
          child.log.push(line)
          if (child.log.length > 200) child.log.shift()
          const m = /msg=listening\b.*?\burl="?(http:\/\/[^\s"]+)/.exec(line)
          if (m) {
            clearTimeout(timer)
            resolve(new Server(child, m[1]))
          }
        }
      }
      child.stdout.on("data", onData)
      child.stderr.on("data", onData)
      child.on("error", (err) => fail(`cannot start the server: ${err.message}`))
      child.exited.then(({ code, signal }) =>
        fail(`the server exited (code ${code}, signal ${signal}) before it was listening`),
      )
    })
  }

  // stop sends SIGTERM and waits for the exit; the server must drain and
  // exit 0.
  async stop() {
    this.child.kill("SIGTERM")
    const timeout = new Promise((resolve) =>
      setTimeout(() => resolve("timeout"), STOP_TIMEOUT_MS),
    )
    const result = await Promise.race([this.child.exited, timeout])
    if (result === "timeout") {
      this.child.kill("SIGKILL")
      throw new Error(`the server did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM`)
    }
    if (result.code !== 0) {
      throw new Error(
        `the server exited with code ${result.code} (signal ${result.signal}) after SIGTERM; log:\n${this.child.log.join("\n")}`,
      )
    }
  }

  streamUrl(name) {
    return `${this.url}/v1/stream/${name}`
  }
}

function runGoAppend(dataDir, stream, count) {
  const args = ["--data", dataDir, "--stream", stream, "--count", String(count)]
  const [file, argv] = process.env.GOAPPEND_BIN
    ? [process.env.GOAPPEND_BIN, args]
    : ["go", ["run", "./internal/tools/goappend", ...args]]
  return new Promise((resolve, reject) => {
    execFile(file, argv, { cwd: repoRoot, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`goappend failed: ${err.message}\n${stderr}`))
      else resolve(stdout)
    })
  })
}

async function waitFor(what, cond, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(10)
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const range = (from, to) => Array.from({ length: to - from }, (_, i) => from + i)

// producer makes an IdempotentProducer whose batch errors land in errors.
function producer(handle, id, opts = {}) {
  const errors = []
  const p = new IdempotentProducer(handle, id, {
    lingerMs: 2,
    ...opts,
    onError: (err) => errors.push(err),
  })
  p.errors = errors
  return p
}

async function readAll(url, offset = "-1") {
  const res = await new DurableStream({ url }).stream({ offset, live: false })
  const items = await res.json()
  return { items, offset: res.offset }
}

// follow subscribes from offset in the given live mode and collects items.
async function follow(url, offset, live) {
  const res = await new DurableStream({ url }).stream({ offset, live })
  const got = { items: [], offsets: [], res }
  got.unsubscribe = res.subscribeJson((batch) => {
    got.items.push(...batch.items)
    got.offsets.push(batch.offset)
  })
  got.stop = () => {
    got.unsubscribe()
    res.cancel()
  }
  return got
}

function expectNonDecreasing(offsets) {
  for (let i = 1; i < offsets.length; i++) {
    expect(offsets[i] >= offsets[i - 1], `offset ${offsets[i]} after ${offsets[i - 1]}`).toBe(true)
  }
}

describe("official client against the server", () => {
  let dataDir
  let server

  beforeAll(async () => {
    if (!serverCmd && !rewindBin) {
      throw new Error("set REWIND_BIN to the built rewind binary (or DS_SERVER_CMD); scripts/test.sh client does")
    }
    dataDir = mkdtempSync(path.join(tmpdir(), "rewind-client-"))
    server = await Server.start(dataDir)
  }, START_TIMEOUT_MS + 5_000)

  afterAll(async () => {
    if (server && running.has(server.child)) await server.stop().catch(() => {})
    for (const child of running) child.kill("SIGKILL")
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  }, STOP_TIMEOUT_MS + 5_000)

  let savedOffset
  const first = range(0, 200).map((i) => ({ i, batch: "first" }))
  const second = range(200, 250).map((i) => ({ i, batch: "second" }))

  test("an idempotent producer writes; a catch-up read returns every item in order", async () => {
    const url = server.streamUrl("client/orders")
    const handle = await DurableStream.create({ url, contentType: JSON_TYPE })
    const p = producer(handle, "orders-writer", { epoch: 0 })
    for (const item of first) p.append(JSON.stringify(item))
    await p.flush()
    expect(p.errors).toEqual([])

    const { items, offset } = await readAll(url)
    expect(items).toEqual(first)
    expect(offset).toBeTruthy()
    expect(offset).not.toBe("-1")
    savedOffset = offset

    // The producer's next batches continue the same session.
    for (const item of second) p.append(JSON.stringify(item))
    await p.flush()
    expect(p.errors).toEqual([])
  }, 30_000)

  test("a read resumed from a saved offset returns only the newer items", async () => {
    const url = server.streamUrl("client/orders")
    const resumed = await readAll(url, savedOffset)
    expect(resumed.items).toEqual(second)
    expect(resumed.offset > savedOffset).toBe(true)

    const atTail = await readAll(url, resumed.offset)
    expect(atTail.items).toEqual([])
    expect(atTail.offset).toBe(resumed.offset)

    const all = await readAll(url)
    expect(all.items).toEqual([...first, ...second])
    expect(all.offset).toBe(resumed.offset)
  }, 30_000)

  for (const live of ["long-poll", "sse"]) {
    test(`a live ${live} reader receives what is appended while it is subscribed`, async () => {
      const url = server.streamUrl(`client/live-${live}`)
      const handle = await DurableStream.create({ url, contentType: JSON_TYPE })
      for (const i of range(0, 3)) await handle.append(JSON.stringify({ before: i }))
      const head = await handle.head()
      expect(head.exists).toBe(true)

      const got = await follow(url, head.offset, live)
      try {
        const want = []
        // Bursts close together, then one after a pause longer than the
        // server's long-poll timeout (an empty 204 and a new poll in between).
        for (const [round, pause] of [[0, 20], [1, 20], [2, 900], [3, 20]]) {
          await sleep(pause)
          for (const i of range(0, 5)) {
            const item = { live, round, i }
            want.push(item)
            await handle.append(JSON.stringify(item))
          }
          await waitFor(`round ${round} over ${live}`, () => got.items.length >= want.length)
        }
        await sleep(100) // nothing more may arrive
        expect(got.items).toEqual(want)
        expectNonDecreasing(got.offsets)
      } finally {
        got.stop()
      }
    }, 30_000)
  }

  test("a restart of the server loses and duplicates nothing", async () => {
    const name = "client/restart"
    let url = server.streamUrl(name)
    const handle = await DurableStream.create({ url, contentType: JSON_TYPE })
    const before = range(0, 100).map((i) => ({ i, side: "before" }))
    const after = range(100, 150).map((i) => ({ i, side: "after" }))
    const p = producer(handle, "restart-writer", { epoch: 0 })
    for (const item of before) p.append(JSON.stringify(item))
    await p.flush()
    expect(p.errors).toEqual([])
    const read1 = await readAll(url)
    expect(read1.items).toEqual(before)

    await server.stop()
    server = await Server.start(dataDir)
    url = server.streamUrl(name)

    const handle2 = await DurableStream.connect({ url })
    expect(handle2.contentType).toMatch(/^application\/json/)
    expect((await handle2.head()).offset).toBe(read1.offset)

    // The producer's state survived: a replay of its first batch is a
    // duplicate (204) and stores nothing.
    const replay = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": JSON_TYPE,
        "producer-id": "restart-writer",
        "producer-epoch": "0",
        "producer-seq": "0",
      },
      body: JSON.stringify([{ replayed: true }]),
    })
    expect(replay.status).toBe(204)

    // A live reader from the saved offset, and the writer restarted with a
    // new epoch as a restarted producer must.
    const got = await follow(url, read1.offset, "long-poll")
    try {
      const p2 = producer(handle2, "restart-writer", { epoch: 1 })
      for (const item of after) p2.append(JSON.stringify(item))
      await p2.flush()
      expect(p2.errors).toEqual([])
      await waitFor("the items written after the restart", () => got.items.length >= after.length)
      await sleep(100)
      expect(got.items).toEqual(after)
    } finally {
      got.stop()
    }

    const resumed = await readAll(url, read1.offset)
    expect(resumed.items).toEqual(after)
    const all = await readAll(url)
    expect(all.items).toEqual([...before, ...after])

    // The stream written before the restart by the first tests is intact.
    const orders = await readAll(server.streamUrl("client/orders"))
    expect(orders.items).toEqual([...first, ...second])
  }, 60_000)

  test("a newer epoch fences the old producer; autoClaim recovers", async () => {
    const url = server.streamUrl("client/fenced")
    const handle = await DurableStream.create({ url, contentType: JSON_TYPE })

    const a = producer(handle, "fenced-writer", { epoch: 0 })
    a.append(JSON.stringify({ from: "a", n: 1 }))
    await a.flush()
    expect(a.errors).toEqual([])

    const b = producer(handle, "fenced-writer", { epoch: 1 })
    b.append(JSON.stringify({ from: "b", n: 1 }))
    await b.flush()
    expect(b.errors).toEqual([])

    a.append(JSON.stringify({ from: "a", n: 2 }))
    await a.flush()
    expect(a.errors).toHaveLength(1)
    expect(a.errors[0]).toBeInstanceOf(StaleEpochError)
    expect(a.errors[0].currentEpoch).toBe(1)

    // The same refusal over plain HTTP: 403 with the current epoch.
    const raw = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": JSON_TYPE,
        "producer-id": "fenced-writer",
        "producer-epoch": "0",
        "producer-seq": "1",
      },
      body: JSON.stringify({ from: "raw" }),
    })
    expect(raw.status).toBe(403)
    expect(raw.headers.get("producer-epoch")).toBe("1")

    const c = producer(handle, "fenced-writer", { epoch: 0, autoClaim: true })
    c.append(JSON.stringify({ from: "c", n: 1 }))
    c.append(JSON.stringify({ from: "c", n: 2 }))
    await c.flush()
    expect(c.errors).toEqual([])
    expect(c.epoch).toBe(2)

    const { items } = await readAll(url)
    expect(items).toEqual([
      { from: "a", n: 1 },
      { from: "b", n: 1 },
      { from: "c", n: 1 },
      { from: "c", n: 2 },
    ])
  }, 30_000)

  test.skipIf(Boolean(serverCmd))(
    "a stream appended by Go code reads back over HTTP",
    async () => {
      const count = 25
      // The data directory is locked while the server runs.
      await expect(runGoAppend(dataDir, "go/appended", count)).rejects.toThrow(/locked/)
      await server.stop()
      await runGoAppend(dataDir, "go/appended", count)
      server = await Server.start(dataDir)
      const url = server.streamUrl("go/appended")

      const head = await DurableStream.head({ url })
      expect(head.exists).toBe(true)
      expect(head.contentType).toMatch(/^application\/json/)

      // eventstore/durablestreams/doc.go: an event Go code appended reads as
      // {"type", "id", "version", "timestamp" (store time, Unix ms), "data"}.
      const before = Date.now()
      const { items } = await readAll(url)
      expect(items).toHaveLength(count)
      items.forEach((item, i) => {
        expect(item.type).toBe("go.appended")
        expect(item.data).toEqual({ n: i })
        expect(item.version).toBe(i + 1)
        expect(typeof item.id).toBe("string")
        expect(item.timestamp).toBeGreaterThan(before - 10 * 60_000)
        expect(item.timestamp).toBeLessThanOrEqual(before)
      })
      expect(new Set(items.map((item) => item.id)).size).toBe(count)

      // Live from the start sees the same items, then the server's tail.
      const got = await follow(url, "-1", "sse")
      try {
        await waitFor("the Go-appended items over SSE", () => got.items.length >= count)
        await sleep(100)
        expect(got.items.map((item) => item.data)).toEqual(range(0, count).map((n) => ({ n })))
      } finally {
        got.stop()
      }
    },
    180_000,
  )
})

// mintToken runs `rewind token` and returns the token and its file line.
function mintToken(...scopes) {
  const args = ["token", ...scopes.flatMap((s) => ["--scope", s])]
  return new Promise((resolve, reject) => {
    execFile(rewindBin, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`rewind token failed: ${err.message}\n${stderr}`))
      const [token, line] = stdout.trim().split("\n")
      resolve({ token, line })
    })
  })
}

describe.skipIf(Boolean(serverCmd))("official client against a server with tokens", () => {
  let dataDir
  let server
  let writer
  let reader

  beforeAll(async () => {
    if (!rewindBin) throw new Error("set REWIND_BIN to the built rewind binary; scripts/test.sh client does")
    dataDir = mkdtempSync(path.join(tmpdir(), "rewind-client-auth-"))
    writer = await mintToken("write:auth/*", "read:auth")
    reader = await mintToken("read:auth")
    const tokens = path.join(dataDir, "tokens")
    writeFileSync(tokens, `${writer.line}\n${reader.line}\n`, { mode: 0o600 })
    server = await Server.start(path.join(dataDir, "data"), ["--auth-tokens", tokens])
  }, START_TIMEOUT_MS + 10_000)

  afterAll(async () => {
    try {
      if (server) await server.stop()
    } finally {
      if (dataDir) rmSync(dataDir, { recursive: true, force: true })
    }
  }, STOP_TIMEOUT_MS + 5_000)

  test("a token in the headers option creates, appends, reads and follows", async () => {
    const url = server.streamUrl("auth/chat")
    const headers = { Authorization: `Bearer ${writer.token}` }
    const handle = await DurableStream.create({ url, contentType: JSON_TYPE, headers })
    const p = producer(handle, "auth-writer")
    for (const n of range(0, 20)) p.append(JSON.stringify({ n }))
    await p.flush()
    expect(p.errors).toEqual([])

    // A read-only token reads (a function in headers is called per request).
    const readHeaders = { Authorization: () => `Bearer ${reader.token}` }
    const res = await new DurableStream({ url, headers: readHeaders }).stream({ offset: "-1", live: false })
    expect(await res.json()).toEqual(range(0, 20).map((n) => ({ n })))

    // Live by long-poll with the token.
    const live = await new DurableStream({ url, headers: readHeaders }).stream({ offset: res.offset, live: "long-poll" })
    const got = []
    const unsubscribe = live.subscribeJson((batch) => got.push(...batch.items))
    try {
      await new DurableStream({ url, headers, contentType: JSON_TYPE }).append(JSON.stringify({ n: 20 }))
      await waitFor("the item appended after the long-poll began", () => got.length >= 1)
      expect(got).toEqual([{ n: 20 }])
    } finally {
      unsubscribe()
      live.cancel()
    }
  }, 60_000)

  test("without a token: 401 with a Bearer challenge; a read-only token cannot write", async () => {
    const url = server.streamUrl("auth/chat")
    const plain = await fetch(`${url}?offset=-1`)
    expect(plain.status).toBe(401)
    expect(plain.headers.get("www-authenticate")).toMatch(/^Bearer /)
    await expect(new DurableStream({ url }).stream({ offset: "-1", live: false })).rejects.toMatchObject({ status: 401 })
    await expect(DurableStream.create({ url: server.streamUrl("auth/nope"), contentType: JSON_TYPE })).rejects.toMatchObject({ status: 401 })

    const readOnly = { Authorization: `Bearer ${reader.token}` }
    await expect(
      DurableStream.create({ url: server.streamUrl("auth/other"), contentType: JSON_TYPE, headers: readOnly }),
    ).rejects.toMatchObject({ status: 403 })
    const del = await fetch(url, { method: "DELETE", headers: readOnly })
    expect(del.status).toBe(403)
    expect(await del.text()).toMatch(/delete:auth\/chat/)
    // Preflights need no token (CORS), and still allow everyone.
    const pre = await fetch(url, { method: "OPTIONS" })
    expect(pre.status).toBe(204)
    expect(pre.headers.get("access-control-allow-origin")).toBe("*")
  }, 30_000)
})
