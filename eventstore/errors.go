package eventstore

import (
	"errors"
	"fmt"

	"github.com/rewindhq/rewind/internal/natsretry"
)

// Sentinel errors. Every error the package returns for one of these
// conditions satisfies errors.Is with the matching sentinel; richer errors
// (ConcurrencyError, ProducerError) carry the facts as fields.
var (
	// ErrLocked means the store directory is held by another opener, in this
	// process or another one. JetStream takes no lock of its own and two
	// servers on one directory corrupt it, so the store refuses to share.
	ErrLocked = errors.New("eventstore: store directory is locked")

	// ErrClosed is returned by calls on a closed Store or Producer.
	ErrClosed = errors.New("eventstore: closed")

	// ErrInvalidStreamName is returned for a stream or category name that
	// cannot be stored: empty, empty or dot segments, control characters,
	// invalid UTF-8 or longer than MaxStreamNameLen.
	ErrInvalidStreamName = errors.New("eventstore: invalid stream name")

	// ErrInvalidOffset is returned for an offset string that is neither
	// Start ("-1"), Now ("now") nor one the store handed out.
	ErrInvalidOffset = errors.New("eventstore: invalid offset")

	// ErrInvalidEvent is returned for an append whose events cannot be
	// stored: none at all, an empty type name, an empty metadata key, a
	// Time before 1677-09-21 or after 2262-04-11 (see Event).
	ErrInvalidEvent = errors.New("eventstore: invalid event")

	// ErrInvalidOption is returned for an option value that makes no sense,
	// such as a negative cache size or two conflicting read bounds.
	ErrInvalidOption = errors.New("eventstore: invalid option")

	// ErrTooLarge is returned when one append does not fit in one JetStream
	// message (the server's max_payload) or holds more than MaxEventsPerAppend
	// events, and by SaveSnapshot and SetMetadata for a snapshot or
	// metadata that does not fit in one message. Nothing is stored.
	ErrTooLarge = errors.New("eventstore: append too large")

	// ErrConcurrency is returned when an append's expected version does not
	// match the stream's actual version. The error is a *ConcurrencyError.
	ErrConcurrency = errors.New("eventstore: concurrency conflict")

	// ErrCorrupt marks data that is not what Rewind wrote: a message on a
	// stream's subject that is not a whole, valid commit following the
	// stream's previous one (only something other than Rewind can publish
	// one), or a damaged read index. Readers never yield such a message,
	// in whole or in part: the read index skips it with a warning in the
	// store's log that names the log sequence (so the reads it serves,
	// Read and the index's part of ReadCategory and ReadAll, never meet
	// it), every read of the log itself (subscriptions going live, reads
	// past what the index covers, appends catching up) skips it with the
	// same warning, and it changes no stream's events or Head. Appends to the stream go on after
	// it. Errors wrapping ErrCorrupt name the log sequence or index record.
	ErrCorrupt = errors.New("eventstore: corrupt commit")

	// ErrIndexStalled is returned by a read or an append that waited for
	// the read index to reach a log position and saw it make no progress
	// for a while (20 s, longer than a cluster takes to elect a leader and
	// the index to follow the log again): the log is unreachable or cannot
	// be read.
	ErrIndexStalled = errors.New("eventstore: read index made no progress")

	// ErrStaleEpoch is returned when a producer writes with an epoch below
	// the stream's current epoch for that producer: a newer instance has
	// fenced it. The error is a *ProducerError carrying CurrentEpoch.
	ErrStaleEpoch = errors.New("eventstore: stale producer epoch")

	// ErrNotFound is returned by a lookup (EventByID) that finds nothing.
	ErrNotFound = errors.New("eventstore: not found")

	// ErrStreamClosed is returned when an append goes to a stream that an
	// append WithClose has closed.
	ErrStreamClosed = errors.New("eventstore: stream closed")

	// ErrSequenceGap is returned when a producer's sequence number skips
	// ahead of the next expected one. The error is a *ProducerError carrying
	// ExpectedSeq and, as Seq, the sequence number received.
	ErrSequenceGap = errors.New("eventstore: producer sequence gap")

	// ErrInvalidProducer is returned for a producer id that cannot be stored
	// or for a new epoch that does not start at sequence 0.
	ErrInvalidProducer = errors.New("eventstore: invalid producer")

	// ErrUnavailable is returned when the NATS server or cluster did not
	// answer a request within the caller's deadline (10 s when its ctx has
	// none), though the store asked again and again: the cluster has no
	// leader for the log or a bucket (an election after a node died), the
	// log's leader has not heard from a majority of its replicas lately
	// (a read then cannot know where the log ends), no quorum to store a
	// commit, no server answers, the connection is re-connecting. Every
	// call whose ctx ends while it waits for the cluster, or for what
	// waits on it (an append queued behind another on its stream, a read
	// waiting for the read index to catch up with the log), fails with it,
	// and the error wraps ctx's error too (context.DeadlineExceeded or
	// context.Canceled); a call whose ctx was done before it asked
	// anything returns ctx's error alone. It is transient: the same call
	// made again once the cluster has a leader succeeds. An append that
	// fails with it may or may not have been stored, as with any error
	// that leaves the outcome unknown (see Append).
	ErrUnavailable = natsretry.ErrUnavailable

	// ErrStorageFull is returned by an append (and by anything else that
	// writes to the log: a close, a delete's tombstone) that the NATS
	// server refused for want of storage: its JetStream storage limit is
	// reached (WithStorageLimit). Nothing was stored, and asking again does
	// not help: the server takes appends again once the store is reopened
	// with a higher limit or more free disk space (a server of one's own:
	// its max_file_store raised). Until then Ready reports the store not
	// ready. Over HTTP it is a 507.
	ErrStorageFull = natsretry.ErrStorageFull

	// ErrReplicas is returned by Connect (and by the calls that make a
	// bucket or the snapshot stream) when WithReplicas asks for more
	// replicas than an existing resource has: Rewind never changes the
	// replication of what exists (raising it copies the whole log between
	// nodes, which is the operator's decision, not a client's), and it
	// does not run with less than it was asked for either. The error is a
	// *ReplicasError. It is also returned, at once, when a resource to be
	// made asks for more replicas than the cluster has servers, all of
	// them up (WithReplicas(4) on three nodes, or more than 1 on Open's
	// embedded server): a configuration error, which no retry mends,
	// unlike a replica's server that is down (ErrUnavailable, until it is
	// back).
	ErrReplicas = errors.New("eventstore: fewer replicas than asked for")
)

