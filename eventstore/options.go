package eventstore

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rewindhq/rewind/observe"
)

// Option configures Open and Connect. A nil Option is ignored.
type Option func(*config) error

type config struct {
	logger       *slog.Logger
	host         string
	port         int
	listen       bool
	listenToken  string
	syncAlways   bool
	syncInterval time.Duration
	maxPayload   int32
	maxStore     int64 // WithStorageLimit; 0: the server's default
	replicas     int
	replicasSet  bool // WithReplicas was given
	indexDir     string
	cacheSize    int64
	headCache    int
	natsOpts     []nats.Option
	jsName       string
	clock        func() time.Time
	compression  jetstream.StoreCompression // of a log Open creates (compression.go)
	observer     *observe.Observer          // WithObserver; nil observes nothing
	startHold    <-chan struct{}            // tests: a start behind Open waits for it (export_test.go)
	startDelay   time.Duration              // tests: in place of startDelay (cleanclose.go) when > 0
}

// DefaultSyncInterval is how often the embedded server fsyncs the log when
// no durability option is given. A write always reaches the operating
// system before it is acknowledged, so a crashed or killed process (kill -9)
// loses nothing; a power cut or kernel crash can lose what was acknowledged
// in the last interval. JetStream's own default is two minutes; one second
// costs little and narrows that window. Use SyncAlways to close it.
const DefaultSyncInterval = time.Second

func defaultConfig() config {
	return config{
		logger:       slog.Default(),
		syncInterval: DefaultSyncInterval,
		maxPayload:   8 << 20,
		replicas:     1,
		cacheSize:    64 << 20,
		headCache:    100_000,
		jsName:       "rewind",
		compression:  jetstream.S2Compression,
	}
}

// WithLogger sets the logger for the store's rare log lines (index rebuilds,
// tailer restarts). The default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidOption)
		}
		c.logger = l
		return nil
	}
}

// WithListen makes the embedded server (Open) accept NATS clients on
// host:port (port 0 picks a free one; see Store.ClientURL), so that other
// processes can Connect to it. By default it has no network listener.
// Without WithListenToken, host must be on loopback (127.0.0.1, ::1 or
// localhost): Open fails with ErrInvalidOption otherwise, since any client
// that reaches the listener can read, write and delete every stream.
func WithListen(host string, port int) Option {
	return func(c *config) error {
		if port < 0 || port > 65535 {
			return fmt.Errorf("%w: port %d", ErrInvalidOption, port)
		}
		c.listen, c.host, c.port = true, host, port
		return nil
	}
}

// SyncAlways makes every append wait until the log is fsynced after it was
// stored: nothing acknowledged is lost even to a power cut. Concurrent
// appends share their fsyncs (a group commit), so the cost depends on how
// many append at once: measured on a 2-core VM, one goroutine appends at
// 4–5k/s (a seventh of the default's rate), 16 goroutines at 17–28k/s,
// three to six times one goroutine. It applies to the embedded server
// (Open) with its single-replica log; with Connect the NATS server's own
// sync settings decide.
func SyncAlways() Option {
	return func(c *config) error { c.syncAlways = true; return nil }
}

// SyncEvery makes the embedded server fsync the log every d (see
// DefaultSyncInterval for what that means on a crash).
func SyncEvery(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: sync interval %v", ErrInvalidOption, d)
		}
		c.syncAlways, c.syncInterval = false, d
		return nil
	}
}

// WithClock gives the store another clock for the store times of its
// commits (Event.StoredAt), for tests and for importing a history whose
// times lie in the past. Store times are still clamped so that they never
// go backwards within the store or within a stream (clock.go): a clock
// that runs behind the times already in the log stamps new commits with the
// newest of those. Store times lie after the Unix epoch and up to
// 2262-04-11 (int64 nanoseconds): a clock reading outside stamps the
// nearest of them. The default is the system clock.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrInvalidOption)
		}
		c.clock = now
		return nil
	}
}

// WithMaxPayload sets the embedded server's largest message, which bounds
// the size of one Append. The default is 8 MiB.
func WithMaxPayload(bytes int) Option {
	return func(c *config) error {
		if bytes < 1024 || bytes > 64<<20 {
			return fmt.Errorf("%w: max payload %d (want 1 KiB to 64 MiB)", ErrInvalidOption, bytes)
		}
		c.maxPayload = int32(bytes)
		return nil
	}
}

