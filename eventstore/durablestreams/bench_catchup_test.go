package durablestreams_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore/durablestreams"
)

// BenchmarkCatchUpRead reads a stream from -1 to its tail over real HTTP on
// loopback, following Stream-Next-Offset, for messages of several shapes
// (each stream filled through POSTs of 100 messages, or one message per
// POST): what a reader catching up pays per message. Reported as
// messages read per second, and as the process's CPU time per message
// (server and client together), which a loaded machine disturbs far less
// than the rate.
func BenchmarkCatchUpRead(b *testing.B) {
	store := openStore(b, b.TempDir())
	h := durablestreams.New(store, durablestreams.WithLogger(quietLog))
	defer h.Shutdown()
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, sh := range []struct {
		name          string
		size, perPOST int
		msgs          int
		binary        bool
	}{
		{"json-20B", 20, 100, 50_000, false},
		{"json-100B", 100, 100, 50_000, false},
		{"json-1KB", 1000, 100, 10_000, false},
		{"json-100B-1-per-POST", 100, 1, 5_000, false},
		{"binary-1KB-1-per-POST", 1000, 1, 5_000, true},
	} {
		b.Run(sh.name, func(b *testing.B) {
			url := srv.URL + "/v1/stream/catchup/" + sh.name
			ctype := "application/json"
			if sh.binary {
				ctype = "application/octet-stream"
			}
			do := func(method, u string, body []byte) *http.Response {
				req, _ := http.NewRequest(method, u, bytes.NewReader(body))
				req.Header.Set("Content-Type", ctype)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				return resp
			}
			drain := func(resp *http.Response) []byte {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 300 {
					b.Fatalf("%s: %s", resp.Status, body)
				}
				return body
			}
			drain(do("PUT", url, nil))
			msg := func(n int) string {
				if sh.binary {
					return strings.Repeat("b", sh.size)
				}
				head := fmt.Sprintf(`{"n":%d,"p":"`, n)
				return head + strings.Repeat("x", max(sh.size-len(head)-2, 0)) + `"}`
			}
			for first := 0; first < sh.msgs; first += sh.perPOST {
				var parts []string
				for i := range sh.perPOST {
					parts = append(parts, msg(first+i))
				}
				body := strings.Join(parts, "")
				if !sh.binary {
					body = "[" + strings.Join(parts, ",") + "]"
				}
				drain(do("POST", url, []byte(body)))
			}
			cpu0 := cpuTime()
			b.ResetTimer()
			for b.Loop() {
				offset := "-1"
				for {
					resp := do("GET", url+"?offset="+offset, nil)
					drain(resp)
					if resp.Header.Get("Stream-Up-To-Date") != "" {
						break
					}
					offset = resp.Header.Get("Stream-Next-Offset")
				}
			}
			b.ReportMetric(float64(sh.msgs)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(sh.msgs*b.N), "cpu-ns/msg")
		})
	}
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
