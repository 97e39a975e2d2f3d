package eventstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
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
	embedded   bool           // opened with Open: the server is this process's
	nc         *nats.Conn     // appends and API requests
	js         jetstream.JetStream
	rnc        *nats.Conn // consumers: the tailer, log reads, subscriptions
	rjs        jetstream.JetStream
	pub        atomic.Pointer[publisher] // appends' requests; moved to the log's leader (home.go)
	clock      *storeClock
	syncer     *groupSyncer // SyncAlways with Open: the group commit; nil otherwise
	jsName     string
	ackPrefix  []byte // {"stream":"<jsName>","seq": (see parseAck)
	prefix     string // subject prefix of stream subjects
	logID      string
	indexDir   string
	lock       *dirLock
	maxPayload int
	replicas   int              // the log's: what every resource the store makes gets
	logStream  jetstream.Stream // the log's handle, for its info
	writes     writeHealth      // whether the latest appends were answered (Ready)
	// dialURL connects to one server of a cluster first (Connect only):
	// the append connection moves to the log's leader with it (home.go).
	dialURL func(name, url string) (*nats.Conn, error)

	consumerPrefix string        // this store's consumers are named rewind_<prefix>_<n>
	consumerSeq    atomic.Uint64 // the last n

	// startDone is closed once the store has started: its server is up,
	// the log found and the index checked against it (startErr says why
	// not, if that failed). Open may return before (cleanclose.go);
	// everything that needs the server waits for it (awaitStart). The
	// fields the start sets (the connections, the log's handle and id,
	// the syncer, srv) are read only after it.
	startDone chan struct{}
	startErr  error
	// startCue lets a start behind Open begin (closed once, by cueStart);
	// startState says whether it has begun or been called off by Close
	// (startPending, startBegun, startCancelled).
	startCue   chan struct{}
	startCued  atomic.Bool
	startState atomic.Int32
	// cleanAt is the log's last sequence when Close found the index at the
	// log's end with nothing left able to append (0: not so): the
	// closing of the index then leaves a clean-close mark.
	cleanAt atomic.Uint64
	// pendingMark is the mark the closing of the index leaves for
	// unlockAfter to write, once the server has stopped too.
	pendingMark atomic.Pointer[cleanMark]

	// ctx ends when Close begins; every goroutine the store starts (the
	// tailers, Reindex, rebuilds, idle producers) ends with it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // goroutines started on ctx that Close waits for

	idxMu      sync.Mutex
	idx        *index
	tailer     *tailer
	rebuilding *rebuild // the rebuild of a damaged index in progress, if any
	idxClosed  bool     // Close has closed the index
	// idxLeft: the shutdown is done with the index (a start still going
	// on behind Open, the last pass of the tailer), so the last read
	// holding it closes it.
	idxLeft bool

	stripes   [stripeCount]atomic.Pointer[chan struct{}]
	heads     *headCache
	ids       *idGen
	lastAcked atomic.Uint64 // highest log sequence acknowledged to this process
	// lastTombstone is the log sequence of the newest delete this store
	// made (lifecycle.go), which log-ordered reads wait for the index to
	// hold (readIndexOrdered).
	lastTombstone atomic.Uint64
	inflight      inflightSet // appends in flight, while a tailer follows the log (inflight.go)

	waits  waitSet // WaitStream's waiters
	metaMu sync.Mutex
	meta   *metaMirror // stream metadata, once used (metadata.go)

	producersMu sync.Mutex
	producers   map[*Producer]struct{}

	tailHook atomic.Pointer[func(seq uint64)]            // tests: called before each message the tailer applies
	modeHook atomic.Pointer[func(live bool, why string)] // tests: called when the tailer starts or stops following the log live
	stopHook atomic.Pointer[func()]                      // tests: called by Close before it shuts the embedded server down
	moveHook atomic.Pointer[func(from *publisher)]       // tests: called by a move of the appends once the old publisher stopped sending

	tips *tips // the log's tips, when it is shared (tips.go); nil for a sole writer

	snapMu     sync.Mutex
	snapReady  bool             // the snapshot stream exists
	snapStream jetstream.Stream // its handle, once it does

	reindexMu sync.Mutex
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
	// unlocks counts what must end before the directory lock is released:
	// the shutdown (server stopped) and the closing of the index (which
	// waits for the last read holding it).
	unlocks atomic.Int32
}