// WithStorageLimit sets how many bytes the embedded server's log (with
// the snapshot stream and the key-value buckets) may hold on disk. Past
// it, appends fail with ErrStorageFull and Ready reports the store not
// ready; nothing stored is lost. The default is NATS's: three quarters of
// the disk space free when the store opens, plus what the log already
// holds, which leaves the rest of the disk to the read index (about half
// the log's size) and everything else. The limit is read when the store
// opens: after freeing disk space, reopen the store. With Connect, the
// NATS servers' own max_file_store is the limit, and this option is
// ignored.
func WithStorageLimit(bytes int64) Option {
	return func(c *config) error {
		if bytes < 1<<20 {
			return fmt.Errorf("%w: storage limit %d bytes (want at least 1 MiB)", ErrInvalidOption, bytes)
		}
		c.maxStore = bytes
		return nil
	}
}

// WithReplicas sets how many replicas (1 to 5; R3 for production
// clusters) every JetStream resource the store makes has: the log, the
// key-value buckets (stream metadata, checkpoints and leases) and the
// snapshot stream. Replication is a property of the deployment, decided
// once when the log is made: a resource that exists keeps its replicas.
// Asking for more than an existing one has fails with a *ReplicasError
// (ErrReplicas) and changes nothing; asking for fewer uses what exists (and
// logs it), so a process never lowers the replication others rely on.
// Without WithReplicas, Connect adopts the log's replication for
// everything it makes (1 when it makes the log). Asking for more replicas
// than the cluster has servers fails Connect at once with ErrReplicas (no
// wait makes a three-node cluster place four), and so does more than 1 on
// Open, whose embedded server is one node; a replica's server that is
// down while the log is made is waited for, as in any election.
func WithReplicas(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 5 {
			return fmt.Errorf("%w: %d replicas (want 1 to 5)", ErrInvalidOption, n)
		}
		c.replicas, c.replicasSet = n, true
		return nil
	}
}

// WithIndexDir sets where Connect keeps the read index. The default is a
// directory under the user's cache directory named by a hash of the server
// URL without its user info (no secret is in the name).
// Each process needs its own; the directory is locked while open.
func WithIndexDir(dir string) Option {
	return func(c *config) error {
		if dir == "" {
			return fmt.Errorf("%w: empty index directory", ErrInvalidOption)
		}
		c.indexDir = dir
		return nil
	}
}

// WithIndexCache sets the size in bytes of the read index's block cache,
// the only memory the index holds beyond pebble's memtables. Default 64 MiB.
func WithIndexCache(bytes int64) Option {
	return func(c *config) error {
		if bytes < 0 {
			return fmt.Errorf("%w: cache size %d", ErrInvalidOption, bytes)
		}
		c.cacheSize = bytes
		return nil
	}
}

// WithHeadCache sets how many streams' heads (version and log position) the
// store keeps in memory to check appends without reading the index.
// Default 100,000 (about 200 B a stream, some 20 MiB when full); 0 turns
// the cache off. Streams this store created, until they are appended to
// again, take no more than a sixteenth of the bound (from a bound of 32
// up), so that creating many streams of one event each does not fill the
// cache. Each part keeps two generations of half its share and drops the
// older one whole when the newer one is full; a stream appended to again
// moves to the newer one. An evicted stream's next append reads its head
// from the index.
func WithHeadCache(streams int) Option {
	return func(c *config) error {
		if streams < 0 {
			return fmt.Errorf("%w: head cache size %d", ErrInvalidOption, streams)
		}
		c.headCache = streams
		return nil
	}
}

// WithNATSOptions passes options (credentials, TLS, reconnect policy) to
// nats.Connect in Connect. They come after Rewind's own: a name for each
// connection, reconnecting without a limit (nats.MaxReconnects(-1)), so
// that a store outlives an outage of its servers however long, and a ping
// every second with at most three unanswered (nats.PingInterval,
// nats.MaxPingsOutstanding), so that a server that stops answering
// without closing the connection (a frozen process, a network dropping
// packets) is given up for another within 3 to 4 s, not nats.go's default
// 4 minutes.
func WithNATSOptions(opts ...nats.Option) Option {
	return func(c *config) error { c.natsOpts = append(c.natsOpts, opts...); return nil }
}

