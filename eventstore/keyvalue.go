package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// KeyValue returns the JetStream key-value bucket named bucket on the
// store's server, creating it (file storage, the log's replication, one
// revision a key) if it does not exist. It is how the layers above the
// store keep small, compare-and-set state beside the log without a server
// of their own: package checkpoint keeps projections' positions and leases
// in one. The bucket is not part of the log: no read or subscription sees
// it. Bucket names take the characters A-Z a-z 0-9 - _, 64 at most; any
// other is refused with ErrInvalidOption.
//
// An existing bucket is used as it is, never updated: in particular its
// replication is never lowered by a process that was given fewer replicas.
// One with fewer replicas than the log fails with a *ReplicasError when the
// store was given WithReplicas (it asked for more than the bucket has), and
// is used with a warning otherwise.
func (s *Store) KeyValue(ctx context.Context, bucket string) (jetstream.KeyValue, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if !validBucket(bucket) {
		return nil, fmt.Errorf("%w: bucket name %q: 1 to 64 letters, digits, '-' or '_'", ErrInvalidOption, bucket)
	}
	if err := s.awaitStart(ctx); err != nil {
		return nil, err
	}
	cfg := jetstream.KeyValueConfig{
		Bucket:      bucket,
		Description: "Rewind state beside the log " + s.jsName,
		Storage:     jetstream.FileStorage,
		Replicas:    s.replicas,
		History:     1,
	}
	var kv jetstream.KeyValue
	err := retry(ctx, func(ctx context.Context) (err error) {
		kv, err = s.js.KeyValue(ctx, bucket)
		if !errors.Is(err, jetstream.ErrBucketNotFound) {
			return err
		}
		kv, err = s.js.CreateKeyValue(ctx, cfg)
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = s.js.KeyValue(ctx, bucket) // made meanwhile, or by a try that timed out
		}
		return s.placementError(err, cfg.Replicas)
	})
	if err == nil {
		var st jetstream.KeyValueStatus
		if err = retry(ctx, func(ctx context.Context) (err error) { st, err = kv.Status(ctx); return err }); err == nil {
			err = s.checkReplicas("KV_"+bucket, bucketReplicas(st), s.replicas, s.cfg.replicasSet)
		}
	}
	if err != nil {
		return nil, s.closedOr(fmt.Errorf("eventstore: key-value bucket %q: %w", bucket, err))
	}
	return kv, nil
}

// bucketReplicas returns a bucket's replicas from its status.
func bucketReplicas(st jetstream.KeyValueStatus) int {
	if b, ok := st.(*jetstream.KeyValueBucketStatus); ok && b.StreamInfo() != nil {
		return b.StreamInfo().Config.Replicas
	}
	return 0
}

// kvGet reads key from kv as Get does, trying again across an election
// (retry); on a replicated bucket, a "not found", or a revision below
// atLeast (what the leader said the key has reached), is asked again of
// the bucket's leader. Get is a direct get, which any replica answers, and one
// that lags (a few milliseconds behind the two that acknowledged a write,
// or catching up after a restart) does not hold yet a key another process
// has just written: taken at its word, a stream made through one server
// would be unknown to another.
func (s *Store) kvGet(ctx context.Context, kv jetstream.KeyValue, key string, atLeast uint64) (jetstream.KeyValueEntry, error) {
	var e jetstream.KeyValueEntry
	err := retry(ctx, func(ctx context.Context) (err error) {
		e, err = kv.Get(ctx, key)
		return err
	})
	stale := errors.Is(err, jetstream.ErrKeyNotFound) || err == nil && e.Revision() < atLeast
	if s.replicas <= 1 || !stale {
		return e, err
	}
	r, lerr := s.leaderGet(ctx, "KV_"+kv.Bucket(), struct {
		LastFor string `json:"last_by_subj"`
	}{"$KV." + kv.Bucket() + "." + key})
	if lerr != nil {
		return nil, lerr
	}
	if r == nil || kvDeleted(r.Header) {
		return nil, jetstream.ErrKeyNotFound
	}
	return &kvEntry{bucket: kv.Bucket(), key: key, value: r.Data, rev: r.Seq, created: r.Time}, nil
}

// kvDeleted reports whether a bucket message's header block marks a delete
// or a purge of its key.
func kvDeleted(hdr []byte) bool {
	for _, line := range strings.Split(string(hdr), "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), "KV-Operation") {
			v = strings.TrimSpace(v)
			return v == "DEL" || v == "PURGE"
		}
	}
	return false
}

// kvEntry is a bucket entry read from the bucket's leader.
type kvEntry struct {
	bucket, key string
	value       []byte
	rev         uint64
	created     time.Time
}

func (e *kvEntry) Bucket() string                  { return e.bucket }
func (e *kvEntry) Key() string                     { return e.key }
func (e *kvEntry) Value() []byte                   { return e.value }
func (e *kvEntry) Revision() uint64                { return e.rev }
func (e *kvEntry) Created() time.Time              { return e.created }
func (e *kvEntry) Delta() uint64                   { return 0 }
func (e *kvEntry) Operation() jetstream.KeyValueOp { return jetstream.KeyValuePut }

// validBucket reports whether name is a bucket name JetStream takes: its
// own rule (letters, digits, '-' and '_'), here so that a bad name is an
// ErrInvalidOption rather than the server's untyped refusal; 64 bytes at
// most keeps the bucket's stream name ("KV_" and it) well within limits.
func validBucket(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	return allPlain(name)
}
