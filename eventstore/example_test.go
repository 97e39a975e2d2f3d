package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"sync"

	"github.com/rewindhq/rewind/eventstore"
)

func ExampleOpen() {
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

	// The directory is the store's until Close.
	_, err = eventstore.Open(ctx, dir)
	fmt.Println("second open locked:", errors.Is(err, eventstore.ErrLocked))

	res, err := store.Append(ctx, "orders/42", []eventstore.Event{
		{Type: "OrderPlaced", Data: []byte(`{"customer":"c-7"}`)},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("orders/42 is at version", res.Version)
	// Output:
	// second open locked: true
	// orders/42 is at version 1
}

func ExampleStore_Append() {
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

	// Both events are one commit: stored together or not at all.
	res, err := store.Append(ctx, "orders/42", []eventstore.Event{
		{Type: "OrderPlaced", Data: []byte(`{"customer":"c-7"}`)},
		{Type: "ItemAdded", Data: []byte(`{"sku":"mouse","qty":2}`)},
	}, eventstore.ExpectNoStream())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("versions", res.FirstVersion, "to", res.Version)
	for _, o := range res.Offsets {
		fmt.Println("offset", o)
	}

	// A decision made on version 1 is refused: the stream is at 2.
	_, err = store.Append(ctx, "orders/42", []eventstore.Event{
		{Type: "OrderCancelled"},
	}, eventstore.ExpectVersion(1))
	var conflict *eventstore.ConcurrencyError
	if errors.As(err, &conflict) {
		fmt.Println("conflict: expected", conflict.Expected, "actual", conflict.Actual)
	}
	fmt.Println("is ErrConcurrency:", errors.Is(err, eventstore.ErrConcurrency))
	// Output:
	// versions 1 to 2
	// offset 00000000000000000001_000001
	// offset 00000000000000000001_999999
	// conflict: expected 1 actual 2
	// is ErrConcurrency: true
}

func ExampleStore_Read() {
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

	for _, e := range []eventstore.Event{
		{Type: "OrderPlaced", Data: []byte(`{"customer":"c-7"}`)},
		{Type: "ItemAdded", Data: []byte(`{"sku":"mouse","qty":2}`)},
		{Type: "OrderShipped", Data: []byte(`{"carrier":"ups"}`)},
	} {
		if _, err := store.Append(ctx, "orders/42", []eventstore.Event{e}); err != nil {
			log.Fatal(err)
		}
	}

	for e, err := range store.Read(ctx, "orders/42") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(e.Version, e.Type, string(e.Data), e.Offset)
	}

	// The order as it was at version 2.
	for e, err := range store.Read(ctx, "orders/42", eventstore.ToVersion(2)) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("as of version 2:", e.Version, e.Type)
	}
	// Output:
	// 1 OrderPlaced {"customer":"c-7"} 00000000000000000001_999999
	// 2 ItemAdded {"sku":"mouse","qty":2} 00000000000000000002_999999
	// 3 OrderShipped {"carrier":"ups"} 00000000000000000003_999999
	// as of version 2: 1 OrderPlaced
	// as of version 2: 2 ItemAdded
}

func ExampleStore_Subscribe() {
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

	if _, err := store.Append(ctx, "orders/42", []eventstore.Event{{Type: "OrderPlaced"}}); err != nil {
		log.Fatal(err)
	}

	// Another part of the program ships the order while we follow it.
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		if _, err := store.Append(ctx, "orders/42", []eventstore.Event{{Type: "OrderShipped"}}); err != nil {
			log.Print(err)
		}
	})

	// The subscription catches up with what is stored, then goes live. It
	// ends, without an error, when its context is cancelled.
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var last eventstore.Offset
	for e, err := range store.Subscribe(subCtx, "orders/42") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(e.Version, e.Type)
		last = e.Offset
		if e.Type == "OrderShipped" {
			cancel()
		}
	}
	// Save last to resume later with eventstore.From(last).
	fmt.Println("resume after", last)
	// Output:
	// 1 OrderPlaced
	// 2 OrderShipped
	// resume after 00000000000000000002_999999
}