// WithStreamName sets the name of the JetStream stream that holds the log
// (default "rewind"), so that several Rewind stores can share one NATS
// server. Its subjects are "<name>.>".
func WithStreamName(name string) Option {
	return func(c *config) error {
		if !allPlain(name) {
			return fmt.Errorf("%w: stream name %q (use A-Z a-z 0-9 - _)", ErrInvalidOption, name)
		}
		if name == "" {
			return fmt.Errorf("%w: empty stream name", ErrInvalidOption)
		}
		c.jsName = name
		return nil
	}
}

// AppendOption configures one Append. A nil AppendOption is ignored.
type AppendOption func(*appendConfig)

type appendConfig struct {
	expect     uint64
	hasExpect  bool
	producer   *producerMark
	command    string // WithCommandID
	hasCommand bool   // WithCommandID was given, even with ""
	cmdData    []byte // WithCommandData
	expectAt   Offset // ExpectLast
	hasLast    bool
	close      bool // WithClose
	// sentUnits, for a Producer that claimed its epoch, is how many of the
	// commit's leading units it sent before (so may be stored already);
	// -1 for a plain producer append, whose duplicates are its own retries.
	sentUnits int
}

// WithClose makes the append the stream's last: its commit stores the
// events (none is allowed) and closes the stream, atomically, so that a
// reader that sees the events sees the close too. Every later append to the
// stream fails with ErrStreamClosed, except an idempotent producer's retry
// of the append that closed it, which is its duplicate. A closed stream is
// read as before; Head reports it Closed. Closing a closed stream again,
// with no events, is not an error: the result reports the stream's
// current end. With events it is an append like any other, which fails
// with ErrStreamClosed.
func WithClose() AppendOption {
	return func(c *appendConfig) { c.close = true }
}

// ExpectVersion makes the append succeed only if the stream's version is
// exactly v when the events are stored (0 means the stream has no events).
// Otherwise it fails with a *ConcurrencyError (ErrConcurrency). Without an
// expectation, the append goes after whatever the stream holds.
func ExpectVersion(v uint64) AppendOption {
	return func(c *appendConfig) { c.expect, c.hasExpect = v, true }
}

// WithCommandID records in the commit that the append is the outcome of
// the command id (any string the caller has for it: an HTTP idempotency
// key, a message id; 1 to MaxCommandIDLen bytes), and makes the append
// exactly-once per stream: if the stream already holds a commit recorded
// for id, the append stores nothing and returns that commit's result with
// Duplicate set (its versions, offsets and store time), whatever the
// stream's version now, for the life of the stream. The record is part of
// the commit, so it is stored atomically with the events, and the read
// index keeps it (rebuilt with the index), so the check is one index
// lookup. It holds between processes: of two appends of one id racing on
// one stream, one is stored and the other returns its result. The id is
// checked before ExpectVersion and the producer rules.
//
// An append with a command id and no events (and no WithClose) stores a
// commit that holds only the record of the command: the stream's version
// does not change and no read or subscription yields anything for it, but
// the id is handled from then on. This is how a command that decided
// nothing, or was refused, keeps its outcome (see WithCommandData).
//
// An empty id is an error wrapping ErrInvalidOption, never "no id": an
// id left empty by a caller's bug would otherwise make the append not
// exactly-once without a word.
func WithCommandID(id string) AppendOption {
	return func(c *appendConfig) { c.command, c.hasCommand = id, true }
}

// MaxCommandIDLen is the longest command id WithCommandID accepts, in bytes.
const MaxCommandIDLen = 1024

// WithCommandData records data (at most MaxCommandDataLen bytes, opaque to
// the store) with the append's command id, in the same commit: what the
// caller needs to give the command's outcome again, or to tell a different
// command reusing the id (a fingerprint, a refusal's message). A duplicate
// of the append and CommandOutcome return it as AppendResult.CommandData.
// It needs WithCommandID.
func WithCommandData(data []byte) AppendOption {
	return func(c *appendConfig) { c.cmdData = data }
}

// MaxCommandDataLen is the most data WithCommandData records, in bytes.
const MaxCommandDataLen = 4096

// ExpectLast makes the append succeed only if the stream's last event is
// the one at offset last (Start or "": the stream has no events), as a
// read, an append or Head returned it. With ExpectVersion it tells a stream that was
// deleted and made again up to the same version from the one the caller
// read: the version matches, the offset does not. A mismatch is a
// *ConcurrencyError (ErrConcurrency); a last that is not an offset the
// store hands out (Now included) is an error wrapping ErrInvalidOffset.
func ExpectLast(last Offset) AppendOption {
	if last == "" || last == startAlias {
		last = Start
	}
	return func(c *appendConfig) { c.expectAt, c.hasLast = last, true }
}