// stripeCount is the number of per-stream locks: appends to one stream are
// serialized in the process (JetStream's per-subject check still guards
// across processes), appends to different streams rarely share a lock.
const stripeCount = 4096

const logIDKey = "rewind.log"

// startWaitAtClose bounds how long Close waits for a start still going on.
const startWaitAtClose = 10 * time.Second

// Open starts an embedded JetStream server on dir (created if needed) and
// returns a Store on it. The log lives in dir/log, the read index in
// dir/index. The directory is locked: a second Open of the same dir, in
// this process or another, fails with an error wrapping ErrLocked until
// Close. The server has no network listener unless WithListen is given.
//
// When the store was last closed cleanly without a listener (Close left
// the index at the log's end and recorded it), Open returns as soon as the
// index is open and starts the server behind it, on the first of: a call
// that needs it, the end of the first read, or 10 ms after Open (so that a
// process that opens the store to read one stream does not share its CPU
// with the start). Reads of streams (Read, Head) are served from the index
// at once, as of that close; everything that needs the server or the log
// (appends, subscriptions, reads of the log, Tail, metadata, snapshots)
// waits for it within its ctx, and fails with an error wrapping ErrStart
// if the server could not start. Started
// waits for the same. Once the server is up, the index is checked against
// the log before anything new is served: if the log is not what the close
// recorded (its files were changed meanwhile), reads wait for the index to
// catch up or be rebuilt from the log. Otherwise (a first open, after a
// crash, with WithListen) Open returns once the server is up and the index
// checked.
func Open(ctx context.Context, dir string, opts ...Option) (*Store, error) {
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := cfg.checkListen(); err != nil {
		return nil, err
	}
	if cfg.replicas > 1 {
		return nil, fmt.Errorf("%w: %d replicas asked for, and the embedded server is one node: replication needs a NATS cluster (Connect)",
			ErrReplicas, cfg.replicas)
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("eventstore: open %s: %w", dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := newStore(cfg, lock, filepath.Join(dir, "index"))
	s.embedded = true
	// The embedded server's max_payload is the option's.
	s.maxPayload = int(cfg.maxPayload)
	files := make(chan *indexFiles, 1)
	if m, ok := readCleanMark(s.indexDir); ok && !cfg.listen {
		if x, ok := openMarked(s.indexDir, m, s.cfg.cacheSize, s.log); ok {
			startWriter(x, s.log, s.startCue)
			s.idx = x
			s.lastAcked.Store(m.Seq)
			s.wg.Go(func() { s.startBehind(dir, x, m) })
			return s, nil
		}
	}
	// The index's files are opened meanwhile: they need nothing from the
	// server until they are checked against the log.
	go func() { files <- openIndexFiles(s.indexDir, s.cfg.cacheSize, s.log) }()
	srv, err := startServer(dir, &cfg)
	if err != nil {
		if f := <-files; f != nil {
			f.discard()
		}
		lock.unlock()
		return nil, err
	}
	s.srv = srv
	if err := s.start(ctx, s.embeddedDial(), files); err != nil {
		s.shutdown()
		return nil, err
	}
	return s, nil
}

// embeddedDial returns how the store connects to its embedded server.
func (s *Store) embeddedDial() func(name string) (*nats.Conn, error) {
	return func(name string) (*nats.Conn, error) {
		nopts := []nats.Option{nats.InProcessServer(s.srv), nats.Name(name), asyncErrors(s.log)}
		if s.cfg.listenToken != "" {
			nopts = append(nopts, nats.Token(s.cfg.listenToken))
		}
		nc, err := nats.Connect("", nopts...)
		if err != nil {
			return nil, fmt.Errorf("eventstore: connect to the embedded server: %w", err)
		}
		return nc, nil
	}
}

// asyncErrors sends what a connection reports asynchronously (a slow
// consumer's dropped messages, a permission refused) to the store's
// logger. Without it nats.go writes each to the process's stderr,
// unstructured and past WithLogger. The store recovers from those it
// can (a consumer that missed a delivery is made again from the next
// message); the line says what happened. WithNATSOptions can set another
// handler.
func asyncErrors(log *slog.Logger) nats.Option {
	return nats.ErrorHandler(func(nc *nats.Conn, sub *nats.Subscription, err error) {
		args := []any{"err", err}
		if nc != nil {
			args = append(args, "connection", nc.Opts.Name)
		}
		if sub != nil {
			args = append(args, "subject", sub.Subject)
		}
		log.Warn("eventstore: NATS connection error", args...)
	})
}

// Connect returns a Store on an external NATS server or cluster with
// JetStream enabled, creating the log stream if it does not exist
// (WithReplicas sets its replication). The read index is kept locally
// (WithIndexDir) and follows the log, so events appended by other processes
// reach it; reads first make sure it holds everything the log held when the
// read began. When no server of natsURL answers, Connect fails at once with
// an error wrapping ErrUnavailable (and nats.ErrNoServers).
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
		indexRoot = filepath.Join(base, "rewind", indexDirName(natsURL, cfg.jsName))
	}
	lock, err := lockDir(indexRoot)
	if err != nil {
		return nil, err
	}
	connect := func(name string, extra ...nats.Option) (*nats.Conn, error) {
		// A store outlives any outage of its servers: its connections
		// reconnect for as long as it is open (nats.go gives up after 60
		// tries per server, about two minutes, and the store would be
		// dead from then on), unless the user's options say otherwise.
		//
		// A server that stops answering without closing its connections
		// (a frozen process or VM, a network that drops packets) is
		// given up after stalePings pings of stalePingInterval went
		// unanswered, 3 to 4 s, and the connection moves to another
		// server; nats.go's default, two pings two minutes apart, kept a
		// store's reads waiting on a frozen follower for minutes while
		// the rest of the cluster served. A ping a second costs a healthy
		// connection a few bytes; a server so loaded that it leaves
		// three unanswered only costs a reconnect. The embedded store's
		// in-process connections cannot lose their server and keep the
		// default.
		opts := append(append([]nats.Option{nats.Name(name), nats.MaxReconnects(-1), asyncErrors(cfg.logger),
			nats.PingInterval(stalePingInterval), nats.MaxPingsOutstanding(stalePings)}, cfg.natsOpts...), extra...)
		nc, err := nats.Connect(natsURL, opts...)
		if errors.Is(err, nats.ErrNoServers) {
			// No server answered: transient, as a cluster that does not
			// answer a request is.
			return nil, fmt.Errorf("eventstore: connect to %s: %w: %w", RedactURL(natsURL), ErrUnavailable, redactError(err, natsURL))
		}
		if err != nil {
			return nil, fmt.Errorf("eventstore: connect to %s: %w", RedactURL(natsURL), redactError(err, natsURL))
		}
		return nc, nil
	}
	dial := func(name string) (*nats.Conn, error) { return connect(name) }
	s := newStore(cfg, lock, filepath.Join(indexRoot, "index"))
	s.dialURL = func(name, u string) (*nats.Conn, error) {
		return connect(name, firstURL(homeURL(natsURL, u)))
	}
	files := make(chan *indexFiles, 1)
	go func() { files <- openIndexFiles(s.indexDir, s.cfg.cacheSize, s.log) }()
	if err := s.start(ctx, dial, files); err != nil {
		s.shutdown()
		return nil, err
	}
	return s, nil
}