func ExampleStore_WaitStream() {
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

	res, err := store.Append(ctx, "uploads/7", []eventstore.Event{{Type: "ChunkReceived"}})
	if err != nil {
		log.Fatal(err)
	}

	// The uploader sends its last chunk and closes the stream in one
	// commit; a reader waiting at the tail wakes for the chunk, then for
	// nothing more: the stream is closed.
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		if _, err := store.Append(ctx, "uploads/7", []eventstore.Event{{Type: "ChunkReceived"}}, eventstore.WithClose()); err != nil {
			log.Print(err)
		}
	})
	after := res.Offset()
	for {
		h, err := store.WaitStream(ctx, "uploads/7", after)
		if err != nil {
			log.Fatal(err)
		}
		if h.Offset > after {
			fmt.Println("up to version", h.Version)
			after = h.Offset
		}
		if h.Closed {
			break
		}
	}
	_, err = store.Append(ctx, "uploads/7", []eventstore.Event{{Type: "ChunkReceived"}})
	fmt.Println("closed:", errors.Is(err, eventstore.ErrStreamClosed))
	// Output:
	// up to version 2
	// closed: true
}

// A store whose log is left uncompressed: for data that does not compress
// (already compressed or encrypted payloads), where S2 would only cost
// CPU. The setting applies to the log Open creates.
func ExampleWithLogCompression() {
	dir, err := os.MkdirTemp("", "rewind-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	store, err := eventstore.Open(ctx, dir, eventstore.WithLogCompression(false))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	res, err := store.Append(ctx, "blobs/1", []eventstore.Event{
		{Type: "Uploaded", Data: []byte{0x1f, 0x8b, 0x08, 0x00}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("blobs/1 is at version", res.Version)
	// Output:
	// blobs/1 is at version 1
}

// A store closed cleanly opens again without waiting for its embedded
// server: reads are served at once, and Started waits for the server (a
// health check, or a caller that wants to know appends will not wait).
func ExampleStore_Started() {
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
	if _, err := store.Append(ctx, "orders/42", []eventstore.Event{{Type: "OrderPlaced", Data: []byte(`{}`)}}); err != nil {
		log.Fatal(err)
	}
	if err := store.Close(); err != nil {
		log.Fatal(err)
	}

	store, err = eventstore.Open(ctx, dir) // returns once the read index is open
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	h, err := store.Head(ctx, "orders/42") // served by the index at once
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("orders/42 is at version", h.Version)
	if err := store.Started(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("started")
	// Output:
	// orders/42 is at version 1
	// started
}

// A caller that writes each event out at once, and keeps none, reads with
// BorrowData: the read does not copy each event's data for it.
func ExampleBorrowData() {
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

	_, err = store.Append(ctx, "orders/42", []eventstore.Event{
		{Type: "OrderPlaced", Data: []byte(`{"customer":"c-7"}`)},
		{Type: "OrderShipped", Data: []byte(`{"carrier":"ups"}`)},
	})
	if err != nil {
		log.Fatal(err)
	}

	var out []byte // a response body, say: the data is copied into it at once
	for e, err := range store.Read(ctx, "orders/42", eventstore.BorrowData()) {
		if err != nil {
			log.Fatal(err)
		}
		out = append(append(out, e.Data...), '\n')
	}
	fmt.Print(string(out))
	// Output:
	// {"customer":"c-7"}
	// {"carrier":"ups"}
}

// CheckStreamName refuses a name taken from outside before it is used,
// with the same rules and error as Append would.
func ExampleCheckStreamName() {
	for _, name := range []string{"orders/123", "orders//123", "orders/../x"} {
		err := eventstore.CheckStreamName(name)
		fmt.Printf("%-12s ok=%v invalid=%v\n", name, err == nil, errors.Is(err, eventstore.ErrInvalidStreamName))
	}
	fmt.Println(eventstore.CheckCategory("orders") == nil, eventstore.CheckCategory("orders/123") == nil)
	// Output:
	// orders/123   ok=true invalid=false
	// orders//123  ok=false invalid=true
	// orders/../x  ok=false invalid=true
	// true false
}
