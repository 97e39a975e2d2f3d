package eventstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/natscluster"
)

// The tests in this file run Rewind on a real three-node JetStream cluster:
// nats-server processes built from the module graph (internal/natscluster),
// killed with SIGKILL and restarted, every port on 127.0.0.1.

// connectCluster connects a store to the cluster with its own index
// directory and closes it when the test ends.
func connectCluster(t *testing.T, c *natscluster.Cluster, opts ...eventstore.Option) *eventstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := eventstore.Connect(ctx, c.URLs(), append([]eventstore.Option{eventstore.WithIndexDir(t.TempDir())}, opts...)...)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawJS is a plain JetStream connection to the cluster, to look at what
// the stores made.
func rawJS(t *testing.T, c *natscluster.Cluster) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(c.URLs())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// replicasOf returns a JetStream stream's replicas, asking until the
// cluster answers.
func replicasOf(t *testing.T, js jetstream.JetStream, name string) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := js.Stream(ctx, name)
		cancel()
		if err == nil {
			return st.CachedInfo().Config.Replicas
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %q: %v", name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestClusterReplicas: replication is the deployment's. A store made with
// WithReplicas(3) makes every resource R3; a default Connect on that log
// adopts R3 for what it makes and lowers nothing; WithReplicas(1) on it
// lowers nothing either; WithReplicas(3) on an R1 log, or on an R1 bucket,
// fails with ErrReplicas instead of running on one replica without a word.
func TestClusterReplicas(t *testing.T) {
	c := natscluster.Start(t, 3)
	js := rawJS(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	a := connectCluster(t, c, eventstore.WithStreamName("r3"), eventstore.WithReplicas(3))
	if _, err := a.Append(ctx, "acct/1", evs(2, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.KeyValue(ctx, "r3-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SetMetadata(ctx, "acct/1", map[string]string{"k": "v"}, 0); err != nil {
		t.Fatal(err)
	}
	if err := a.SaveSnapshot(ctx, eventstore.Snapshot{Stream: "acct/1", Version: 2, StoredAt: time.Now(), Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}

	// A default Connect: a projection worker, a CLI, serve without
	// --replicas.
	b := connectCluster(t, c, eventstore.WithStreamName("r3"))
	if _, err := b.KeyValue(ctx, "r3-b"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.KeyValue(ctx, "r3-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SetMetadata(ctx, "acct/2", map[string]string{"k": "v"}, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.SaveSnapshot(ctx, eventstore.Snapshot{Stream: "acct/2", Version: 1, StoredAt: time.Now(), Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	// Asking for one replica lowers nothing.
	one := connectCluster(t, c, eventstore.WithStreamName("r3"), eventstore.WithReplicas(1))
	if _, err := one.KeyValue(ctx, "r3-a"); err != nil {
		t.Fatal(err)
	}
	if err := one.SaveSnapshot(ctx, eventstore.Snapshot{Stream: "acct/1", Version: 2, StoredAt: time.Now(), Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if _, err := one.Append(ctx, "acct/3", evs(1, 0)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"r3", "KV_r3-a", "KV_r3-b", "KV_r3-meta", "r3-snapshots"} {
		if got := replicasOf(t, js, name); got != 3 {
			t.Errorf("%s has %d replicas after default and R1 Connects, want 3", name, got)
		}
	}

	// An R1 log, made by a default Connect: an R3 store refuses it.
	r1 := connectCluster(t, c, eventstore.WithStreamName("r1"))
	if _, err := r1.Append(ctx, "acct/1", evs(1, 0)); err != nil {
		t.Fatal(err)
	}
	_, err := eventstore.Connect(ctx, c.URLs(), eventstore.WithStreamName("r1"), eventstore.WithReplicas(3),
		eventstore.WithIndexDir(t.TempDir()))
	var rerr *eventstore.ReplicasError
	if !errors.Is(err, eventstore.ErrReplicas) || !errors.As(err, &rerr) || rerr.Have != 1 || rerr.Want != 3 || rerr.Resource != "r1" {
		t.Errorf("Connect(WithReplicas(3)) on an R1 log: %v, want a *ReplicasError{r1, 1, 3}", err)
	}
	// An R1 bucket beside an R3 log: refused by a store that asked for 3.
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "r3-low", Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.KeyValue(ctx, "r3-low"); !errors.Is(err, eventstore.ErrReplicas) {
		t.Errorf("KeyValue on an R1 bucket from an R3 store: %v, want ErrReplicas", err)
	}
	if got := replicasOf(t, js, "KV_r3-low"); got != 1 {
		t.Errorf("the R1 bucket has %d replicas after the refusal, want 1 (nothing changed)", got)
	}
}

// TestClusterMetadataAcrossStores: a stream's metadata set through one
// store is known to another at once (it reads the bucket on a miss), as
// two servers behind one address must be one service.
func TestClusterMetadataAcrossStores(t *testing.T) {
	c := natscluster.Start(t, 3)
	a := connectCluster(t, c, eventstore.WithReplicas(3))
	b := connectCluster(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := b.Metadata(ctx, "warm"); err != nil { // b's mirror runs
		t.Fatal(err)
	}
	for i := range 100 {
		name := fmt.Sprintf("meta/%d", i)
		rev, err := a.SetMetadata(ctx, name, map[string]string{"i": fmt.Sprint(i)}, 0)
		if err != nil {
			t.Fatal(err)
		}
		m, err := b.Metadata(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if m.Revision != rev || m.Values["i"] != fmt.Sprint(i) {
			t.Fatalf("%s set through one store (revision %d), the other answers %+v", name, rev, m)
		}
	}
}

// ack is one acknowledged append of the failover test.
type ack struct {
	stream  string
	version uint64
	id      uuid.UUID
}

// TestClusterFailover runs two stores on an R3 cluster under load
// (ExpectVersion writers and idempotent producers in both) and kills, with
// SIGKILL, the log's leader, the meta leader, the log's leader again and a
// follower, restarting each. Every acknowledged event must be stored
// exactly once at its acknowledged version, no event twice, the producers'
// sequences exactly once and in order, both indexes and the log agree, and
// every resource keeps its three replicas. Reads during the failover come
// from the local index.
func TestClusterFailover(t *testing.T) {
	c := natscluster.Start(t, 3)
	js := rawJS(t, c)
	stores := []*eventstore.Store{
		connectCluster(t, c, eventstore.WithReplicas(3)),
		connectCluster(t, c, eventstore.WithReplicas(3)),
	}
	setup, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := stores[0].SetMetadata(setup, "meta", map[string]string{"k": "v"}, 0); err != nil {
		t.Fatal(err)
	}

	var (
		mu       sync.Mutex
		acks     []ack
		progress atomic.Int64 // acknowledged appends so far
		readErrs atomic.Int64
		reads    atomic.Int64
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	writer := func(s *eventstore.Store, stream string) {
		defer wg.Done()
		var v uint64
		for {
			select {
			case <-stop:
				return
			default:
			}
			e := eventstore.Event{ID: uuid.Must(uuid.NewV7()), Type: "Numbered", Data: []byte(fmt.Sprintf(`{"n":%d}`, v+1))}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			res, err := s.Append(ctx, stream, []eventstore.Event{e}, eventstore.ExpectVersion(v))
			cancel()
			var cerr *eventstore.ConcurrencyError
			switch {
			case err == nil:
				mu.Lock()
				acks = append(acks, ack{stream, res.Version, e.ID})
				mu.Unlock()
				progress.Add(1)
				v = res.Version
			case errors.As(err, &cerr):
				// An append whose outcome was unknown was stored after
				// all: go on after it (it was never acknowledged).
				v = cerr.Actual
			case errors.Is(err, eventstore.ErrUnavailable):
				// Outcome unknown: the next append finds out.
			default:
				t.Errorf("append to %s: %v", stream, err)
				return
			}
		}
	}
	reader := func(s *eventstore.Store, stream string) {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			var prev uint64
			for e, err := range s.Read(ctx, stream) {
				if err != nil {
					if !errors.Is(err, eventstore.ErrUnavailable) {
						t.Errorf("read %s: %v", stream, err)
					}
					readErrs.Add(1)
					break
				}
				if e.Version != prev+1 {
					t.Errorf("read %s: version %d after %d", stream, e.Version, prev)
				}
				prev = e.Version
			}
			cancel()
			reads.Add(1)
		}
	}
	var producers []*eventstore.Producer
	var produced []atomic.Uint64
	produced = make([]atomic.Uint64, len(stores))
	for i, s := range stores {
		for w := range 2 {
			wg.Add(2)
			stream := fmt.Sprintf("w%d/%d", i, w)
			go writer(s, stream)
			go reader(s, stream)
		}
		p, err := s.Producer(setup, fmt.Sprintf("p/%d", i), fmt.Sprintf("producer-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		producers = append(producers, p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := uint64(0); ; n++ {
				select {
				case <-stop:
					return
				case <-time.After(2 * time.Millisecond):
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				_, err := p.Append(ctx, eventstore.Event{Type: "Numbered", Data: []byte(fmt.Sprintf(`{"n":%d}`, n))})
				cancel()
				if err != nil {
					t.Errorf("producer %d: %v", i, err)
					return
				}
				produced[i].Store(n + 1)
			}
		}()
	}

	// waitProgress waits until the writers have had n more appends
	// acknowledged.
	waitProgress := func(what string, n int64) {
		t.Helper()
		from := progress.Load()
		deadline := time.Now().Add(60 * time.Second)
		for progress.Load() < from+n {
			if time.Now().After(deadline) {
				t.Fatalf("%s: writers made no progress for 60 s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitProgress("start", 50)
	round := func(what string, pick func() int) {
		i := pick()
		if i < 0 {
			t.Fatalf("%s: no node to kill", what)
		}
		t.Logf("kill -9 %s (%s)", c.Nodes[i].Name, what)
		c.Kill(i)
		time.Sleep(1500 * time.Millisecond)
		c.Restart(i)
		c.WaitReady(60 * time.Second)
		waitProgress(what, 100)
	}
	logLeader := func() int { return c.StreamLeader("rewind") }
	round("the log's leader", logLeader)
	round("the meta leader", c.MetaLeader)
	round("the log's leader again", logLeader)
	round("a follower", func() int {
		l := logLeader()
		for i := range c.Nodes {
			if i != l && i != c.MetaLeader() {
				return i
			}
		}
		return (l + 1) % len(c.Nodes)
	})
	close(stop)
	wg.Wait()
	t.Logf("%d appends acknowledged, %d reads (%d ended with ErrUnavailable)", len(acks), reads.Load(), readErrs.Load())

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i, p := range producers {
		if err := p.Close(ctx); err != nil {
			t.Errorf("producer %d: close: %v", i, err)
		}
	}
	// Every event ever stored, once, at the version acknowledged.
	want := make(map[string]map[uint64]uuid.UUID)
	for _, a := range acks {
		if want[a.stream] == nil {
			want[a.stream] = make(map[uint64]uuid.UUID)
		}
		want[a.stream][a.version] = a.id
	}
	seen := make(map[uuid.UUID]string)
	for si, s := range stores {
		for stream, versions := range want {
			got := collect(t, s.Read(ctx, stream))
			for i, e := range got {
				if e.Version != uint64(i+1) {
					t.Fatalf("store %d: %s: event %d has version %d", si, stream, i, e.Version)
				}
				if where, ok := seen[e.ID]; ok && where != stream+fmt.Sprint(e.Version) {
					t.Errorf("event %v stored twice: %s and %s@%d", e.ID, where, stream, e.Version)
				}
				seen[e.ID] = stream + fmt.Sprint(e.Version)
			}
			for v, id := range versions {
				if v > uint64(len(got)) || got[v-1].ID != id {
					t.Errorf("store %d: %s: acknowledged event %v at version %d is not there", si, stream, id, v)
				}
			}
		}
		for i := range stores {
			stream := fmt.Sprintf("p/%d", i)
			got := collect(t, s.Read(ctx, stream))
			if uint64(len(got)) != produced[i].Load() {
				t.Errorf("store %d: %s holds %d events, the producer appended %d", si, stream, len(got), produced[i].Load())
			}
			for n, e := range got {
				var d struct{ N int }
				if err := json.Unmarshal(e.Data, &d); err != nil || d.N != n {
					t.Fatalf("store %d: %s: event %d is %s", si, stream, n, e.Data)
				}
			}
		}
	}
	// The indexes agree with the log itself. The log is read through a
	// consumer on any of its replicas, up to the leader's last sequence
	// when the read began (a replica that lags is waited out, see
	// consumeFrom); a difference names the events' offsets, and whether
	// the log's leader holds their commits, which tells a read that missed
	// them from a log that lost them.
	inLog := make(map[string]int)
	logOffsets := make(map[eventstore.Offset]string)
	for e, err := range eventstore.ReadLog(ctx, stores[0]) {
		if err != nil {
			t.Fatal(err)
		}
		inLog[e.Stream]++
		logOffsets[e.Offset] = e.Stream
	}
	for si, s := range stores {
		inIndex := make(map[string]int)
		var onlyIndex []eventstore.Offset
		indexOffsets := make(map[eventstore.Offset]bool)
		for e, err := range s.ReadAll(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			inIndex[e.Stream]++
			indexOffsets[e.Offset] = true
			if _, ok := logOffsets[e.Offset]; !ok {
				onlyIndex = append(onlyIndex, e.Offset)
			}
		}
		for stream, n := range inLog {
			if inIndex[stream] != n {
				t.Errorf("store %d: the index holds %d events of %s, the log %d", si, inIndex[stream], stream, n)
			}
		}
		for i, o := range onlyIndex {
			if i == 10 {
				t.Errorf("store %d: … %d more events in the index only", si, len(onlyIndex)-i)
				break
			}
			t.Errorf("store %d: the index holds an event at %s that the log read did not deliver; the log's leader: %s",
				si, o, leaderHolds(ctx, c, o))
		}
		var onlyLog int
		for o := range logOffsets {
			if !indexOffsets[o] {
				onlyLog++
			}
		}
		if onlyLog > 0 {
			t.Errorf("store %d: the log read delivered %d events the index does not hold", si, onlyLog)
		}
		if len(inIndex) != len(inLog) {
			t.Errorf("store %d: the index holds %d streams, the log %d", si, len(inIndex), len(inLog))
		}
	}
	for _, name := range []string{"rewind", "KV_rewind-meta"} {
		if got := replicasOf(t, js, name); got != 3 {
			t.Errorf("%s has %d replicas after the failovers, want 3", name, got)
		}
	}
}

// leaderHolds says what the log's leader holds at the commit of offset o:
// asked with the stream's message-get API, which only the leader answers
// (a direct get may come from a replica that lags).
func leaderHolds(ctx context.Context, c *natscluster.Cluster, o eventstore.Offset) string {
	seq, err := strconv.ParseUint(strings.SplitN(string(o), "_", 2)[0], 10, 64)
	if err != nil {
		return fmt.Sprintf("offset %q: %v", o, err)
	}
	nc, err := nats.Connect(c.URLs())
	if err != nil {
		return err.Error()
	}
	defer nc.Close()
	req, _ := json.Marshal(map[string]uint64{"seq": seq})
	for {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		m, err := nc.RequestWithContext(rctx, "$JS.API.STREAM.MSG.GET.rewind", req)
		cancel()
		if err == nil {
			var resp struct {
				Error   *jetstream.APIError `json:"error"`
				Message *struct {
					Subject string `json:"subject"`
				} `json:"message"`
			}
			if err := json.Unmarshal(m.Data, &resp); err != nil {
				return err.Error()
			}
			if resp.Error != nil {
				return fmt.Sprintf("sequence %d: %v", seq, resp.Error)
			}
			return fmt.Sprintf("sequence %d is on %s", seq, resp.Message.Subject)
		}
		if ctx.Err() != nil {
			return fmt.Sprintf("sequence %d: %v", seq, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// logConsumers returns how many consumers the log has, asking until the
// cluster answers.
func logConsumers(t *testing.T, js jetstream.JetStream) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := js.Stream(ctx, "rewind")
		if err == nil {
			var info *jetstream.StreamInfo
			info, err = st.Info(ctx)
			cancel()
			if err == nil {
				return info.State.Consumers
			}
		} else {
			cancel()
		}
		if time.Now().After(deadline) {
			t.Fatalf("log info: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestClusterReadyWithoutQuorum: with two of three nodes dead the log has
// no leader and stores nothing, though the node left answers the log's
// info from its own replica once the log has been leaderless for a few
// seconds. Ready stays not ready (ErrUnavailable) for as long as that
// lasts, rather than ready again after those seconds, and is ready once a
// majority is back.
func TestClusterReadyWithoutQuorum(t *testing.T) {
	c := natscluster.Start(t, 3)
	s := connectCluster(t, c, eventstore.WithReplicas(3))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := s.Append(ctx, "quorum/a", evs(1, 0)); err != nil {
		t.Fatalf("append: %v", err)
	}
	ready := func() error {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return s.Ready(rctx, 1000)
	}
	if err := ready(); err != nil {
		t.Fatalf("ready with every node up: %v", err)
	}
	left := c.StreamLeader("rewind")
	if left < 0 {
		t.Fatal("the log has no leader")
	}
	var dead []int
	for i := range c.Nodes {
		if i != left {
			c.Kill(i)
			dead = append(dead, i)
		}
	}
	// The leader left alone steps down once it misses its peers; then,
	// past lostQuorumInterval, its replica answers the log's info by
	// itself.
	for end := time.Now().Add(20 * time.Second); ready() == nil; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("still ready 20 s after two of three nodes died")
		}
	}
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		if err := ready(); err == nil {
			t.Fatal("ready with two of three nodes dead: the log has no leader and stores nothing")
		} else if !errors.Is(err, eventstore.ErrUnavailable) {
			t.Fatalf("not ready without quorum: %v, want ErrUnavailable", err)
		}
	}
	for _, i := range dead {
		c.Restart(i)
	}
	var err error
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		if err = ready(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("not ready after the nodes came back: %v", err)
	}
	if _, err := s.Append(ctx, "quorum/a", evs(1, 1)); err != nil {
		t.Fatalf("append after the nodes came back: %v", err)
	}
}

// TestClusterNoConsumerWhileAlone: a store alone on a cluster log, writing,
// leaves the log without a consumer once its tailer has seen for a while
// that only it writes; a second store's appends then reach it, and a
// WaitStream on it wakes for them.
func TestClusterNoConsumerWhileAlone(t *testing.T) {
	c := natscluster.Start(t, 3)
	js := rawJS(t, c)
	a := connectCluster(t, c, eventstore.WithReplicas(3))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		if _, err := a.Append(ctx, "alone/a", evs(1, i)); err != nil {
			t.Fatalf("append: %v", err)
		}
		if logConsumers(t, js) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log still has %d consumers after 30 s of appends by its only writer", logConsumers(t, js))
		}
		time.Sleep(50 * time.Millisecond)
	}

	b := connectCluster(t, c)
	h, err := a.Head(ctx, "alone/b")
	if err != nil {
		t.Fatal(err)
	}
	woke := make(chan eventstore.Head, 1)
	go func() {
		h, err := a.WaitStream(ctx, "alone/b", h.Offset)
		if err != nil {
			t.Error(err)
		}
		woke <- h
	}()
	time.Sleep(50 * time.Millisecond)
	res, err := b.Append(ctx, "alone/b", evs(1, 0))
	if err != nil {
		t.Fatalf("b's append: %v", err)
	}
	select {
	case h := <-woke:
		if h.Offset != res.Offset() {
			t.Fatalf("a's WaitStream woke at %+v, want %s", h, res.Offset())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("another store's append did not wake a WaitStream of the quiet store")
	}
	want := evs(1, 0)
	got := collect(t, a.Read(ctx, "alone/b"))
	if len(got) != 1 || got[0].Type != want[0].Type || string(got[0].Data) != string(want[0].Data) || got[0].Offset != res.Offsets[0] {
		t.Fatalf("a reads b's stream: %s", describe(got))
	}
}

// connsOn waits up to wait until the client connections named name are
// n, all on node at, for two seconds on end (a connection just closed may
// linger in a server's /connz for a moment, and a move of the appends
// that is given up dials its connection, then closes it, within a
// second), and fails the test with what, and where they are, if they are
// not.
func connsOn(t *testing.T, c *natscluster.Cluster, name string, n, at int, wait time.Duration, what string) {
	t.Helper()
	var since time.Time
	for deadline := time.Now().Add(wait); ; time.Sleep(50 * time.Millisecond) {
		nodes := c.ClientNodes(name)
		if len(nodes) != n || slices.ContainsFunc(nodes, func(i int) bool { return i != at }) {
			since = time.Time{}
		} else if since.IsZero() {
			since = time.Now()
		} else if time.Since(since) >= 2*time.Second {
			return
		}
		if time.Now().After(deadline) {
			names := make([]string, len(nodes))
			for i, nd := range nodes {
				names[i] = c.Nodes[nd].Name
			}
			t.Fatalf("%s are on %v, want %d on the log's leader %s", what, names, n, c.Nodes[at].Name)
		}
	}
}

// TestClusterAppendsAtLeader: a store on a cluster publishes its appends
// to the server that leads the log, found through the URLs the cluster
// advertises even when the store was given only another server's.
func TestClusterAppendsAtLeader(t *testing.T) {
	c := natscluster.Start(t, 3)
	a := connectCluster(t, c, eventstore.WithReplicas(3))
	leader := c.StreamLeader("rewind")
	if leader < 0 {
		t.Fatal("the log has no leader")
	}
	follower := (leader + 1) % 3
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := eventstore.Connect(ctx, c.Nodes[follower].URL(), eventstore.WithIndexDir(t.TempDir()))
	if err != nil {
		t.Fatalf("connect through %s: %v", c.Nodes[follower].Name, err)
	}
	defer b.Close()
	connsOn(t, c, "rewind", 2, leader, 20*time.Second, "two stores' append connections") // a move that fails under load is tried again after 1, 2, 4 s
	if got := c.ClientNodes("rewind-reader"); len(got) != 2 {
		t.Fatalf("%d reader connections, want 2", len(got))
	}
	res, err := b.Append(ctx, "home/x", evs(3, 0))
	if err != nil {
		t.Fatalf("append through the moved connection: %v", err)
	}
	if _, err := a.Append(ctx, "home/x", evs(1, 3), eventstore.ExpectVersion(res.Version)); err != nil {
		t.Fatalf("append after it: %v", err)
	}
	sameEvents(t, "home/x read by b", collect(t, b.Read(ctx, "home/x")), collect(t, a.Read(ctx, "home/x")))
	if n := len(collect(t, b.Read(ctx, "home/x"))); n != 4 {
		t.Fatalf("b reads %d events, want 4", n)
	}
}

// TestClusterAppendsFollowLeader: when the log's leader moves (a
// step-down, then a kill -9 of the new leader), the store moves its
// appends to the new leader's server, while writers append without a
// pause; every acknowledged append is stored once, at its version.
func TestClusterAppendsFollowLeader(t *testing.T) {
	c := natscluster.Start(t, 3)
	s := connectCluster(t, c, eventstore.WithReplicas(3))
	nc, err := nats.Connect(c.URLs())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	const writers = 4
	var acked, unsure [writers]atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	stopWriters := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopWriters() // before the store closes, when the test fails early
	for w := range writers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := s.Append(ctx, fmt.Sprintf("follow/w%d", w), evs(1, 0))
				switch {
				case err == nil:
					acked[w].Add(1)
				case errors.Is(err, eventstore.ErrUnavailable):
					unsure[w].Add(1) // stored or not: counted below
				default:
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	newLeader := func(not int) int {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			if l := c.StreamLeader("rewind"); l >= 0 && l != not {
				return l
			}
			if time.Now().After(deadline) {
				t.Fatal("no new leader for the log")
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	time.Sleep(300 * time.Millisecond)
	first := c.StreamLeader("rewind")
	if _, err := nc.Request("$JS.API.STREAM.LEADER.STEPDOWN.rewind", nil, 5*time.Second); err != nil {
		t.Fatalf("step-down: %v", err)
	}
	second := newLeader(first)
	// A move waits 10 s after a request went unanswered, and one that
	// fails is tried again after 1, 2, 4... s: under -race on a loaded
	// machine, a few of those (CI once took more than 45 s).
	connsOn(t, c, "rewind-appends", 1, second, 90*time.Second, "after a step-down, the store's appends")
	// A writer may be in a retry's pause from the election: give it time.
	before := acked[0].Load()
	for deadline := time.Now().Add(20 * time.Second); acked[0].Load() == before; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no append acknowledged in the 20 s after the move")
		}
	}

	c.Kill(second)
	third := newLeader(second)
	connsOn(t, c, "rewind-appends", 1, third, 90*time.Second, "after a kill -9 of the leader, the store's appends")
	c.Restart(second)
	time.Sleep(300 * time.Millisecond)
	stopWriters()

	for w := range writers {
		got := collect(t, s.Read(ctx, fmt.Sprintf("follow/w%d", w)))
		for i, e := range got {
			if e.Version != uint64(i+1) {
				t.Fatalf("writer %d: event %d has version %d", w, i, e.Version)
			}
		}
		n, a, u := int64(len(got)), acked[w].Load(), unsure[w].Load()
		if n < a || n > a+u {
			t.Fatalf("writer %d: %d events stored, %d acknowledged and %d unsure", w, n, a, u)
		}
		t.Logf("writer %d: %d acknowledged, %d unsure, %d stored", w, a, u, n)
	}
}