// How long a Connect store's connection waits for a silent server (see
// Connect): it pings every stalePingInterval and reconnects elsewhere when
// more than stalePings pings are unanswered.
const (
	stalePingInterval = time.Second
	stalePings        = 3
)

func buildConfig(opts []Option) (config, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

func newStore(cfg config, lock *dirLock, indexDir string) *Store {
	s := &Store{
		cfg:       cfg,
		log:       cfg.logger,
		startDone: make(chan struct{}),
		startCue:  make(chan struct{}),
		clock:     newClock(cfg.clock),
		jsName:    cfg.jsName,
		ackPrefix: []byte(`{"stream":"` + cfg.jsName + `","seq":`),
		prefix:    cfg.jsName + ".s",
		indexDir:  indexDir,
		lock:      lock,
		heads:     newHeadCache(cfg.headCache),
		ids:       newIDGen(),
		producers: make(map[*Producer]struct{}),

		consumerPrefix: strings.ReplaceAll(uuid.NewString(), "-", ""),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.unlocks.Store(2)
	return s
}

func startServer(dir string, cfg *config) (*server.Server, error) {
	opts := &server.Options{
		ServerName:    "rewind",
		JetStream:     true,
		StoreDir:      filepath.Join(dir, "log"),
		DontListen:    !cfg.listen,
		Host:          cfg.host,
		Port:          cfg.port,
		Authorization: cfg.listenToken,
		NoSigs:        true,
		NoLog:         true,
		MaxPayload:    cfg.maxPayload,
		SyncInterval:  cfg.syncInterval,
		// 0 leaves the server's default: three quarters of the free
		// disk space (WithStorageLimit).
		JetStreamMaxStore: cfg.maxStore,
		// SyncAlways is not the server's: it would fsync each message in
		// turn. The store fsyncs for groups of appends (groupsync.go).
	}
	if cfg.listen && cfg.port == 0 {
		opts.Port = server.RANDOM_PORT
	}
	// No cache of subject matches: every append's acknowledgement goes to
	// a reply subject of its own (publish.go), and with many streams each
	// commit's subject is new too, so the 1,024-entry cache missed, filled
	// and was swept for nearly every message (5 % of the CPU of appends to
	// new streams); the subscriptions it would spare a walk through are few.
	opts.NoSublistCache = true
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("eventstore: embedded server: %w", err)
	}
	if cfg.logger != nil {
		srv.SetLoggerV2(serverLog{cfg.logger}, false, false, false)
	}
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("eventstore: embedded server on %s did not start", dir)
	}
	return srv, nil
}

