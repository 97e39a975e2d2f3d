package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

// logMsg is one log message as a direct get returns it.
type logMsg struct {
	seq     uint64
	subject string
	stored  time.Time
	data    []byte
}

// directGetTimeout bounds a direct get whose ctx has no deadline.
const directGetTimeout = 5 * time.Second

// directGetBatch is how many messages one batched direct get asks for, and
// directGetMaxBytes about how many bytes (the server stops after the
// message that reaches it).
const (
	directGetBatch    = 256
	directGetMaxBytes = 1 << 20
)

// errMoreMsgs reports that a batched direct get stopped before the end of
// what matched: ask again after the last message.
var errMoreMsgs = errors.New("eventstore: more messages follow")

// subjectMsgs calls fn with the messages on subj from log sequence from on,
// in log order, in one batched direct get of at most directGetBatch
// messages; it returns errMoreMsgs when more follow. One request and its
// replies stand for what would otherwise be a round trip per message: a
// stream's last few commits cost one round trip, and they come from the
// server's cache of the log's last block.
func (s *Store) subjectMsgs(ctx context.Context, subj string, from uint64, fn func(logMsg) error) error {
	return s.directGet(ctx, s.jsName, subj, from, func(m *nats.Msg) error {
		lm, err := parseDirectMsg(m)
		if err != nil {
			return err
		}
		return fn(lm)
	})
}

// directGet calls fn with the messages of the JetStream stream js on subj
// from sequence from on, in one batched direct get (see subjectMsgs).
func (s *Store) directGet(ctx context.Context, js, subj string, from uint64, fn func(*nats.Msg) error) error {
	ctx, cancel := boundedCtx(ctx, directGetTimeout)
	defer cancel()
	req, err := json.Marshal(struct {
		Seq      uint64 `json:"seq"`
		NextFor  string `json:"next_by_subj"`
		Batch    int    `json:"batch"`
		MaxBytes int    `json:"max_bytes"`
	}{from, subj, directGetBatch, directGetMaxBytes})
	if err != nil {
		return err
	}
	inbox := s.rnc.NewInbox()
	sub, err := s.rnc.SubscribeSync(inbox)
	if err != nil {
		return s.closedOr(fmt.Errorf("eventstore: read the log: %w", err))
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := s.rnc.PublishRequest("$JS.API.DIRECT.GET."+js, inbox, req); err != nil {
		return s.closedOr(fmt.Errorf("eventstore: read the log: %w", err))
	}
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return s.closedOr(fmt.Errorf("eventstore: read the log at %d on %s: %w", from, subj, err))
		}
		if status := m.Header.Get("Status"); status != "" {
			switch status {
			case "204": // end of the batch
				if n, _ := strconv.ParseUint(m.Header.Get("Nats-Num-Pending"), 10, 64); n > 0 {
					return errMoreMsgs
				}
				return nil
			case "404": // nothing from there on
				return nil
			default:
				return fmt.Errorf("eventstore: read the log at %d on %s: status %s %s",
					from, subj, status, m.Header.Get("Description"))
			}
		}
		if err := fn(m); err != nil {
			return err
		}
	}
}

// parseDirectMsg reads a direct get reply's sequence and store time.
func parseDirectMsg(m *nats.Msg) (logMsg, error) {
	seq, err := strconv.ParseUint(m.Header.Get("Nats-Sequence"), 10, 64)
	if err != nil {
		return logMsg{}, fmt.Errorf("%w: direct get reply without a sequence: %v", ErrCorrupt, err)
	}
	ts, err := time.Parse(time.RFC3339Nano, m.Header.Get("Nats-Time-Stamp"))
	if err != nil {
		return logMsg{}, fmt.Errorf("%w: direct get reply without a time: %v", ErrCorrupt, err)
	}
	return logMsg{seq: seq, subject: m.Header.Get("Nats-Subject"), stored: time.Unix(0, ts.UnixNano()), data: m.Data}, nil
}

// logMsg returns the log message at seq, or nil if the log has none there
// (never stored, or lost). It waits until ctx ends, at most
// directGetTimeout when ctx has no deadline.
func (s *Store) logMsg(ctx context.Context, seq uint64) (*logMsg, error) {
	ctx, cancel := boundedCtx(ctx, directGetTimeout)
	defer cancel()
	req, err := json.Marshal(struct {
		Seq uint64 `json:"seq"`
	}{seq})
	if err != nil {
		return nil, err
	}
	m, err := s.rnc.RequestWithContext(ctx, "$JS.API.DIRECT.GET."+s.jsName, req)
	if err != nil {
		return nil, s.closedOr(fmt.Errorf("eventstore: read log sequence %d: %w", seq, err))
	}
	switch status := m.Header.Get("Status"); status {
	case "":
	case "404":
		return nil, nil
	default:
		return nil, fmt.Errorf("eventstore: read log sequence %d: status %s %s", seq, status, m.Header.Get("Description"))
	}
	lm, err := parseDirectMsg(m)
	if err != nil {
		return nil, err
	}
	return &lm, nil
}

// boundedCtx returns ctx, or when it has no deadline a ctx that ends after
// d: the bound of a wait whose caller set none.
func boundedCtx(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}
