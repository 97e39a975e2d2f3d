package eventstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// KeyValue returns the JetStream key-value bucket named bucket on the
// store's server, creating it (file storage, the log's replication, one
// revision a key) if it does not exist. It is how the layers above the
// store keep small, compare-and-set state beside the log without a server
// of their own: package checkpoint keeps projections' positions and leases
// in one. The bucket is not part of the log: no read or subscription sees
// it. Bucket names take the characters A-Z a-z 0-9 - _.
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
		return err
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
