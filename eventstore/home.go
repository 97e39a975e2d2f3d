package eventstore

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rewindhq/rewind/internal/ctxsleep"
)

// On a cluster, one server leads the log: it orders and stores every
// commit and replicates it to the others. A publish that reaches another
// server is routed to the leader and its acknowledgement routed back, so
// every append pays one hop more each way, and the commit's bytes cross
// one more link, than one published at the leader. Rewind publishes every
// append to the one log, so a store that shares a replicated log
// (Connect) publishes its appends at the leader's server when its URLs or
// the ones the cluster advertises reach it: it moves its append
// connection there while it opens, before anything is appended, and
// follows the leader when it moves (a failover, a restart, a step-down).
//
// Following must keep one promise: a store's commits reach the log in the
// order of their store times (clock.go). A commit sent on the new
// connection could overtake one still routed through the old one, so the
// store moves only when nothing is on its way: it first lets ten seconds
// pass since a request last went unanswered (its message may still be on
// its way), then stops sending on the old connection, waits for every
// acknowledgement outstanding (within twice a try's deadline), and moves
// if all came; otherwise it stays, and tries again a moment later (or at
// the next election, if one comes first). The
// appends that come meanwhile wait, for as long as the move takes (about
// a round trip), and are then sent on the new connection. A leader that
// cannot be reached directly (a load balancer in front, servers that do
// not advertise their URLs) leaves the connection where it is.

// homeTry bounds one connection attempt to a server while homing, and
// homeBudget all of them: homing only saves a hop, it must not make an
// open wait for servers this process cannot reach.
const (
	homeTry    = 500 * time.Millisecond
	homeBudget = time.Second
)

// homeWriter moves the append connection to the log leader's server, if
// the store dials by URL (Connect), the log is replicated and its leader
// is another server than the one the connection reached. It returns
// without a word when it cannot: the store works as well, one hop away.
// It runs while the store starts, before anything uses the connection.
func (s *Store) homeWriter(ctx context.Context) {
	if s.dialURL == nil || s.replicas < 2 || s.logStream == nil {
		return
	}
	info := s.logStream.CachedInfo()
	if info == nil || info.Cluster == nil || info.Cluster.Leader == "" {
		return
	}
	leader := info.Cluster.Leader
	nc := s.dialLeader(ctx, s.nc, leader, "rewind")
	if nc == nil {
		return
	}
	if err := s.useWriter(ctx, nc); err != nil {
		nc.Close()
		s.log.Debug("eventstore: append connection stays where it is", "leader", leader, "error", err)
		return
	}
	s.log.Debug("eventstore: append connection moved to the log's leader", "leader", leader)
}

// dialLeader returns a new connection named name to the server named
// leader, found among the servers that from (a connection elsewhere) knows
// of, within homeBudget; nil if from is on it already or it cannot be
// reached.
func (s *Store) dialLeader(ctx context.Context, from *nats.Conn, leader, name string) *nats.Conn {
	if from.ConnectedServerName() == leader {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, homeBudget)
	defer cancel()
	at := hostOf(from.ConnectedUrl())
	for _, u := range from.Servers() {
		if ctx.Err() != nil {
			return nil
		}
		if hostOf(u) == at {
			continue
		}
		nc, err := s.dialHome(ctx, u, name)
		if err != nil {
			continue
		}
		if nc.ConnectedServerName() == leader {
			return nc
		}
		nc.Close()
	}
	return nil
}

