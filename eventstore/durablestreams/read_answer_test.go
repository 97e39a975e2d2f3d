package durablestreams_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/rewindhq/rewind/eventstore/durablestreams"
)

// TestCatchUpAnswersConcurrent follows Stream-Next-Offset from -1 to the
// tail of a JSON and a binary stream, from several clients at once, with a
// chunk size that splits each stream into many answers: every answer's
// body is made in a buffer the handler reuses for the next answer, so a
// buffer given back before its answer was written would show here as one
// client's body holding another's messages.
func TestCatchUpAnswersConcurrent(t *testing.T) {
	store := openStore(t, t.TempDir())
	srv := newServer(t, store, durablestreams.WithChunkSize(300))
	want := map[string]string{}
	for _, sh := range []struct{ name, ctype string }{{"answers/json", "application/json"}, {"answers/bin", "application/octet-stream"}} {
		srv.do("PUT", sh.name, nil, "Content-Type", sh.ctype).must(t, 201, "PUT "+sh.name)
		var all []string
		for post := range 20 {
			var msgs []string
			for i := range 10 {
				msgs = append(msgs, fmt.Sprintf(`{"s":%q,"n":%d,"p":"%s"}`, sh.name, post*10+i, strings.Repeat("x", post)))
			}
			body := strings.Join(msgs, "")
			if sh.ctype == "application/json" {
				body = "[" + strings.Join(msgs, ",") + "]"
			}
			srv.do("POST", sh.name, []byte(body), "Content-Type", sh.ctype).must(t, 204, "POST")
			all = append(all, msgs...)
		}
		if sh.ctype == "application/json" {
			want[sh.name] = strings.Join(all, ",")
		} else {
			want[sh.name] = strings.Join(all, "")
		}
	}
	base := srv.url("")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for c := range 16 {
		name := "answers/json"
		if c%2 == 1 {
			name = "answers/bin"
		}
		wg.Go(func() {
			for range 5 {
				got, answers, err := catchUp(base+name, name == "answers/json")
				if err == nil && got != want[name] {
					err = fmt.Errorf("%s: read %q, want %q", name, got, want[name])
				}
				if err == nil && answers < 10 {
					err = fmt.Errorf("%s: %d answers, want the stream split into many", name, answers)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// catchUp reads a stream from -1 until Stream-Up-To-Date, joining a JSON
// stream's arrays.
func catchUp(url string, isJSON bool) (string, int, error) {
	var parts []string
	offset := "-1"
	for n := 1; ; n++ {
		resp, err := http.Get(url + "?offset=" + offset)
		if err != nil {
			return "", n, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			return "", n, fmt.Errorf("GET %s: %d %v %q", offset, resp.StatusCode, err, body)
		}
		if isJSON {
			if !bytes.HasPrefix(body, []byte("[")) || !bytes.HasSuffix(body, []byte("]")) {
				return "", n, fmt.Errorf("GET %s: not a JSON array: %q", offset, body)
			}
			body = body[1 : len(body)-1]
		}
		if len(body) > 0 {
			parts = append(parts, string(body))
		}
		offset = resp.Header.Get("Stream-Next-Offset")
		if resp.Header.Get("Stream-Up-To-Date") == "true" {
			sep := ""
			if isJSON {
				sep = ","
			}
			return strings.Join(parts, sep), n, nil
		}
	}
}