// start connects, creates or checks the log stream, checks the index that
// files delivers (opened meanwhile) against it and starts the tailer.
//
// The store holds two connections: one for appends and requests, one for
// consumers. Each connection is read by one goroutine on each side, and the
// tailer receives every commit: on one shared connection its deliveries
// would queue with the appenders' acknowledgements and halve what parallel
// appenders get through.
func (s *Store) start(ctx context.Context, dial func(name string) (*nats.Conn, error), files chan *indexFiles) (err error) {
	defer func() {
		if f := <-files; f != nil && err != nil {
			f.discard()
		}
		s.startErr = err
		close(s.startDone)
	}()
	if err := s.connect(dial); err != nil {
		return err
	}
	last, err := s.openLog(ctx)
	if err != nil {
		return err
	}
	s.homeWriter(ctx)
	s.lastAcked.Store(last)
	f := <-files
	files <- nil // for the deferred receive: f is finished or discarded here
	x, err := f.finish(s.logID, last, s.newestInLog(ctx))
	if err != nil {
		return err
	}
	if f.rebuilt {
		s.cfg.observer.IndexRebuilt()
	}
	if s.embedded {
		// From here on the log may change: a mark left by an earlier
		// close must not outlive this.
		if err := dropCleanMark(s.indexDir); err != nil {
			_ = x.close()
			return err
		}
	}
	s.idx = x
	if !s.soleWriter() {
		s.tips = s.startTips()
	}
	s.tailer = s.startTailer(x)
	x.compactions.openGate()
	s.watchIndex()
	s.followLeader()
	return nil
}

