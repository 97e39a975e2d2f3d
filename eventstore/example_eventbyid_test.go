package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/google/uuid"

	"github.com/rewindhq/rewind/eventstore"
)

func ExampleStore_EventByID() {
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

	// An ID from a log line or a trace: which stream, which version?
	id := uuid.MustParse("0193a5c0-0000-7000-8000-000000000042")
	_, err = store.Append(ctx, "orders/42", []eventstore.Event{
		{Type: "OrderPlaced", Data: []byte(`{"customer":"c-7"}`)},
		{ID: id, Type: "OrderPaid", Data: []byte(`{"amount":120}`)},
	})
	if err != nil {
		log.Fatal(err)
	}
	e, err := store.EventByID(ctx, id)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Stream, e.Version, e.Type)

	_, err = store.EventByID(ctx, uuid.MustParse("0193a5c0-0000-7000-8000-000000000043"))
	fmt.Println("unknown id:", errors.Is(err, eventstore.ErrNotFound))
	// Output:
	// orders/42 2 OrderPaid
	// unknown id: true
}
