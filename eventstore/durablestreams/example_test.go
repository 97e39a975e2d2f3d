package durablestreams_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/eventstore/durablestreams"
)

func ExampleNew() {
	dir, err := os.MkdirTemp("", "rewind-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	store, err := eventstore.Open(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	// Mount the protocol at /v1/stream/: /v1/stream/chat/room-1 is the
	// store's stream chat/room-1.
	ds := durablestreams.New(store, durablestreams.WithLongPollTimeout(20*time.Second))
	defer ds.Shutdown()
	mux := http.NewServeMux()
	mux.Handle("/v1/stream/", ds)
	srv := httptest.NewServer(mux) // in a real server: access.Serve(access.NewServer(mux), ln)
	defer srv.Close()
	url := srv.URL + "/v1/stream/chat/room-1"

	send := func(method, contentType, body string) *http.Response {
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			log.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	fmt.Println("PUT:", send("PUT", "application/json", "").Status)
	fmt.Println("POST:", send("POST", "application/json", `{"from":"ada","text":"hello"}`).Status)

	resp, err := http.Get(url + "?offset=-1")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println("GET:", resp.Status, string(body))

	// The message is an event of the store, at the offset HTTP answered.
	for e, err := range store.Read(ctx, "chat/room-1") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("event:", e.Type, string(e.Data), e.Offset == eventstore.Offset(resp.Header.Get("Stream-Next-Offset")))
	}
	// Output:
	// PUT: 201 Created
	// POST: 204 No Content
	// GET: 200 OK [{"from":"ada","text":"hello"}]
	// event: ds.message {"from":"ada","text":"hello"} true
}
