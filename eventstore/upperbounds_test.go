package eventstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// TestCheckUpperBounds: the options that only bound where a read ends
// pass; those that say where it starts, and options invalid in
// themselves, do not.
func TestCheckUpperBounds(t *testing.T) {
	at := eventstore.Offset("00000000000000000007_999999")
	for _, c := range []struct {
		name string
		opts []eventstore.ReadOption
		want error
	}{
		{"none", nil, nil},
		{"ToOffset", []eventstore.ReadOption{eventstore.ToOffset(at)}, nil},
		{"ToTime", []eventstore.ReadOption{eventstore.ToTime(time.Now())}, nil},
		{"ToVersion", []eventstore.ReadOption{eventstore.ToVersion(3)}, nil},
		{"BorrowData", []eventstore.ReadOption{eventstore.BorrowData(), eventstore.ToOffset(at)}, nil},
		{"From", []eventstore.ReadOption{eventstore.ToOffset(at), eventstore.From(at)}, eventstore.ErrInvalidOption},
		{"From Start", []eventstore.ReadOption{eventstore.From(eventstore.Start)}, eventstore.ErrInvalidOption},
		{"From Now", []eventstore.ReadOption{eventstore.From(eventstore.Now)}, eventstore.ErrInvalidOption},
		{"FromVersion", []eventstore.ReadOption{eventstore.FromVersion(2)}, eventstore.ErrInvalidOption},
		{"zero time", []eventstore.ReadOption{eventstore.ToTime(time.Time{})}, eventstore.ErrInvalidOption},
		{"bad offset", []eventstore.ReadOption{eventstore.ToOffset("12")}, eventstore.ErrInvalidOffset},
	} {
		err := eventstore.CheckUpperBounds(c.opts...)
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}
