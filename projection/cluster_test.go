package projection_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rewindhq/rewind/checkpoint"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/natscluster"
	"github.com/rewindhq/rewind/projection"
)

// TestClusterOutageResumes runs a projection on a real three-node cluster
// (nats-server processes, internal/natscluster) and kills two of its
// three nodes, that of the projection's consumer among them, with SIGKILL
// for longer than a call waits (10 s): its subscription's consumer
// cannot be made again and the subscription ends with an error matching
// eventstore.ErrUnavailable. The projection does not fail for good: once
// the nodes are back it goes on from its saved position with the same
// LiveFrom, applies every event, and the events appended after the outage
// come live (Replay false). Meanwhile Status answers within about a
// second, without the lag, rather than wait ten seconds for where the
// log ends.
func TestClusterOutageResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node nats-server cluster (-short)")
	}
	c := natscluster.Start(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	store, err := eventstore.Connect(ctx, c.URLs(), eventstore.WithReplicas(3), eventstore.WithIndexDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	append := func(from, to int) {
		for i := from; i < to; i++ {
			actx, cancel := context.WithTimeout(ctx, 30*time.Second)
			_, err := store.Append(actx, fmt.Sprintf("outage/%d", i%3), []eventstore.Event{{Type: "T", Data: fmt.Appendf(nil, `{"i":%d}`, i)}})
			cancel()
			if err != nil {
				t.Fatalf("append %d: %v", i, err)
			}
		}
	}
	append(0, 30)

	var mu sync.Mutex
	seen := map[eventstore.Offset]bool{}
	live := 0
	runner := projection.NewRunner(store, nil)
	defer runner.Close()
	// A projection runs for the life of its process: its context has no
	// deadline, so each call of the store bounds its own waits (10 s).
	runCtx, runCancel := context.WithCancel(context.Background())
	defer runCancel()
	if err := runner.Start(runCtx, projection.Projection{
		Name:   "outage",
		Source: projection.Category("outage"),
		Sink: projection.AtLeastOnce("outage", projection.HandlerFunc(func(ctx context.Context, b projection.Batch) error {
			mu.Lock()
			defer mu.Unlock()
			for _, e := range b.Events {
				if !seen[e.Offset] && !b.Replay {
					live++
				}
				seen[e.Offset] = true
			}
			return nil
		}), &checkpoint.Memory{}),
	}); err != nil {
		t.Fatal(err)
	}
	if err := runner.WaitCaughtUp(ctx, "outage"); err != nil {
		t.Fatal(err)
	}
	before, _ := runner.Status("outage")

	// Two of three nodes die, among them the one holding the projection's
	// consumer of the log, and the store stays connected to the third:
	// the consumer's heartbeats stop, and it cannot be made again without
	// a meta leader.
	// The servers' monitoring lists a consumer a moment after it is made.
	hosts := consumerHosts(t, c)
	for end := time.Now().Add(15 * time.Second); len(hosts) == 0 && time.Now().Before(end); hosts = consumerHosts(t, c) {
		time.Sleep(200 * time.Millisecond)
	}
	if len(hosts) == 0 {
		t.Fatal("the projection has no consumer of the log")
	}
	keep := -1
	for i := range c.Nodes {
		if !hosts[c.Nodes[i].Name] {
			keep = i
		}
	}
	if keep < 0 {
		t.Fatalf("every node holds a consumer of the category (%v): the projection should have one", hosts)
	}
	for i := range c.Nodes {
		if i != keep {
			c.Kill(i)
		}
	}
	// Status does not wait for where the log ends, which the cluster
	// cannot say now: the lag is left out (a scrape asks every
	// projection's status).
	time.Sleep(4 * time.Second)
	t0 := time.Now()
	if st, ok := runner.Status("outage"); !ok || st.LagCommits != 0 {
		t.Errorf("status during the outage: %+v %v, want no lag", st, ok)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("Status took %v during the outage, want about a second", d.Round(time.Millisecond))
	}
	time.Sleep(16*time.Second - time.Since(t0) - 4*time.Second)
	for i := range c.Nodes {
		if i != keep {
			c.Restart(i)
		}
	}
	c.WaitReady(60 * time.Second)
	append(30, 60)
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	if err := runner.WaitCaughtUp(wctx, "outage"); err != nil {
		st, _ := runner.Status("outage")
		t.Fatalf("after the outage: %v (status %+v)", err, st)
	}
	st, _ := runner.Status("outage")
	if st.State != projection.StateLive || st.Err != nil {
		t.Errorf("status after the outage: %+v", st)
	}
	if st.LiveFrom != before.LiveFrom {
		t.Errorf("LiveFrom moved from %s to %s: events appended while live would come as replays", before.LiveFrom, st.LiveFrom)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 60 {
		t.Errorf("applied %d events, want 60", len(seen))
	}
	if live != 30 {
		t.Errorf("%d events came live, want the 30 appended after the projection started", live)
	}
}

// consumerHosts returns the names of the nodes that hold a consumer of the
// log's category outage (R1 consumers: each is led by the node it lives
// on).
func consumerHosts(t *testing.T, c *natscluster.Cluster) map[string]bool {
	t.Helper()
	hosts := map[string]bool{}
	for _, n := range c.Nodes {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/jsz?consumers=true&config=true", n.HTTPPort))
		if err != nil {
			t.Fatal(err)
		}
		var j struct {
			AccountDetails []struct {
				Streams []struct {
					Name      string `json:"name"`
					Consumers []struct {
						Config *struct {
							Filter  string   `json:"filter_subject"`
							Filters []string `json:"filter_subjects"`
						} `json:"config"`
						Cluster *struct {
							Leader string `json:"leader"`
						} `json:"cluster"`
					} `json:"consumer_detail"`
				} `json:"stream_detail"`
			} `json:"account_details"`
		}
		err = json.NewDecoder(resp.Body).Decode(&j)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range j.AccountDetails {
			for _, st := range a.Streams {
				for _, co := range st.Consumers {
					if st.Name == "rewind" && co.Cluster != nil && co.Cluster.Leader != "" && co.Config != nil &&
						(strings.Contains(co.Config.Filter, ".outage.") || strings.Contains(strings.Join(co.Config.Filters, " "), ".outage.")) {
						hosts[co.Cluster.Leader] = true
					}
				}
			}
		}
	}
	return hosts
}