// ReplicasError reports a JetStream resource with fewer replicas than the
// store was asked for, or than the log has.
type ReplicasError struct {
	Resource string // the JetStream stream: the log, "KV_<bucket>", the snapshot stream
	Have     int    // its replicas
	Want     int    // the replicas asked for (WithReplicas, or the log's)
}

// Error says what to do about it.
func (e *ReplicasError) Error() string {
	return fmt.Sprintf("JetStream stream %q has %d replica(s), %d wanted: raise it (nats stream edit %s --replicas %d) or ask for fewer",
		e.Resource, e.Have, e.Want, e.Resource, e.Want)
}

// Is makes errors.Is(err, ErrReplicas) true.
func (e *ReplicasError) Is(target error) bool { return target == ErrReplicas }

// ConcurrencyError reports an append whose expectation did not hold.
type ConcurrencyError struct {
	Stream   string
	Expected uint64 // the version the caller expected (0: no stream)
	Actual   uint64 // the stream's version when the append was tried
	// Remade reports that the stream's last event is not the one
	// ExpectLast named: it was deleted and made again (or, with the
	// version also wrong, moved on) since the caller read it.
	Remade bool
}

// Error describes the conflict. It does not repeat the stream's name,
// which the operation that returns it (eventstore: append to "…": …) names.
func (e *ConcurrencyError) Error() string {
	if e.Remade && e.Expected == e.Actual {
		return fmt.Sprintf("concurrency conflict: version %d is not the one expected (the stream was deleted and made again)", e.Actual)
	}
	return fmt.Sprintf("concurrency conflict: expected version %d, actual %d", e.Expected, e.Actual)
}

// Is makes errors.Is(err, ErrConcurrency) true.
func (e *ConcurrencyError) Is(target error) bool { return target == ErrConcurrency }

// ProducerError reports an idempotent-producer append that the producer
// rules refused. Kind is ErrStaleEpoch, ErrSequenceGap or ErrInvalidProducer,
// and errors.Is matches it.
type ProducerError struct {
	Kind     error
	Stream   string
	Producer string
	Epoch    uint64 // the epoch the append carried
	Seq      uint64 // the sequence number the append carried

	CurrentEpoch uint64 // the stored epoch (ErrStaleEpoch)
	ExpectedSeq  uint64 // the next sequence the store accepts (ErrSequenceGap)
	Reason       string // what was wrong (ErrInvalidProducer; ErrStaleEpoch when the epoch is not older but taken)
}

// Error describes the refusal. It names the producer but not the stream,
// which the operation that returns it names.
func (e *ProducerError) Error() string {
	switch e.Kind {
	case ErrStaleEpoch:
		if e.Reason != "" {
			return fmt.Sprintf("producer %q: epoch %d, seq %d: %s", e.Producer, e.Epoch, e.Seq, e.Reason)
		}
		return fmt.Sprintf("producer %q: stale epoch %d, current epoch is %d", e.Producer, e.Epoch, e.CurrentEpoch)
	case ErrSequenceGap:
		return fmt.Sprintf("producer %q: sequence gap at epoch %d: expected seq %d, received %d",
			e.Producer, e.Epoch, e.ExpectedSeq, e.Seq)
	default:
		return fmt.Sprintf("producer %q: %s", e.Producer, e.Reason)
	}
}

// Is makes errors.Is match the error's Kind.
func (e *ProducerError) Is(target error) bool { return target == e.Kind }

// ErrStart is returned by the calls that need the embedded server (and by
// Started) when Open returned before the server was up and the server then
// failed to start or the log could not be opened (see Open). The error is
// a *StartError. Reads the read index can serve go on.
var ErrStart = errors.New("eventstore: the embedded server did not start")

// StartError reports why a store that Open returned early could not
// start its embedded server or open its log.
type StartError struct {
	Dir string // the store's directory
	Err error  // what went wrong
}

// Error names the store's directory and what went wrong.
func (e *StartError) Error() string {
	return fmt.Sprintf("eventstore: the embedded server on %s did not start: %v", e.Dir, e.Err)
}

// Is makes errors.Is(err, ErrStart) hold.
func (e *StartError) Is(target error) bool { return target == ErrStart }

// Unwrap returns the cause.
func (e *StartError) Unwrap() error { return e.Err }
