package eventstore

import (
	"context"
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
func (s *Store) KeyValue(ctx context.Context, bucket string) (jetstream.KeyValue, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	kv, err := s.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      bucket,
		Description: "Rewind state beside the log " + s.jsName,
		Storage:     jetstream.FileStorage,
		Replicas:    s.cfg.replicas,
		History:     1,
	})
	if err != nil {
		return nil, s.closedOr(fmt.Errorf("eventstore: key-value bucket %q: %w", bucket, err))
	}
	return kv, nil
}