// connect makes the store's two connections.
func (s *Store) connect(dial func(name string) (*nats.Conn, error)) (err error) {
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
	pub, err := newPublisher(s.nc)
	if err != nil {
		return err
	}
	s.pub.Store(pub)
	if !s.embedded {
		s.maxPayload = int(s.nc.MaxPayload())
	}
	return nil
}

// openLog finds or creates the log, raises the clock to its last commit and
// starts the group commit if asked for; it returns the log's last sequence.
func (s *Store) openLog(ctx context.Context) (uint64, error) {
	last, err := s.ensureStream(ctx)
	if err != nil {
		return 0, err
	}
	if err := s.observeLastTime(ctx, last); err != nil {
		return 0, err
	}
	if s.srv != nil && s.cfg.syncAlways {
		if s.syncer, err = startGroupSyncer(s.srv.StoreDir(), s.jsName, s.log); err != nil {
			return 0, err
		}
		s.syncer.observe(s.cfg.observer)
	}
	return last, nil
}

// observeLastTime raises the store's clock to the store time of the log's
// last commit, so that a clock that stepped back while the store was
// closed does not stamp commits before it.
func (s *Store) observeLastTime(ctx context.Context, last uint64) error {
	if last == 0 {
		return nil
	}
	m, err := s.logMsgStarting(ctx, last)
	if err != nil || m == nil {
		return err
	}
	if c, err := decodeCommitHeader(m.data); err == nil {
		s.clock.observe(c.storedAt(m.stored).UnixNano())
	} else {
		s.clock.observe(m.stored.UnixNano())
	}
	return nil
}

// newestInLog returns the check indexFiles.finish makes of the index's newest
// commit: the log must hold, at that sequence, a commit of the same stream
// whose first event has the same id.
func (s *Store) newestInLog(ctx context.Context) logCheck {
	return func(n newestCommit) (string, error) {
		m, err := s.logMsgStarting(ctx, n.seq)
		if err != nil {
			return "", err
		}
		if m == nil {
			return fmt.Sprintf("its newest commit (log sequence %d, %q) is not in the log", n.seq, n.name), nil
		}
		name, _ := nameFromSubject(s.prefix, m.subject)
		if name != n.name || firstEventID(m.data) != n.id {
			return fmt.Sprintf("log sequence %d holds another message than the index's newest commit (%q)", n.seq, n.name), nil
		}
		return "", nil
	}
}

// ensureStream finds or creates the log stream and returns its last
// sequence. It settles the store's replication (s.replicas): the log's.
func (s *Store) ensureStream(ctx context.Context) (uint64, error) {
	st, err := s.ensureJSStream(ctx, jetstream.StreamConfig{
		Name:        s.jsName,
		Description: "Rewind event log",
		Subjects:    []string{s.jsName + ".>"},
		Storage:     jetstream.FileStorage,
		Replicas:    s.cfg.replicas,
		AllowDirect: true,
		Compression: s.cfg.compression,
		// Rewind does not use Nats-Msg-Id deduplication (producers
		// are deduplicated forever by their state in the log), and a
		// long window makes restarts re-read it.
		Duplicates: time.Second,
		Metadata:   map[string]string{logIDKey: uuid.NewString()},
	}, s.cfg.replicasSet)
	if err != nil {
		return 0, fmt.Errorf("eventstore: log stream %q: %w", s.jsName, err)
	}
	// Stream and CreateStream have just fetched the stream's info.
	info := st.CachedInfo()
	s.logID = info.Config.Metadata[logIDKey]
	if s.logID == "" {
		return 0, fmt.Errorf("eventstore: JetStream stream %q exists but was not created by Rewind", s.jsName)
	}
	if s.srv != nil && s.cfg.syncAlways && info.Config.Replicas > 1 {
		return 0, fmt.Errorf("%w: SyncAlways needs a single-replica log on the embedded server", ErrInvalidOption)
	}
	s.replicas, s.logStream = max(info.Config.Replicas, 1), st
	return info.State.LastSeq, nil
}

