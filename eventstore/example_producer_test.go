package eventstore_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/rewindhq/rewind/eventstore"
)

// After a crash, a producer resumes its numbering where what it had saved
// of Acked says, and sends again everything after it: what the store
// already holds comes back as a duplicate and is kept once, so no line is
// lost and none is stored twice. (A new Producer without WithResume would
// claim a new epoch instead, and the lines sent again would be stored a
// second time.)
func ExampleWithResume() {
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
	lines := []string{`"alpha"`, `"beta"`, `"gamma"`, `"delta"`}
	line := func(s string) eventstore.Event { return eventstore.Event{Type: "LineImported", Data: []byte(s)} }

	p, err := store.Producer(ctx, "imports/2026-12", "importer")
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range lines[:3] {
		if _, err := p.Append(ctx, line(s)); err != nil {
			log.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		log.Fatal(err)
	}
	// The importer saves these with its place in the input file.
	epoch, next := p.Acked()
	// It sends one line more, and dies before it saves again: it cannot
	// know whether the store has that line.
	if _, err := p.Append(ctx, line(lines[3])); err != nil {
		log.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		log.Fatal(err)
	}

	// The next run resumes from what was saved.
	p, err = store.Producer(ctx, "imports/2026-12", "importer", eventstore.WithResume(epoch, next))
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range lines[next:] {
		if _, err := p.Append(ctx, line(s)); err != nil {
			log.Fatal(err)
		}
	}
	if err := p.Close(ctx); err != nil {
		log.Fatal(err)
	}
	for ev, err := range store.Read(ctx, "imports/2026-12") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ev.Version, string(ev.Data))
	}
	// Output:
	// 1 "alpha"
	// 2 "beta"
	// 3 "gamma"
	// 4 "delta"
}
