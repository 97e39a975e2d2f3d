package eventstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Store is an event store on one JetStream stream (the log) with a derived
// read index beside it. It is safe for concurrent use; two Stores in one
// process work independently.
type Store struct {
	cfg        config
	log        *slog.Logger
	srv        *server.Server // embedded server (Open); nil with Connect
	nc         *nats.Conn     // appends and API requests
	js         jetstream.JetStream
	rnc        *nats.Conn // consumers: the tailer, log reads, subscriptions
	rjs        jetstream.JetStream
	jsName     string
	ackPrefix  []byte // {"stream":"<jsName>","seq": (see parseAck)
	prefix     string // subject prefix of stream subjects
	logID      string
	indexDir   string
	lock       *dirLock
	maxPayload int

	idxMu sync.Mutex
	idx   *index

	tailer *tailer

	stripes   [stripeCount]sync.Mutex
	heads     *headCache
	ids       *idGen
	lastAcked atomic.Uint64 // highest log sequence acknowledged to this process

	timesMu sync.Mutex
	times   map[uint64]time.Time // store times fetched for pending commits

	reindexMu sync.Mutex
	closed    atomic.Bool
	closeOnce sync.Once
}

// stripeCount is the number of per-stream locks: appends to one stream are
// serialized in the process (JetStream's per-subject check still guards
// across processes), appends to different streams rarely share a lock.
const stripeCount = 4096

const logIDKey = "rewind.log"

// Open starts an embedded JetStream server on dir (created if needed) and
// returns a Store on it. The log lives in dir/log, the read index in
// dir/index. The directory is locked: a second Open of the same dir, in
// this process or another, fails with an error wrapping ErrLocked until
// Close. The server has no network listener unless WithListen is given.
func Open(ctx context.Context, dir string, opts ...Option) (*Store, error) {
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("eventstore: open %s: %w", dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	srv, err := startServer(dir, &cfg)
	if err != nil {
		lock.unlock()
		return nil, err
	}
	dial := func(name string) (*nats.Conn, error) {
		nc, err := nats.Connect("", nats.InProcessServer(srv), nats.Name(name))
		if err != nil {
			return nil, fmt.Errorf("eventstore: connect to the embedded server: %w", err)
		}
		return nc, nil
	}
	s := newStore(cfg, srv, lock, filepath.Join(dir, "index"))
	if err := s.start(ctx, dial); err != nil {
		s.shutdown()
		return nil, err
	}
	return s, nil
}

// Connect returns a Store on an external NATS server or cluster with
// JetStream enabled, creating the log stream if it does not exist
// (WithReplicas sets its replication). The read index is kept locally
// (WithIndexDir) and follows the log, so events appended by other processes
// reach it; reads first make sure it holds everything the log held when the
// read began.
func Connect(ctx context.Context, natsURL string, opts ...Option) (*Store, error) {
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	indexRoot := cfg.indexDir
	if indexRoot == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("eventstore: no index directory given and no user cache directory: %w", err)
		}
		indexRoot = filepath.Join(base, "rewind", url.PathEscape(natsURL)+"-"+cfg.jsName)
	}
	lock, err := lockDir(indexRoot)
	if err != nil {
		return nil, err
	}
	dial := func(name string) (*nats.Conn, error) {
		nc, err := nats.Connect(natsURL, append([]nats.Option{nats.Name(name)}, cfg.natsOpts...)...)
		if err != nil {
			return nil, fmt.Errorf("eventstore: connect to %s: %w", natsURL, err)
		}
		return nc, nil
	}
	s := newStore(cfg, nil, lock, filepath.Join(indexRoot, "index"))
	if err := s.start(ctx, dial); err != nil {
		s.shutdown()
		return nil, err
	}
	return s, nil
}