// ensureJSStream returns the JetStream stream cfg names, creating it with
// cfg if it does not exist. An existing stream is used as it is, never
// updated: a process never changes the replication (or anything else) of
// what others use. When it has fewer replicas than cfg asks for, strict
// makes that a *ReplicasError; otherwise the stream is used and the
// difference logged.
func (s *Store) ensureJSStream(ctx context.Context, cfg jetstream.StreamConfig, strict bool) (jetstream.Stream, error) {
	if cfg.Name != s.jsName { // the log itself is found while starting
		if err := s.awaitStart(ctx); err != nil {
			return nil, err
		}
	}
	var st jetstream.Stream
	err := retry(ctx, func(ctx context.Context) (err error) {
		st, err = s.js.Stream(ctx, cfg.Name)
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return err
		}
		st, err = s.js.CreateStream(ctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			st, err = s.js.Stream(ctx, cfg.Name) // made meanwhile, or by a try that timed out
		}
		return s.placementError(err, cfg.Replicas)
	})
	if err != nil {
		return nil, s.closedOr(err)
	}
	if err := s.checkReplicas(cfg.Name, st.CachedInfo().Config.Replicas, cfg.Replicas, strict); err != nil {
		return nil, err
	}
	return st, nil
}

// codeNoPeers is JetStream's error code for a resource it cannot place.
const codeNoPeers = 10005

// placementError returns err, a new resource's creation asking for want
// replicas, as an error wrapping ErrReplicas when it says that the cluster
// has too few servers for them, which no retry changes. The server
// answers "no suitable peers for placement" (JetStream's 10005) both when
// a replica's server is down (transient: retried, see transient) and when
// the cluster has fewer servers than replicas; only in the second case are
// its peers all online, and then the answer names no reason ("peer
// offline", "insufficient storage", …) after it. Rewind sets no placement
// tags, so that answer means too few servers. It names how many servers
// the connection knows of: those given and those the cluster advertises
// (all of them, when every one is up and it advertises).
//
// The server's error is kept as text only: wrapped, it would still read
// as transient.
func (s *Store) placementError(err error, want int) error {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode != codeNoPeers ||
		apiErr.Description != "no suitable peers for placement" {
		return err
	}
	return fmt.Errorf("%w: %d replicas asked for, and the NATS cluster has fewer JetStream servers, all of them up "+
		"(this connection knows of %d servers): ask for at most as many as it has (WithReplicas, --replicas): %v",
		ErrReplicas, want, len(s.nc.Servers()), err)
}

// checkReplicas compares an existing resource's replicas with those
// wanted: fewer is a *ReplicasError when strict, a warning otherwise;
// more is used as it is (and logged when asked for explicitly).
func (s *Store) checkReplicas(name string, have, want int, strict bool) error {
	have = max(have, 1)
	switch {
	case have < want && strict:
		return &ReplicasError{Resource: name, Have: have, Want: want}
	case have < want:
		s.log.Warn("eventstore: JetStream stream has fewer replicas than the log; used as it is",
			"stream", name, "replicas", have, "log_replicas", want)
	case have > want && s.cfg.replicasSet:
		s.log.Info("eventstore: JetStream stream has more replicas than asked for; used as it is, never lowered",
			"stream", name, "replicas", have, "asked", want)
	}
	return nil
}

