package durablestreams_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rewindhq/rewind/eventstore/access"
	"github.com/rewindhq/rewind/eventstore/durablestreams"
)

// BenchmarkAuthAppend appends over real HTTP on loopback, one message per
// POST and 100 per POST (a JSON array), with bearer-token authentication
// on (a tokens file of 10 tokens, the caller's scoped to its category)
// and, in the same run, without it: the ratio is what authentication
// costs. Run with -cpu and -count to compare on a loaded machine.
func BenchmarkAuthAppend(b *testing.B) {
	var lines []string
	var token string
	for i := range 10 {
		tok, line, err := access.NewToken(fmt.Sprintf("write:bench%d/*", i), fmt.Sprintf("read:bench%d", i))
		if err != nil {
			b.Fatal(err)
		}
		lines = append(lines, line)
		if i == 9 {
			token = tok
		}
	}
	tokens, err := access.ParseTokens(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		b.Fatal(err)
	}
	store := openStore(b, b.TempDir())
	one := []byte(`{"n":1,"text":"a message of a typical size, some tens of bytes"}`)
	batch := []byte("[" + strings.TrimSuffix(strings.Repeat(string(one)+",", 100), ",") + "]")
	for _, size := range []struct {
		name string
		body []byte
		msgs int
	}{{"single", one, 1}, {"batch100", batch, 100}} {
		for _, mode := range []string{"auth=off", "auth=tokens"} {
			b.Run(size.name+"/"+mode, func(b *testing.B) {
				opts := []durablestreams.Option{durablestreams.WithLogger(quietLog)}
				header := ""
				if mode == "auth=tokens" {
					opts = append(opts, durablestreams.WithAuthorizer(tokens))
					header = "Bearer " + token
				}
				h := durablestreams.New(store, opts...)
				defer h.Shutdown()
				srv := httptest.NewServer(h)
				defer srv.Close()
				url := srv.URL + "/v1/stream/bench9/" + size.name + "-" + strings.TrimPrefix(mode, "auth=")
				do := func(method string, body []byte, want int) {
					req, _ := http.NewRequest(method, url, bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					if header != "" {
						req.Header.Set("Authorization", header)
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != want && !(want == http.StatusCreated && resp.StatusCode == http.StatusOK) {
						b.Fatalf("%s: %d, want %d", method, resp.StatusCode, want)
					}
				}
				do("PUT", nil, http.StatusCreated)
				b.SetBytes(int64(len(size.body)))
				b.ResetTimer()
				for b.Loop() {
					do("POST", size.body, http.StatusNoContent)
				}
				b.ReportMetric(float64(b.N*size.msgs)/b.Elapsed().Seconds(), "msgs/s")
			})
		}
	}
}