// dialHome connects to one server, named name, within homeTry and ctx. A
// connection that comes later is closed. The bound is the dial's, not the
// connection's option: that would bound its every reconnect too.
func (s *Store) dialHome(ctx context.Context, u, name string) (*nats.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, homeTry)
	defer cancel()
	type dialed struct {
		nc  *nats.Conn
		err error
	}
	done := make(chan dialed, 1)
	go func() {
		nc, err := s.dialURL(name, u)
		done <- dialed{nc, err}
	}()
	select {
	case d := <-done:
		return d.nc, d.err
	case <-ctx.Done():
		go func() {
			if d := <-done; d.nc != nil {
				d.nc.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// useWriter makes nc the store's append connection, in place of the one
// it opened with, which it closes. It runs while the store starts, before
// anything uses the connection.
func (s *Store) useWriter(ctx context.Context, nc *nats.Conn) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	st, err := js.Stream(ctx, s.jsName)
	if err != nil {
		return err
	}
	pub, err := newPublisher(nc)
	if err != nil {
		return err
	}
	old := s.nc
	s.nc, s.js, s.logStream = nc, js, st
	s.pub.Store(pub)
	old.Close()
	return nil
}

// leaderElected is the part of JetStream's advisory of a new stream
// leader that followLeader reads.
type leaderElected struct {
	Leader string `json:"leader"`
}

// followLeader listens for the log's leader elections and moves the
// appends to each new leader's server (moveTo). A NATS user refused the
// advisory subject hears nothing and stays where it is.
func (s *Store) followLeader() {
	if s.dialURL == nil || s.replicas < 2 {
		return
	}
	elected := make(chan string, 1)
	sub, err := s.rnc.Subscribe("$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED."+s.jsName, func(m *nats.Msg) {
		var a leaderElected
		if json.Unmarshal(m.Data, &a) != nil || a.Leader == "" {
			return
		}
		select { // only the latest election matters
		case <-elected:
		default:
		}
		elected <- a.Leader
	})
	if err != nil {
		return
	}
	s.wg.Go(func() {
		defer sub.Unsubscribe()
		var leader string
		var retry <-chan time.Time
		pause := moveRetry
		for {
			select {
			case <-s.ctx.Done():
				return
			case leader = <-elected:
				pause = moveRetry
				s.log.Debug("eventstore: the log has a new leader", "leader", leader)
			case <-retry:
				pause = min(2*pause, moveRetryMax)
			}
			retry = nil
			if !s.moveTo(s.ctx, leader) {
				// A request went unanswered during the move (the
				// election that called for it is the usual cause), or
				// the leader was not reached: try again later, unless
				// another election comes first.
				retry = time.After(pause)
			}
		}
	})
}

// moveRetry is how long after a move that did not happen the store tries
// it again, doubling up to moveRetryMax while moves keep failing (each
// holds the appends back for up to twice a try's deadline); the wait for
// unanswered messages, moveAfterTimeout, comes on top.
const (
	moveRetry    = time.Second
	moveRetryMax = 30 * time.Second
)

// moveAfterTimeout is how long after a request went unanswered the store
// waits before it moves its appends: the unanswered message may still be
// on its way to the leader through the old connection.
const moveAfterTimeout = 10 * time.Second

// moveTo moves the appends to a new connection to the server named
// leader, when nothing sent on the current one can still be on its way.
// It reports false when the move is to be tried again: a request went
// unanswered while it waited for them, or the leader was not reached (its
// server may be busy, or not reachable from here at all: a load balancer
// in front, servers that do not advertise their URLs; the tries then come
// at most every moveRetryMax, each costing a dial or two).
func (s *Store) moveTo(ctx context.Context, leader string) bool {
	old := s.pub.Load()
	if old.nc.ConnectedServerName() == leader {
		return true
	}
	for { // first let an unanswered message arrive or be dropped
		wait := moveAfterTimeout - time.Since(time.Unix(0, old.timedOut.Load()))
		if wait <= 0 {
			break
		}
		if ctxsleep.Sleep(ctx, wait) != nil {
			return true
		}
	}
	// Its own connection: the one it moves from may be the store's, for
	// its other requests.
	nc := s.dialLeader(ctx, old.nc, leader, "rewind-appends")
	if nc == nil {
		s.log.Debug("eventstore: append connection stays where it is: the log's leader was not reached", "leader", leader)
		return ctx.Err() != nil
	}
	pub, err := newPublisher(nc)
	if err != nil {
		nc.Close()
		return true
	}
	pub.own = true
	if !s.movePublisher(ctx, old, pub) {
		pub.close()
		nc.Close()
		s.log.Debug("eventstore: append connection not moved yet: a request went unanswered", "leader", leader)
		return ctx.Err() != nil
	}
	s.log.Debug("eventstore: append connection moved to the log's new leader", "leader", leader)
	return true
}

// movePublisher puts to in from's place as the store's publisher, if
// nothing sent through from can still be on its way: it stops from
// sending, waits for its requests to be answered, and gives up (from
// sends again) if one is not answered within twice a try's deadline or
// goes unanswered.
func (s *Store) movePublisher(ctx context.Context, from, to *publisher) bool {
	done := make(chan struct{})
	defer close(done) // the requests that waited go on, on the store's publisher
	from.order.Lock()
	from.moving.Store(&done)
	mark := from.timedOut.Load()
	from.order.Unlock()
	if hook := s.moveHook.Load(); hook != nil {
		(*hook)(from)
	}
	deadline := time.Now().Add(2 * tryTimeout)
	for from.inFlight() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	if from.inFlight() > 0 || from.timedOut.Load() != mark || ctx.Err() != nil {
		from.moving.Store(nil)
		return false
	}
	// from stays moving: a request that still finds it sends nothing and
	// goes on with to. It is not closed (that would fail such a request).
	s.pub.Store(to)
	_ = from.sub.Unsubscribe()
	if from.own {
		from.nc.Close()
	} // else its connection is the store's, for its other requests
	return true
}

// homeURL returns the URL to dial server u (scheme://host, as
// nats.Conn.Servers lists it) with: the configured URL for that host when
// the user gave one (its credentials with it), otherwise u with the user
// information of the first configured URL that has some, as nats.go does
// for the servers a cluster advertises.
func homeURL(configured, u string) string {
	target, err := url.Parse(u)
	if err != nil {
		return u
	}
	var creds *url.Userinfo
	for _, c := range strings.Split(configured, ",") {
		c = strings.TrimSpace(c)
		if !strings.Contains(c, "://") {
			c = "nats://" + c
		}
		cu, err := url.Parse(c)
		if err != nil || cu.Host == "" {
			continue
		}
		if cu.Host == target.Host {
			return c
		}
		if creds == nil {
			creds = cu.User
		}
	}
	if creds != nil {
		target.User = creds
	}
	return target.String()
}

// hostOf returns the host:port of a URL, "" if it has none.
func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Host
}

// firstURL is a nats.Option that makes u the first server a connection
// tries; the others stay in its pool for reconnects.
func firstURL(u string) nats.Option {
	return func(o *nats.Options) error {
		o.Url = u
		return nil
	}
}