// logLastSeq asks the server for where the log ends, its last sequence,
// which it keeps in memory (a last-message lookup would load a block from
// disk): the barrier of every read that sees each append acknowledged
// before it began. On a replicated log only an answer of its leader in
// touch with a majority of the replicas counts (quorum.go): a replica
// left without a leader answers from what it holds, which may lack
// acknowledged appends, so such an answer is asked again, like one that
// does not come, until ctx ends (10 s without a deadline) and then fails
// with ErrUnavailable, as an append would. Each try is short, and tries
// go on across an election (retry).
func (s *Store) logLastSeq(ctx context.Context) (uint64, error) {
	info, err := s.logInfoFrom(ctx, checkQuorum)
	if err != nil {
		return 0, err
	}
	return info.State.LastSeq, nil
}

// heldLastSeq is the log's last sequence as any server answers it: the
// leader's, or, while the log has no leader, that of a replica from what
// it holds. It never bounds what a read must see; the tailer uses it to
// know whether there is more to index (whatever a replica holds can be
// indexed), a scrape to show the index's lag.
func (s *Store) heldLastSeq(ctx context.Context) (uint64, error) {
	info, err := s.logInfo(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.LastSeq, nil
}

// logInfo asks the cluster (or the embedded server) for the log's info,
// taking any server's answer (Ready checks the leader itself, to say
// why it is not ready).
func (s *Store) logInfo(ctx context.Context) (*jetstream.StreamInfo, error) {
	return s.logInfoFrom(ctx, nil)
}

// logInfoFrom asks for the log's info until an answer comes that check
// (when not nil) accepts, or a transient error outlasts ctx.
func (s *Store) logInfoFrom(ctx context.Context, check func(*jetstream.StreamInfo) error) (*jetstream.StreamInfo, error) {
	if err := s.awaitStart(ctx); err != nil {
		return nil, err
	}
	var info *jetstream.StreamInfo
	err := retry(ctx, func(ctx context.Context) (err error) {
		info, err = s.logStream.Info(ctx)
		if err == nil && check != nil {
			err = check(info)
		}
		return err
	})
	if err != nil {
		return nil, s.closedOr(fmt.Errorf("eventstore: log stream info: %w", err))
	}
	return info, nil
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
func (s *Store) soleWriter() bool { return s.embedded && !s.cfg.listen }

func (s *Store) noteAcked(seq uint64) {
	raise(&s.lastAcked, seq)
	s.tips.announce(seq)
}

// raise sets a to v when v is above it, and reports whether it did: the
// highest of the log sequences several goroutines note.
func raise(a *atomic.Uint64, v uint64) bool {
	for {
		cur := a.Load()
		if v <= cur {
			return false
		}
		if a.CompareAndSwap(cur, v) {
			return true
		}
	}
}

// ClientURL returns the URL other processes can Connect to when the store
// was opened WithListen, or "" otherwise. It holds no token: a client of a
// listener with WithListenToken adds it (nats.Token).
func (s *Store) ClientURL() string {
	if !s.cfg.listen || s.srv == nil {
		return ""
	}
	return s.srv.ClientURL()
}

// Close ends everything the store started and releases its directory:
// reads, subscriptions, producers and a Reindex still running end with
// ErrClosed; the tailer brings the index up to the log's end; the
// connections close, the read index closes (once no read holds it) and the
// embedded server shuts down cleanly (which writes its index for a fast
// restart). The directory lock is released only once the server has
// stopped and the read index is closed (a read still holding the index
// closes it at its next step), so a new Open of the directory never meets
// a server still running on it. Close returns what went wrong while
// shutting down, if anything; calling it again returns the same.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.closeErr = s.shutdown()
	})
	return s.closeErr
}

