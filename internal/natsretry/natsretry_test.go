package natsretry

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A cluster's "not now" answers are transient in both of nats.go's API
// error types: a key-value bucket's watch (its older API) answered "nats:
// JetStream system temporarily unavailable" while the meta layer had no
// leader, which was taken for a lasting failure (a 500 from rewind serve
// for a read of a stream's metadata).
func TestTransientAPIErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&jetstream.APIError{Code: 503, ErrorCode: 10008, Description: "JetStream system temporarily unavailable"}, true},
		{&nats.APIError{Code: 503, ErrorCode: 10008, Description: "JetStream system temporarily unavailable"}, true},
		{fmt.Errorf("watch: %w", &nats.APIError{Code: 503, ErrorCode: 10008}), true},
		{&nats.APIError{Code: 500, ErrorCode: 10009}, true},
		{&nats.APIError{Code: 503}, true},
		// A replica without a leader answered: ask again.
		{fmt.Errorf("the log has no leader: %w", ErrNoQuorum), true},
		{&nats.APIError{Code: 404, ErrorCode: 10059, Description: "stream not found"}, false},
		{&jetstream.APIError{Code: 400, ErrorCode: 10071, Description: "wrong last sequence"}, false},
		// Out of storage: a 503, but asking again changes nothing.
		{&jetstream.APIError{Code: 503, ErrorCode: 10023, Description: "insufficient resources"}, false},
		{fmt.Errorf("publish: %w", &jetstream.APIError{Code: 500, ErrorCode: 10047, Description: "storage resources exceeded"}), false},
	} {
		if got := Transient(tc.err); got != tc.want {
			t.Errorf("Transient(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestStorageFull(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&jetstream.APIError{Code: 503, ErrorCode: 10023, Description: "insufficient resources"}, true},
		{&nats.APIError{Code: 503, ErrorCode: 10023}, true},
		{fmt.Errorf("publish: %w", &jetstream.APIError{Code: 500, ErrorCode: 10047}), true},
		{&jetstream.APIError{Code: 400, ErrorCode: 10002, Description: "account resources exceeded"}, true},
		{&jetstream.APIError{Code: 500, ErrorCode: 10028}, true},
		{&jetstream.APIError{Code: 503, ErrorCode: 10008}, false},
		{nats.ErrTimeout, false},
		{nil, false},
	} {
		if got := StorageFull(tc.err); got != tc.want {
			t.Errorf("StorageFull(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestErrSaysHowLongTheTriesWent: a call whose tries all failed with a
// transient error wraps ErrUnavailable and the last try's error, and says
// how many tries it made over how long, so that the last try's own
// deadline does not read as the caller's.
func TestErrSaysHowLongTheTriesWent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	tries := 0
	err := Do(ctx, func(ctx context.Context) error {
		tries++
		return context.DeadlineExceeded
	})
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Do = %v, want ErrUnavailable wrapping the last try's error", err)
	}
	want := regexp.MustCompile(`^eventstore: cluster unavailable \(` + strconv.Itoa(tries) + ` tries in (\d00ms|\d(\.\d)?s), the last: context deadline exceeded\)`)
	if tries < 2 || !want.MatchString(err.Error()) {
		t.Errorf("after %d tries: %q, want it to match %s", tries, err, want)
	}
}

// TestStorageFullIsNotRetried: a call refused for want of storage is tried
// once and fails with ErrStorageFull, not ErrUnavailable.
func TestStorageFullIsNotRetried(t *testing.T) {
	tries := 0
	err := DoFrom(New(context.Background(), context.Background()), func(context.Context) error {
		tries++
		return &jetstream.APIError{Code: 503, ErrorCode: 10023, Description: "insufficient resources"}
	})
	if tries != 1 || !errors.Is(err, ErrStorageFull) || errors.Is(err, ErrUnavailable) {
		t.Errorf("%d tries, %v; want one try and ErrStorageFull", tries, err)
	}
}