// ExpectNoStream makes the append succeed only if the stream has no events.
func ExpectNoStream() AppendOption { return ExpectVersion(0) }

// ExpectAny makes the append go after whatever the stream holds (the
// default).
func ExpectAny() AppendOption {
	return func(c *appendConfig) { c.expect, c.hasExpect = 0, false }
}

// ReadOption bounds a read or a subscription. A nil ReadOption is ignored.
type ReadOption func(*readConfig) error

type readConfig struct {
	from        Offset
	fromVersion uint64
	toVersion   uint64
	toOffset    Offset
	toTime      time.Time
	borrow      bool
}

// From starts after the given offset (Start: from the beginning; Now: from
// the tail). The default is Start. An offset the store never hands out is
// an error wrapping ErrInvalidOffset. With ToOffset the two bounds
// intersect: a From at or after ToOffset reads nothing, which is not an
// error (a reader already past a bound has nothing left to read).
func From(o Offset) ReadOption {
	return func(c *readConfig) error {
		if _, err := ParseOffset(string(o)); err != nil {
			return err
		}
		c.from = o
		return nil
	}
}

// FromVersion starts at version v of the stream (one-stream reads only).
// Versions start at 1: 0 is an error wrapping ErrInvalidOption, as is a
// FromVersion after the read's ToVersion.
func FromVersion(v uint64) ReadOption {
	return func(c *readConfig) error {
		if v == 0 {
			return fmt.Errorf("%w: versions start at 1", ErrInvalidOption)
		}
		c.fromVersion = v
		return nil
	}
}

// ToVersion stops after version v of the stream (one-stream reads only).
// 0 is an error wrapping ErrInvalidOption.
func ToVersion(v uint64) ReadOption {
	return func(c *readConfig) error {
		if v == 0 {
			return fmt.Errorf("%w: versions start at 1", ErrInvalidOption)
		}
		c.toVersion = v
		return nil
	}
}

// ToOffset stops after the event that carries offset o: events before the
// position o are read. o is a concrete offset: Now, or an offset the store
// never hands out, is an error wrapping ErrInvalidOffset.
func ToOffset(o Offset) ReadOption {
	return func(c *readConfig) error {
		if o == Now {
			return fmt.Errorf("%w: ToOffset takes a concrete offset, not %q", ErrInvalidOffset, o)
		}
		o, err := ParseOffset(string(o))
		if err != nil {
			return err
		}
		c.toOffset = o
		return nil
	}
}

// BorrowData lets a read hand out each event's Data only until the loop
// moves on: Data may alias the read index's own buffers, which the next
// event reuses, so a caller that keeps an event's data past its loop body
// copies it. Everything else in the event stays valid, as in any read. A
// one-stream Read then allocates nothing per event for the data, where by
// default it copies each event's data out (the events of a read stay valid
// after it): for a caller that writes each event somewhere at once (an
// HTTP response, a file) and keeps nothing, that copy is garbage the next
// collection sweeps. Reads in log order (ReadAll, ReadCategory) and the
// part of a read served by the log copy as before; the option lets them
// reuse, it does not oblige them to.
func BorrowData() ReadOption {
	return func(c *readConfig) error {
		c.borrow = true
		return nil
	}
}

// ToTime stops after the last event stored at or before t (by the server's
// store time): the log as it was at t. The zero time is an error wrapping
// ErrInvalidOption.
func ToTime(t time.Time) ReadOption {
	return func(c *readConfig) error {
		if t.IsZero() {
			return fmt.Errorf("%w: zero time", ErrInvalidOption)
		}
		c.toTime = t
		return nil
	}
}

// CheckUpperBounds returns nil if opts only bound where a read ends
// (ToOffset, ToTime, ToVersion; BorrowData, which bounds nothing, too),
// and otherwise an error wrapping ErrInvalidOption: From and FromVersion
// say where a read starts, which a caller that starts its reads at a
// position of its own cannot honour (projection.Replay starts at its
// sink's saved position, and a From given with it would override that
// start). An option that is invalid in itself returns its own error, as a
// read would.
func CheckUpperBounds(opts ...ReadOption) error {
	var rc readConfig
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&rc); err != nil {
			return err
		}
	}
	if rc.from != "" || rc.fromVersion != 0 {
		return fmt.Errorf("%w: From or FromVersion sets where a read starts, not where it ends", ErrInvalidOption)
	}
	return nil
}
