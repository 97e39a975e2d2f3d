package eventstore

import (
	"time"

	"github.com/google/uuid"
)

// Well-known metadata keys. Metadata is free-form; these names are the ones
// the layers above Rewind's store read and write.
const (
	MetaCorrelationID = "correlation-id"
	MetaCausationID   = "causation-id"
)

// Event is one fact in a stream.
//
// The caller sets ID (a UUID v7 is generated when it is the zero UUID),
// Type, Time (the producer's clock; now when zero; kept as an instant to
// the nanosecond, its zone not kept: reads return it in the local zone;
// between 1677-09-21 and 2262-04-11, which int64 nanoseconds since 1970
// hold: another is ErrInvalidEvent), Data (JSON by convention, any bytes
// allowed) and Metadata. The store sets Stream, Version, Offset, StoredAt
// and CommandID on the events it returns from reads; they are ignored on
// append.
type Event struct {
	ID       uuid.UUID
	Type     string
	Time     time.Time
	Data     []byte
	Metadata map[string]string

	// Stream is the name of the stream the event belongs to.
	Stream string
	// Version is the event's 1-based position in its stream.
	Version uint64
	// Offset is the log position right after the event: read from it to
	// resume after this event.
	Offset Offset
	// StoredAt is the JetStream server's clock when it stored the event's
	// commit; every event of one Append shares it.
	StoredAt time.Time
	// CommandID is the command id the event's Append recorded
	// (WithCommandID), "" if none; every event of one Append shares it.
	CommandID string
}

// CorrelationID returns the event's correlation id metadata, if any.
func (e Event) CorrelationID() string { return e.Metadata[MetaCorrelationID] }

// CausationID returns the event's causation id metadata, if any.
func (e Event) CausationID() string { return e.Metadata[MetaCausationID] }
