// The Durable Streams conformance suite, run against the server at
// CONFORMANCE_TEST_URL. The package's own command-line runner finds no test
// files when it is installed from npm, so this one file is the runner.
import { runConformanceTests } from "@durable-streams/server-conformance-tests"

runConformanceTests({
  baseUrl: process.env.CONFORMANCE_TEST_URL ?? "http://127.0.0.1:4438",
  longPollTimeoutMs: Number(process.env.CONFORMANCE_LONG_POLL_MS ?? "20000"),
  subscriptions: process.env.CONFORMANCE_SUBSCRIPTIONS === "1",
})