func buildConfig(opts []Option) (config, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

func newStore(cfg config, srv *server.Server, lock *dirLock, indexDir string) *Store {
	return &Store{
		cfg:       cfg,
		log:       cfg.logger,
		srv:       srv,
		jsName:    cfg.jsName,
		ackPrefix: []byte(`{"stream":"` + cfg.jsName + `","seq":`),
		prefix:    cfg.jsName + ".s",
		indexDir:  indexDir,
		lock:      lock,
		heads:     newHeadCache(cfg.headCache),
		ids:       newIDGen(),
	}
}

func startServer(dir string, cfg *config) (*server.Server, error) {
	opts := &server.Options{
		ServerName:   "rewind",
		JetStream:    true,
		StoreDir:     filepath.Join(dir, "log"),
		DontListen:   !cfg.listen,
		Host:         cfg.host,
		Port:         cfg.port,
		NoSigs:       true,
		NoLog:        true,
		MaxPayload:   cfg.maxPayload,
		SyncAlways:   cfg.syncAlways,
		SyncInterval: cfg.syncInterval,
	}
	if cfg.listen && cfg.port == 0 {
		opts.Port = server.RANDOM_PORT
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("eventstore: embedded server: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("eventstore: embedded server on %s did not start", dir)
	}
	return srv, nil
}

// start creates or checks the log stream, opens the index and starts the
// tailer.
//
// The store holds two connections: one for appends and requests, one for
// consumers. Each connection is read by one goroutine on each side, and the
// tailer receives every commit: on one shared connection its deliveries
// would queue with the appenders' acknowledgements and halve what parallel
// appenders get through.
func (s *Store) start(ctx context.Context, dial func(name string) (*nats.Conn, error)) error {
	var err error
	if s.nc, err = dial("rewind"); err != nil {
		return err
	}
	if s.rnc, err = dial("rewind-reader"); err != nil {
		return err
	}
	if s.js, err = jetstream.New(s.nc); err != nil {
		return fmt.Errorf("eventstore: jetstream: %w", err)
	}
	if s.rjs, err = jetstream.New(s.rnc); err != nil {
		return fmt.Errorf("eventstore: jetstream: %w", err)
	}
	s.maxPayload = int(s.nc.MaxPayload())
	last, err := s.ensureStream(ctx)
	if err != nil {
		return err
	}
	s.lastAcked.Store(last)
	x, err := openIndex(s.indexDir, s.logID, last, s.cfg.cacheSize, s.log)
	if err != nil {
		return err
	}
	s.idx = x
	s.tailer = s.startTailer(x)
	return nil
}

// ensureStream finds or creates the log stream and returns its last
// sequence.
func (s *Store) ensureStream(ctx context.Context) (uint64, error) {
	st, err := s.js.Stream(ctx, s.jsName)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		st, err = s.js.CreateStream(ctx, jetstream.StreamConfig{
			Name:        s.jsName,
			Description: "Rewind event log",
			Subjects:    []string{s.jsName + ".>"},
			Storage:     jetstream.FileStorage,
			Replicas:    s.cfg.replicas,
			AllowDirect: true,
			// Rewind does not use Nats-Msg-Id deduplication (producers
			// are deduplicated forever by their state in the log), and a
			// long window makes restarts re-read it.
			Duplicates: time.Second,
			Metadata:   map[string]string{logIDKey: uuid.NewString()},
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			st, err = s.js.Stream(ctx, s.jsName)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("eventstore: log stream %q: %w", s.jsName, err)
	}
	// Stream and CreateStream have just fetched the stream's info.
	info := st.CachedInfo()
	s.logID = info.Config.Metadata[logIDKey]
	if s.logID == "" {
		return 0, fmt.Errorf("eventstore: JetStream stream %q exists but was not created by Rewind", s.jsName)
	}
	return info.State.LastSeq, nil
}

// logLastSeq asks the server for the log's last sequence, which it keeps in
// memory (a last-message lookup would load a block from disk).
func (s *Store) logLastSeq(ctx context.Context) (uint64, error) {
	st, err := s.js.Stream(ctx, s.jsName)
	if err != nil {
		return 0, s.closedOr(fmt.Errorf("eventstore: log stream info: %w", err))
	}
	return st.CachedInfo().State.LastSeq, nil
}

// closedOr returns ErrClosed in place of err once the store is closed: a
// call that raced Close fails for that reason, not with whatever the
// closing connection said.
func (s *Store) closedOr(err error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return err
}

// readTarget returns the log sequence a read must see applied to the index:
// every commit acknowledged before now. With the embedded server and no
// listener this process is the only writer and knows its own
// acknowledgements; otherwise the server is asked.
func (s *Store) readTarget(ctx context.Context) (uint64, error) {
	if s.soleWriter() {
		return s.lastAcked.Load(), nil
	}
	last, err := s.logLastSeq(ctx)
	if err != nil {
		return 0, err
	}
	return max(last, s.lastAcked.Load()), nil
}

// soleWriter reports whether no other process can write to the log.
func (s *Store) soleWriter() bool { return s.srv != nil && !s.cfg.listen }

func (s *Store) noteAcked(seq uint64) {
	for {
		cur := s.lastAcked.Load()
		if seq <= cur || s.lastAcked.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// acquire returns the current index, caught up to target, held until
// release. An index retired by Reindex while the caller waited is swapped
// for the new one.
func (s *Store) acquire(ctx context.Context, target uint64) (*index, error) {
	for {
		if s.closed.Load() {
			return nil, ErrClosed
		}
		s.idxMu.Lock()
		x := s.idx
		x.refs++
		s.idxMu.Unlock()
		err := x.waitFor(ctx, target)
		if err == nil {
			return x, nil
		}
		s.release(x)
		if !errors.Is(err, errRetired) {
			return nil, err
		}
	}
}

// release drops a hold on x. The last holder of an index retired by
// Reindex closes and deletes it; the last holder after Close closes it and
// releases the directory lock.
func (s *Store) release(x *index) {
	s.idxMu.Lock()
	x.refs--
	last := x.refs == 0
	retired := last && x != s.idx
	closing := last && x == s.idx && s.closed.Load()
	s.idxMu.Unlock()
	switch {
	case retired:
		x.close()
		_ = os.RemoveAll(x.dir)
	case closing:
		s.closeIndex()
	}
}

// tailer is the goroutine that applies the log to one index.
type tailer struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (s *Store) startTailer(x *index) *tailer {
	ctx, cancel := context.WithCancel(context.Background())
	t := &tailer{cancel: cancel, done: make(chan struct{})}
	x.kickTailer() // catch up with the log at once
	go func() {
		defer close(t.done)
		s.tail(ctx, x)
	}()
	return t
}

func (t *tailer) stop() {
	if t != nil {
		t.cancel()
		<-t.done
	}
}

// tailInterval is how often the tailer of a sole writer's index looks
// for commits its appends did not report (a reader that waits for one, or a
// rebuild, makes it run at once). While this process is the only writer,
// its appends feed the index directly and the tailer has nothing to do
// unless an append's outcome was lost or a crash kept commits out; store
// times are fetched when a read first needs them (storeTime). When other
// processes write to the log, the tailer follows it without pause.
const tailInterval = 200 * time.Millisecond

// tail applies the log to the index from where it holds every commit, for
// as long as ctx lives, restarting after errors.
func (s *Store) tail(ctx context.Context, x *index) {
	follow := !s.soleWriter()
	var due uint64 // acknowledged at the last turn
	for {
		if !follow {
			select {
			case <-ctx.Done():
				return
			case <-x.kick:
			case <-time.After(tailInterval):
				// Appends reach the index a moment after their
				// acknowledgement; one acknowledged a turn ago and still
				// missing was not reported.
				missing := x.position() < due
				due = s.lastAcked.Load()
				if !missing {
					continue
				}
			}
		}
		err := s.tailFrom(ctx, x, !follow)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			continue
		}
		s.log.Warn("eventstore: read index tailer restarting", "err", err, "position", x.position())
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// tailFrom hands the log to the index writer from where the index holds
// every commit: up to the log's current end (bounded), or live.
func (s *Store) tailFrom(ctx context.Context, x *index, bounded bool) error {
	spec := consumeSpec{startSeq: max(x.position(), x.tailPosition()) + 1, pull: 4096, bounded: bounded}
	if bounded {
		last, err := s.logLastSeq(ctx)
		if err != nil || last < spec.startSeq {
			return err
		}
		spec.upTo = last
	}
	// Records go to the writer in chunks: one hand-over per message would
	// cost more than the write.
	var chunk []indexRec
	var chunkStart time.Time
	names := make(map[string]string)
	err := s.consume(ctx, spec, func(m jetstream.Msg, meta *jetstream.MsgMetadata) error {
		name, ok := names[m.Subject()]
		if !ok {
			name, _ = nameFromSubject(s.prefix, m.Subject())
			if len(names) >= maxInterned {
				clear(names)
			}
			names[m.Subject()] = name
		}
		if len(chunk) == 0 {
			chunkStart = time.Now()
		}
		chunk = append(chunk, indexRec{name: name, seq: meta.Sequence.Stream,
			stored: meta.Timestamp.UnixNano(), body: m.Data(), kind: recLog})
		// While more is pending, the chunk grows, but not for long: under a
		// steady stream of appends from other processes something is
		// almost always pending.
		if meta.NumPending > 0 && len(chunk) < tailChunk && time.Since(chunkStart) < tailChunkAge {
			return nil
		}
		err := x.w.submitLog(ctx, chunk)
		chunk = nil
		return err
	})
	if err == nil && len(chunk) > 0 {
		err = x.w.submitLog(ctx, chunk)
	}
	return err
}

// tailChunk is how many of the tailer's records go to the writer at once,
// and tailChunkAge how long the first of them waits for the others.
const (
	tailChunk    = 512
	tailChunkAge = time.Millisecond
)

// storeTime returns the store time of the commit of stream name at seq,
// for a commit the index holds with its time still pending. One batched
// direct get fetches the times of that commit and the stream's commits
// after it; they are remembered for a while and written back to the index
// x, so the next read finds them there.
func (s *Store) storeTime(ctx context.Context, x *index, name string, seq uint64) (time.Time, error) {
	s.timesMu.Lock()
	t, ok := s.times[seq]
	s.timesMu.Unlock()
	if ok {
		return t, nil
	}
	subj, err := subjectFor(s.prefix, name)
	if err != nil {
		return time.Time{}, err
	}
	var stamps []indexRec
	err = s.subjectMsgs(ctx, subj, seq, func(m logMsg) error {
		stamps = append(stamps, indexRec{name: name, seq: m.seq, stored: m.stored.UnixNano(), body: m.data, kind: recStamp})
		return nil
	})
	if err != nil && !errors.Is(err, errMoreMsgs) {
		return time.Time{}, fmt.Errorf("eventstore: store time of log sequence %d: %w", seq, err)
	}
	s.timesMu.Lock()
	if s.times == nil || len(s.times)+len(stamps) > maxCachedTimes {
		s.times = make(map[uint64]time.Time, len(stamps))
	}
	for _, r := range stamps {
		s.times[r.seq] = time.Unix(0, r.stored)
	}
	t, ok = s.times[seq]
	s.timesMu.Unlock()
	if !ok {
		return time.Time{}, fmt.Errorf("%w: log sequence %d is not on %s", ErrCorrupt, seq, subj)
	}
	_ = x.w.submitLog(ctx, stamps) // only a cache: a failure costs the next read a round trip
	return t, nil
}

// maxCachedTimes bounds the store times remembered for pending commits.
const maxCachedTimes = 16384

// timeSource binds storeTime to a context and an index for the index's
// reads.
type timeSource struct {
	s   *Store
	ctx context.Context
	x   *index
}

func (t timeSource) storeTime(name string, seq uint64) (time.Time, error) {
	return t.s.storeTime(t.ctx, t.x, name, seq)
}

// Reindex rebuilds the read index from the log into a new generation
// beside the current one, calling progress (if not nil) with the log
// sequences applied so far and the log's last sequence when the rebuild
// began; then it switches reads to the new index and deletes the old one as
// soon as no read holds it. Reads go on meanwhile, on the old index. The
// store also rebuilds on its own whenever it opens an index that is
// missing, damaged, of another format or of another log; Reindex is for
// doing it on purpose.
func (s *Store) Reindex(ctx context.Context, progress func(applied, total uint64)) error {
	if s.closed.Load() {
		return ErrClosed
	}
	s.reindexMu.Lock()
	defer s.reindexMu.Unlock()
	total, err := s.logLastSeq(ctx)
	if err != nil {
		return err
	}
	s.idxMu.Lock()
	gen := s.idx.gen + 1
	s.idxMu.Unlock()
	x, err := createIndex(s.indexDir, gen, s.logID, s.cfg.cacheSize, s.log)
	if err != nil {
		return fmt.Errorf("eventstore: reindex: %w", err)
	}
	t := s.startTailer(x)
	if err := waitProgress(ctx, x, total, progress); err != nil {
		t.stop()
		x.close()
		_ = os.RemoveAll(x.dir)
		return err
	}
	s.idxMu.Lock()
	old, oldT := s.idx, s.tailer
	s.idx, s.tailer = x, t
	idle := old.refs == 0
	s.idxMu.Unlock()
	oldT.stop()
	old.retire()
	if idle {
		old.close()
		_ = os.RemoveAll(old.dir)
	}
	s.log.Info("eventstore: read index rebuilt", "dir", x.dir, "events_through", total)
	return nil
}

func waitProgress(ctx context.Context, x *index, total uint64, progress func(applied, total uint64)) error {
	for {
		pos := x.position()
		if progress != nil {
			progress(min(pos, total), total)
		}
		if pos >= total {
			return nil
		}
		wctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
		_ = x.waitFor(wctx, total)
		cancel()
		if ctx.Err() != nil {
			return fmt.Errorf("eventstore: reindex: %w", ctx.Err())
		}
	}
}

// ClientURL returns the URL other processes can Connect to when the store
// was opened WithListen, or "" otherwise.
func (s *Store) ClientURL() string {
	if s.srv == nil || !s.cfg.listen {
		return ""
	}
	return s.srv.ClientURL()
}

// Close stops the tailer, closes the index and the connection, shuts the
// embedded server down cleanly (which writes its index for a fast restart)
// and releases the directory lock. Reads and subscriptions still running
// end with ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.shutdown()
	})
	return nil
}

func (s *Store) shutdown() {
	s.idxMu.Lock()
	t, x := s.tailer, s.idx
	s.idxMu.Unlock()
	t.stop()
	if t != nil && x != nil {
		// One last pass, so that the checkpoint reaches the log's end and
		// the next open has nothing to catch up.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.tailFrom(ctx, x, true); err != nil && !errors.Is(err, ErrClosed) {
			s.log.Warn("eventstore: read index not brought up to date at close", "err", err)
		}
		cancel()
	}
	for _, nc := range []*nats.Conn{s.nc, s.rnc} {
		if nc != nil {
			nc.Close()
		}
	}
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
	}
	s.idxMu.Lock()
	idle := x == nil || x.refs == 0
	s.idxMu.Unlock()
	if x != nil {
		x.shut() // waiting readers end with ErrClosed
	}
	if idle {
		s.closeIndex()
	}
}

// closeIndex closes the current index and releases the directory lock,
// once no read holds the index: Close does not pull the database from
// under a read in progress, whose next step ends it with ErrClosed.
func (s *Store) closeIndex() {
	s.idxMu.Lock()
	x := s.idx
	s.idxMu.Unlock()
	if x != nil {
		x.close()
	}
	s.lock.unlock()
}

// stripe returns the lock that serializes appends to a stream.
func (s *Store) stripe(name string) *sync.Mutex {
	var h uint32 = 2166136261
	for i := 0; i < len(name); i++ {
		h = (h ^ uint32(name[i])) * 16777619
	}
	return &s.stripes[h%stripeCount]
}

// headCache remembers what the store knows of recently appended streams,
// bounded in number; an evicted stream is read back from the index.
type headCache struct {
	mu  sync.Mutex
	max int
	m   map[string]*streamState
}

func newHeadCache(n int) *headCache { return &headCache{max: n, m: make(map[string]*streamState)} }

func (c *headCache) get(name string) (*streamState, bool) {
	c.mu.Lock()
	st, ok := c.m[name]
	c.mu.Unlock()
	return st, ok
}

func (c *headCache) put(name string, st *streamState) {
	if c.max == 0 {
		return
	}
	c.mu.Lock()
	if _, ok := c.m[name]; !ok && len(c.m) >= c.max {
		for k := range c.m { // evict one arbitrary entry
			delete(c.m, k)
			break
		}
	}
	c.m[name] = st
	c.mu.Unlock()
}

func (c *headCache) drop(name string) {
	c.mu.Lock()
	delete(c.m, name)
	c.mu.Unlock()
}
