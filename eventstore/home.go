package eventstore

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// On a cluster, one server leads the log: it orders and stores every
// commit and replicates it to the others. A publish that reaches another
// server is routed to the leader and its acknowledgement routed back, so
// every append pays one hop more each way, and the commit's bytes cross
// one more link, than one published at the leader. Rewind publishes every
// append to the one log, so a store that shares a replicated log
// (Connect) moves its append connection to the leader's server while it
// opens, when its URLs or the ones the cluster advertises reach it.
//
// It is done once, before anything is appended: the leader may move later
// (a failover, a restart, a rebalance), and the connection then stays
// where it is, which costs that hop again and nothing else. A leader that
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
func (s *Store) homeWriter(ctx context.Context) {
	if s.dialURL == nil || s.replicas < 2 || s.logStream == nil {
		return
	}
	info := s.logStream.CachedInfo()
	if info == nil || info.Cluster == nil || info.Cluster.Leader == "" {
		return
	}
	leader := info.Cluster.Leader
	if s.nc.ConnectedServerName() == leader {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, homeBudget)
	defer cancel()
	at := hostOf(s.nc.ConnectedUrl())
	for _, u := range s.nc.Servers() {
		if ctx.Err() != nil {
			return
		}
		if hostOf(u) == at {
			continue
		}
		nc, err := s.dialHome(ctx, u)
		if err != nil {
			continue
		}
		if nc.ConnectedServerName() != leader {
			nc.Close()
			continue
		}
		if err := s.useWriter(ctx, nc); err != nil {
			nc.Close()
			s.log.Debug("eventstore: append connection stays where it is", "leader", leader, "error", err)
			return
		}
		s.log.Debug("eventstore: append connection moved to the log's leader", "leader", leader)
		return
	}
}

// dialHome connects to one server within homeTry and ctx. A connection
// that comes after ctx ended is closed.
func (s *Store) dialHome(ctx context.Context, u string) (*nats.Conn, error) {
	type dialed struct {
		nc  *nats.Conn
		err error
	}
	done := make(chan dialed, 1)
	go func() {
		nc, err := s.dialURL("rewind", u)
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
	s.nc, s.js, s.pub, s.logStream = nc, js, pub, st
	old.Close()
	return nil
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
