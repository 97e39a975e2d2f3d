package eventstore

import (
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rewindhq/rewind/internal/natsretry"
)

// Where a replicated log ends.
//
// A read sees every append acknowledged before it began, so it first asks
// where the log ends (its info's last sequence) and waits for the read
// index to get there. On a cluster that answer must come from a server
// that knows: only the log's leader orders commits, and each is
// acknowledged once a majority of the replicas holds it, so a replica
// outside that majority may hold far less. Yet JetStream lets a replica
// answer the log's info from its own state once the log has had no leader
// for a few seconds (too few nodes up to elect one), and a leader cut off
// from its replicas keeps answering for 10 to 20 s before it steps down,
// though a new leader may have been elected on the other side meanwhile.
// Either answer, taken as the log's end, makes a read return a prefix of
// the stream as if it were all of it.
//
// So an answer counts only from a leader that has heard from a majority
// of the replicas lately (itself one of them): the info says, per
// replica, how long ago its leader last heard from it (Active). A leader
// hears from each replica at every commit, and at least every 1 to 2 s
// when there is nothing to replicate (its heartbeat, sent once a second
// to a replica not written to in the last second), and a replica calls
// an election only after 4 to 9 s without hearing from the leader: a
// leader that heard from a majority within quorumRecent can hardly have
// been replaced by a leader they elected, while one that has not is cut
// off from them. Any other answer is natsretry.ErrNoQuorum, transient:
// the read asks again until the caller's deadline and then fails with
// ErrUnavailable. Whether a replica is "current" is not used: the leader
// reports one that is a single commit behind as not current, which under
// load it often is.

// quorumRecent bounds how long ago the log's leader may last have heard
// from a replica it counts towards a majority: three heartbeat
// intervals, above an idle leader's longest gap (2 s), under the
// shortest election timeout (4 s).
const quorumRecent = 3 * time.Second

// checkQuorum returns nil when info describes a log of one replica or was
// answered by a leader that has heard from a majority of the log's
// replicas within quorumRecent, and otherwise an error wrapping
// natsretry.ErrNoQuorum that says which.
func checkQuorum(info *jetstream.StreamInfo) error {
	if info.Config.Replicas <= 1 {
		return nil
	}
	ci := info.Cluster
	if ci == nil || ci.Leader == "" {
		return fmt.Errorf("the log has no leader (fewer than a majority of its %d replicas are up): %w",
			info.Config.Replicas, natsretry.ErrNoQuorum)
	}
	// The leader leaves itself out of its replicas.
	n := max(info.Config.Replicas, len(ci.Replicas)+1)
	heard := 1
	for _, r := range ci.Replicas {
		// An Active of zero is a replica the leader has not heard from
		// since it became leader, not one heard from just now.
		if !r.Offline && r.Active > 0 && r.Active < quorumRecent {
			heard++
		}
	}
	if heard <= n/2 {
		return fmt.Errorf("the log's leader %s has heard from %d of its %d replicas (itself included) in the last %v, fewer than a majority: %w",
			ci.Leader, heard, n, quorumRecent, natsretry.ErrNoQuorum)
	}
	return nil
}
