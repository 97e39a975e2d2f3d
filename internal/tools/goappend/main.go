// Command goappend appends events to a stream of a Rewind data directory
// through the Go API, as an application embedding the store would. The client
// end-to-end test (conformance/client.test.js) runs it while the server is
// stopped and then reads the stream over HTTP, to check that events written
// by Go code and events written through the protocol are one and the same.
//
//	goappend --data DIR --stream NAME --count N
//
// It appends N events of type "go.appended" with data {"n":i} for i in 0..N-1,
// in Appends of at most batchSize events, and prints nothing on success.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "goappend:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("goappend", flag.ContinueOnError)
	dir := fs.String("data", "", "the Rewind data directory (required)")
	stream := fs.String("stream", "", "the stream to append to (required)")
	count := fs.Int("count", 1, "how many events to append")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *stream == "" {
		return errors.New("--data and --stream are required")
	}
	if *count < 1 {
		return fmt.Errorf("--count %d: want at least 1", *count)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store, err := eventstore.Open(ctx, *dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", *dir, err)
	}
	appendErr := appendEvents(ctx, store, *stream, *count)
	closeErr := store.Close()
	if appendErr != nil {
		return fmt.Errorf("append to %s: %w", *stream, appendErr)
	}
	if closeErr != nil {
		return fmt.Errorf("close %s: %w", *dir, closeErr)
	}
	return nil
}

// batchSize bounds one Append, which is one JetStream message.
const batchSize = 500

func appendEvents(ctx context.Context, store *eventstore.Store, stream string, count int) error {
	for start := 0; start < count; start += batchSize {
		events := make([]eventstore.Event, min(batchSize, count-start))
		for i := range events {
			events[i] = eventstore.Event{Type: "go.appended", Data: fmt.Appendf(nil, `{"n":%d}`, start+i)}
		}
		if _, err := store.Append(ctx, stream, events); err != nil {
			return err
		}
	}
	return nil
}
