package eventstore

// Idempotent producers.
//
// A producer is identified per stream by an id. It writes with an epoch
// (bumped by every new instance of the producer) and a sequence number per
// append (0, 1, 2, ... within an epoch). The store keeps, per (stream,
// producer), the current epoch and the last sequence accepted, and decides
// every producer append by the rules below, the same as the Durable Streams
// protocol's. The state is not kept aside: it is the producer mark carried
// by the producer's newest commit in the stream, so it is stored atomically
// with the data it admits, needs no time window and lives as long as the
// stream. The read index keeps one record per (stream, producer), so the
// state grows with the number of producers and never with the number of
// events.
//
//	stored state   append (epoch e, seq n)      outcome
//	none           n = 0, any e                 accepted
//	none           n ≠ 0                        ErrSequenceGap, expected 0
//	epoch E        e < E                        ErrStaleEpoch, current E
//	epoch E        e > E, n = 0                 accepted, epoch becomes e
//	epoch E        e > E, n ≠ 0                 ErrInvalidProducer
//	E, last L      e = E, n ≤ L                 duplicate: nothing stored
//	E, last L      e = E, n = L+1               accepted
//	E, last L      e = E, n > L+1               ErrSequenceGap, expected L+1
//
// Validation and the append are serialized per stream (and so per
// producer) in the process, and across processes by JetStream's check of
// the stream's last sequence: a commit decided on a state that another
// writer changed meanwhile is refused by the server and decided again.

// WithProducer makes the append an idempotent producer's append with
// sequence number seq at epoch: the producer rules (the package doc's
// table) decide it before
// any ExpectVersion check, and a duplicate returns a result with Duplicate
// set and no error. The events of the append are the unit that seq numbers.
//
// Any uint64 epoch is taken. A producer id that HTTP clients share (the
// Durable Streams protocol, rewind serve) must keep its epochs under 2^53:
// those clients count in JavaScript's numbers, and the server takes an
// epoch at most 2^20 above the current one, so a Go producer that went
// past 2^53−1 would fence them for good.
func WithProducer(id string, epoch, seq uint64) AppendOption {
	return func(c *appendConfig) {
		c.producer = &producerMark{id: id, epoch: epoch, firstSeq: seq, lastSeq: seq}
	}
}

// producerDecision is the outcome of the rules for one append of units
// sequence numbers starting at pm.firstSeq.
type producerDecision struct {
	duplicate bool
	skipUnits int // leading units already stored (same epoch, partly stored batch)
	err       error
}

// CheckProducerAppend returns the *ProducerError the producer rules
// (WithProducer) refuse an append of producer id at epoch and sequence
// number seq with, given what the stream holds of the producer as
// ProducerState reports it (storedEpoch, lastSeq, known), or nil when
// they take it, as new or as a duplicate. A caller that must decide on
// the producer before anything else of a request (a protocol's order)
// asks it rather than restate the rules.
func CheckProducerAppend(stream, id string, epoch, seq, storedEpoch, lastSeq uint64, known bool) error {
	return decideProducer(stream, producerState{epoch: storedEpoch, lastSeq: lastSeq}, known,
		&producerMark{id: id, epoch: epoch, firstSeq: seq, lastSeq: seq}, 1).err
}

func decideProducer(stream string, st producerState, known bool, pm *producerMark, units int) producerDecision {
	perr := func(kind error) *ProducerError {
		return &ProducerError{Kind: kind, Stream: stream, Producer: pm.id, Epoch: pm.epoch, Seq: pm.firstSeq}
	}
	last := pm.firstSeq + uint64(units) - 1
	switch {
	case !known:
		if pm.firstSeq != 0 {
			e := perr(ErrSequenceGap)
			e.ExpectedSeq = 0
			return producerDecision{err: e}
		}
		return producerDecision{}
	case pm.epoch < st.epoch:
		e := perr(ErrStaleEpoch)
		e.CurrentEpoch = st.epoch
		return producerDecision{err: e}
	case pm.epoch > st.epoch:
		if pm.firstSeq != 0 {
			e := perr(ErrInvalidProducer)
			e.CurrentEpoch = st.epoch
			e.Reason = "a new epoch must start at sequence 0"
			return producerDecision{err: e}
		}
		return producerDecision{}
	case last <= st.lastSeq:
		return producerDecision{duplicate: true}
	case pm.firstSeq <= st.lastSeq:
		return producerDecision{skipUnits: int(st.lastSeq - pm.firstSeq + 1)}
	case pm.firstSeq == st.lastSeq+1:
		return producerDecision{}
	default:
		e := perr(ErrSequenceGap)
		e.ExpectedSeq = st.lastSeq + 1
		return producerDecision{err: e}
	}
}