// shutdown stops what start started, in reverse order. It also cleans up
// after a start that failed half-way.
func (s *Store) shutdown() error {
	// A start still going on behind Open (cleanclose.go) is let finish, so
	// that this close can leave the index marked clean for the next open;
	// it is bounded by the server's start and a few requests.
	if s.startState.CompareAndSwap(startPending, startCancelled) {
		s.cueStart() // a start behind Open that has not begun never will
	}
	select {
	case <-s.startDone:
	case <-time.After(startWaitAtClose):
	}
	s.cancel()
	s.stopProducers()
	// rebuildAfter starts its goroutine under idxMu after checking closed:
	// once this lock was taken, none starts.
	s.idxMu.Lock()
	s.idxMu.Unlock() //nolint:staticcheck // an empty critical section on purpose
	// The metadata mirror starts under metaMu after checking closed.
	s.metaMu.Lock()
	s.metaMu.Unlock() //nolint:staticcheck // an empty critical section on purpose
	s.wg.Wait()
	s.reindexMu.Lock() // a Reindex in progress has seen ctx end and cleaned up
	defer s.reindexMu.Unlock()
	s.idxMu.Lock()
	t, x := s.tailer, s.idx
	s.idxMu.Unlock()
	t.stop()
	var errs []error
	if t != nil && x != nil {
		// One last pass, so that the checkpoint reaches the log's end and
		// the next open has nothing to catch up.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.tailFrom(ctx, x, true); err != nil && !errors.Is(err, ErrClosed) {
			s.log.Warn("eventstore: read index not brought up to date at close", "err", err)
		}
		cancel()
	}
	if p := s.pub.Load(); p != nil {
		p.close()
		if p.own {
			p.nc.Close()
		}
	}
	if s.nc != nil {
		s.nc.Close()
	}
	if t != nil && x != nil && s.soleWriter() && s.startErr == nil {
		// Nothing of this process can append any more, and nobody else
		// can: if the index holds the log's end, its close says so.
		s.cleanAt.Store(s.cleanLast())
	}
	if s.rnc != nil {
		s.rnc.Close()
	}
	// The index closes before the server shuts down, unless a read still
	// holds it: nothing writes to it any more, and the server's shutdown
	// writes its own index of the log from a buffer of some 60 B per
	// subject made at once (60 MB for a million streams), better not on
	// top of pebble's memtables (up to 64 MiB outside the Go heap). The
	// clean-close mark still waits for the server (unlockAfter).
	s.idxMu.Lock()
	idle := x == nil || x.refs == 0
	s.idxLeft = true
	s.idxMu.Unlock()
	if x != nil {
		x.shut() // waiting readers end with ErrClosed
	}
	if idle {
		if err := s.closeIndexErr(); err != nil {
			errs = append(errs, err)
		}
	}
	if s.srv != nil {
		if h := s.stopHook.Load(); h != nil {
			(*h)()
		}
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
	}
	if s.syncer != nil {
		if err := s.syncer.close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.unlockAfter(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("eventstore: close: %w", err)
	}
	return nil
}

// closeIndex closes the current index once no read holds it (called by
// the last holder after Close), then lets the directory go if the shutdown
// is done too.
func (s *Store) closeIndex() {
	if err := s.closeIndexErr(); err != nil {
		s.log.Warn("eventstore: read index not closed cleanly", "err", err)
	}
}

func (s *Store) closeIndexErr() error {
	s.idxMu.Lock()
	x, done := s.idx, s.idxClosed
	s.idxClosed = true
	s.idxMu.Unlock()
	if done {
		return nil
	}
	var err error
	if x != nil {
		err = x.close()
	}
	if at := s.cleanAt.Load(); err == nil && x != nil && at > 0 && x.position() == at {
		s.pendingMark.Store(&cleanMark{Gen: x.gen, Log: s.logID, Seq: at, Format: indexFormat})
	}
	return errors.Join(err, s.unlockAfter())
}

// unlockAfter counts one of the two things the directory lock waits for
// (the shutdown, the closing of the index). After both it writes the
// clean-close mark the closing of the index left, if any, and releases
// the lock: the mark waits for the server's shutdown too, so that it is
// never written while the server may still be flushing the log's files.
func (s *Store) unlockAfter() error {
	if s.unlocks.Add(-1) != 0 {
		return nil
	}
	var err error
	if m := s.pendingMark.Load(); m != nil {
		err = writeCleanMark(s.indexDir, *m)
	}
	s.lock.unlock()
	return err
}
