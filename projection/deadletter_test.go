package projection_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/rewindhq/rewind/checkpoint"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/projection"
)

// poisonFirst is a handler that fails on every event at version 1.
func poisonFirst(errText string) projection.Handler {
	return projection.HandlerFunc(func(ctx context.Context, b projection.Batch) error {
		for _, e := range b.Events {
			if e.Version == 1 {
				return errors.New(errText)
			}
		}
		return nil
	})
}

// TestProjectionNames: a projection's name is its checkpoint's and its
// dead-letter stream's, so Start refuses a name either refuses (it used to
// take them, and the DeadLetter policy then failed the projection on its
// first poison event), with ErrInvalidOption and the rule's own sentinel;
// the names it takes dead-letter a poison event and go on.
func TestProjectionNames(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	appendN(t, s, "names/1", 2)
	r := projection.NewRunner(s, nil)
	defer r.Close()
	mk := func(name string) projection.Projection {
		return projection.Projection{Name: name, Source: projection.Category("names"), Poison: projection.DeadLetter,
			Retries: projection.NoRetries, Sink: projection.AtLeastOnce(name, poisonFirst("poison"), &checkpoint.Memory{})}
	}
	for _, c := range []struct {
		name string
		rule error
	}{
		{".", eventstore.ErrInvalidStreamName},
		{"..", eventstore.ErrInvalidStreamName},
		{"a/", eventstore.ErrInvalidStreamName},
		{"a//b", eventstore.ErrInvalidStreamName},
		{"a/../b", eventstore.ErrInvalidStreamName},
		{"x\n", eventstore.ErrInvalidStreamName},
		{"\xff", eventstore.ErrInvalidStreamName},
		{strings.Repeat("n", checkpoint.MaxNameLen+1), checkpoint.ErrInvalidName},
	} {
		err := r.Start(ctx, mk(c.name))
		if !errors.Is(err, eventstore.ErrInvalidOption) || !errors.Is(err, c.rule) {
			t.Errorf("Start(%q): %v; want ErrInvalidOption and %v", c.name, err, c.rule)
		}
		if err := projection.Replay(ctx, s, mk(c.name), nil); !errors.Is(err, eventstore.ErrInvalidOption) {
			t.Errorf("Replay(%q): %v; want ErrInvalidOption", c.name, err)
		}
	}
	for _, name := range []string{"plain", "a b", "ü", "a/b", "*", ">", "$JS", strings.Repeat("n", checkpoint.MaxNameLen)} {
		if err := r.Start(ctx, mk(name)); err != nil {
			t.Errorf("Start(%q): %v", name, err)
			continue
		}
		if err := r.WaitCaughtUp(ctx, name); err != nil {
			t.Errorf("%q: %v", name, err)
		}
		n := 0
		for _, err := range s.Read(ctx, projection.DeadLetterCategory+"/"+name) {
			if err != nil {
				t.Fatalf("%q: dead letters: %v", name, err)
			}
			n++
		}
		if n != 1 {
			t.Errorf("%q: %d dead letters, want 1", name, n)
		}
		r.Stop(name)
	}
}

// TestDeadLetterFits: a dead letter always fits in an append. An event
// whose data leaves no room for the dead letter's own fields is
// dead-lettered without its data and metadata, with what finds it in the
// log and "omitted" saying so; a long error is cut. Both used to fail with
// ErrTooLarge, stopping the projection the policy was to keep going.
func TestDeadLetterFits(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, eventstore.WithMaxPayload(64<<10))
	big := []byte(`"` + strings.Repeat("x", s.MaxAppendBytes()-200) + `"`)
	if _, err := s.Append(ctx, "fits/1", []eventstore.Event{{Type: "Big", Data: big, Metadata: map[string]string{"k": "v"}}}); err != nil {
		t.Fatal(err)
	}
	var bigEvent eventstore.Event
	for e, err := range s.Read(ctx, "fits/1") {
		if err != nil {
			t.Fatal(err)
		}
		bigEvent = e
	}
	if _, err := s.Append(ctx, "fits/2", []eventstore.Event{{Type: "Small", Data: []byte(`{"n":1}`)}}); err != nil {
		t.Fatal(err)
	}
	long := "cannot parse: " + strings.Repeat("détail ", 3000) // 24 KB
	r := projection.NewRunner(s, nil)
	defer r.Close()
	if err := r.Start(ctx, projection.Projection{Name: "fits", Source: projection.Category("fits"), Poison: projection.DeadLetter,
		Retries: projection.NoRetries, Sink: projection.AtLeastOnce("fits", poisonFirst(long), &checkpoint.Memory{})}); err != nil {
		t.Fatal(err)
	}
	if err := r.WaitCaughtUp(ctx, "fits"); err != nil {
		t.Fatalf("the DeadLetter policy stopped the projection: %.300v", err)
	}
	var letters []eventstore.Event
	for e, err := range s.Read(ctx, projection.DeadLetterCategory+"/fits") {
		if err != nil {
			t.Fatal(err)
		}
		letters = append(letters, e)
	}
	if len(letters) != 2 {
		t.Fatalf("%d dead letters, want 2", len(letters))
	}
	byType := map[string]eventstore.Event{letters[0].Type: letters[0], letters[1].Type: letters[1]}
	for typ, dl := range byType {
		if msg := dl.Metadata["error"]; len(msg) > 4<<10 || !strings.HasPrefix(msg, "cannot parse: détail") {
			t.Errorf("%s: error of %d bytes, %.40q...; want at most 4 KiB, from its start", typ, len(msg), msg)
		}
	}
	bigDL, smallDL := byType["Big"], byType["Small"]
	if len(bigDL.Data) != 0 || bigDL.Metadata["omitted"] == "" || bigDL.Metadata["event-k"] != "" ||
		bigDL.ID != bigEvent.ID || bigDL.Metadata["stream"] != "fits/1" || bigDL.Metadata["version"] != "1" ||
		bigDL.Metadata["offset"] != string(bigEvent.Offset) {
		t.Errorf("dead letter of the big event: %d bytes of data, metadata %q, ID %v; want no data, what finds it in the log, and omitted",
			len(bigDL.Data), bigDL.Metadata, bigDL.ID)
	}
	if string(smallDL.Data) != `{"n":1}` || smallDL.Metadata["omitted"] != "" || smallDL.Metadata["version"] != strconv.Itoa(1) {
		t.Errorf("dead letter of the small event: %q, metadata %q; want the event whole", smallDL.Data, smallDL.Metadata)
	}
}
