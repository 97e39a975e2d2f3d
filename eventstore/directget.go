package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
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
// from sequence from on, in one batched direct get (see subjectMsgs). Any
// of the stream's replicas answers; until the first reply arrives the
// request is tried again with short deadlines (retry), so a replica that
// died does not cost a long timeout; once replies flow, the rest is read
// until ctx ends.
func (s *Store) directGet(ctx context.Context, js, subj string, from uint64, fn func(*nats.Msg) error) error {
	if err := s.awaitStart(ctx); err != nil {
		return err
	}
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
	var sub *nats.Subscription
	var m *nats.Msg
	err = retry(ctx, func(tctx context.Context) error {
		if sub != nil {
			_ = sub.Unsubscribe() // a try's late replies must not mix with the next one's
		}
		inbox := s.rnc.NewInbox()
		var err error
		if sub, err = s.rnc.SubscribeSync(inbox); err != nil {
			return err
		}
		if err := s.rnc.PublishRequest("$JS.API.DIRECT.GET."+js, inbox, req); err != nil {
			return err
		}
		m, err = sub.NextMsgWithContext(tctx)
		if err == nil && m.Header.Get("Status") == "503" {
			return nats.ErrNoResponders
		}
		return err
	})
	if sub != nil {
		defer func() { _ = sub.Unsubscribe() }()
	}
	if err != nil {
		return s.closedOr(fmt.Errorf("eventstore: read the log at %d on %s: %w", from, subj, err))
	}
	for {
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
		if m, err = sub.NextMsgWithContext(ctx); err != nil {
			return s.closedOr(fmt.Errorf("eventstore: read the log at %d on %s: %w", from, subj, err))
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
// (never stored, or lost; on a replicated log, as its leader says). It waits until ctx ends, at most
// directGetTimeout when ctx has no deadline, trying again (retry) while no
// replica answers.
func (s *Store) logMsg(ctx context.Context, seq uint64) (*logMsg, error) {
	if err := s.awaitStart(ctx); err != nil {
		return nil, err
	}
	return s.logMsgStarting(ctx, seq)
}

// logMsgStarting is logMsg for the store's start, which the calls that
// wait for it (awaitStart) would wait on.
func (s *Store) logMsgStarting(ctx context.Context, seq uint64) (*logMsg, error) {
	ctx, cancel := boundedCtx(ctx, directGetTimeout)
	defer cancel()
	req, err := json.Marshal(struct {
		Seq uint64 `json:"seq"`
	}{seq})
	if err != nil {
		return nil, err
	}
	var m *nats.Msg
	err = retry(ctx, func(ctx context.Context) (err error) {
		m, err = s.rnc.RequestWithContext(ctx, "$JS.API.DIRECT.GET."+s.jsName, req)
		return err
	})
	if err != nil {
		return nil, s.closedOr(fmt.Errorf("eventstore: read log sequence %d: %w", seq, err))
	}
	switch status := m.Header.Get("Status"); status {
	case "":
	case "404":
		if s.replicas > 1 {
			// Any replica answers a direct get, and one that lags has
			// not stored yet what the leader has: its "not found"
			// does not say the log holds nothing there.
			return s.leaderMsg(ctx, seq)
		}
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

// leaderReply is a message as the stream message-get API returns it.
type leaderReply struct {
	Subject string    `json:"subject"`
	Seq     uint64    `json:"seq"`
	Header  []byte    `json:"hdrs"`
	Data    []byte    `json:"data"`
	Time    time.Time `json:"time"`
}

// leaderGet asks the leader of the JetStream stream js for a message
// (req: the message-get request, by sequence or last by subject): the
// stream's message-get API, which only the leader answers, where a direct
// get may be answered by a replica that lags (restarted, catching up, or
// just a few milliseconds behind the two that acknowledged a write) and
// has not stored it yet. It returns nil when the leader holds no such
// message, and tries again across an election (retry).
func (s *Store) leaderGet(ctx context.Context, js string, req any) (*leaderReply, error) {
	if err := s.awaitStart(ctx); err != nil {
		return nil, err
	}
	ctx, cancel := boundedCtx(ctx, directGetTimeout)
	defer cancel()
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var out *leaderReply
	err = retry(ctx, func(ctx context.Context) error {
		m, err := s.rnc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+js, b)
		if err != nil {
			return err
		}
		var resp struct {
			Error   *jetstream.APIError `json:"error"`
			Message *leaderReply        `json:"message"`
		}
		if err := json.Unmarshal(m.Data, &resp); err != nil {
			return fmt.Errorf("message get: %w", err)
		}
		switch {
		case resp.Error != nil && resp.Error.ErrorCode == jetstream.JSErrCodeMessageNotFound:
			out = nil
		case resp.Error != nil:
			return resp.Error
		case resp.Message == nil:
			return errors.New("message get: an answer without a message")
		default:
			out = resp.Message
		}
		return nil
	})
	return out, err
}

// leaderMsg returns the log message at seq as the log's leader holds it,
// or nil if it holds none there (leaderGet).
func (s *Store) leaderMsg(ctx context.Context, seq uint64) (*logMsg, error) {
	r, err := s.leaderGet(ctx, s.jsName, struct {
		Seq uint64 `json:"seq"`
	}{seq})
	if err != nil {
		return nil, s.closedOr(fmt.Errorf("eventstore: read log sequence %d from the leader: %w", seq, err))
	}
	if r == nil {
		return nil, nil
	}
	return &logMsg{seq: r.Seq, subject: r.Subject, stored: time.Unix(0, r.Time.UnixNano()), data: r.Data}, nil
}
