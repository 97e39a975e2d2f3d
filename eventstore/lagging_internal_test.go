package eventstore

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rewindhq/rewind/internal/natscluster"
)

// TestClusterLaggingReplicaDirectGets: on a replicated stream any replica
// answers a direct get, and one that lags answers "not found" for what the
// leader holds. Stand-ins for such a replica listen on the direct-get
// subjects on every node of a real three-node cluster and answer "not
// found" to every request, racing the replica that holds the message (the
// first answer is the one taken; clients may not join the server's own
// queue group). A log message
// read by sequence (the clock's floor and the index's newest-commit check
// at open) and a stream's metadata read through to the bucket (a stream
// made through another server) must still be found every time: a "not
// found" is asked again of the leader.
func TestClusterLaggingReplicaDirectGets(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node nats-server cluster (-short)")
	}
	c := natscluster.Start(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Connect(ctx, c.URLs(), WithReplicas(3), WithIndexDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 5 {
		if _, err := s.Append(ctx, fmt.Sprintf("lag/%d", i), []Event{{Type: "T", Data: []byte(`{"n":1}`)}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.SetMetadata(ctx, "lag/0", map[string]string{"owner": "ops"}, 0); err != nil {
		t.Fatal(err)
	}
	mm, err := s.metaMirror(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last, err := s.logLastSeq(ctx)
	if err != nil || last < 5 {
		t.Fatalf("log's last sequence %d, %v", last, err)
	}

	var answered atomic.Int64
	for i := range c.Nodes {
		nc, err := nats.Connect(c.Nodes[i].URL())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		notFound := func(m *nats.Msg) {
			answered.Add(1)
			r := nats.NewMsg(m.Reply)
			r.Header.Set("Status", "404")
			r.Header.Set("Description", "Message Not Found")
			_ = m.RespondMsg(r)
		}
		for _, subj := range []string{"$JS.API.DIRECT.GET." + s.jsName, "$JS.API.DIRECT.GET.KV_" + s.jsName + "-meta.>"} {
			if _, err := nc.Subscribe(subj, notFound); err != nil {
				t.Fatal(err)
			}
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond) // the stand-ins' interest reaches every node

	for round := range 8 {
		for seq := uint64(1); seq <= last; seq++ {
			m, err := s.logMsg(ctx, seq)
			if err != nil {
				t.Fatalf("round %d, log sequence %d: %v", round, seq, err)
			}
			if m == nil || m.seq != seq {
				t.Fatalf("round %d: log sequence %d not found (a lagging replica's answer taken at its word)", round, seq)
			}
		}
		md, err := s.metadataFromBucket(ctx, mm, "lag/0")
		if err != nil {
			t.Fatalf("round %d, metadata: %v", round, err)
		}
		if md.Values["owner"] != "ops" {
			t.Fatalf("round %d: metadata of lag/0 read through to the bucket: %+v (a lagging replica's answer taken at its word)", round, md)
		}
	}
	if answered.Load() == 0 {
		t.Fatal("the stand-ins for a lagging replica answered no request: the test tested nothing")
	}
	t.Logf("the stand-ins answered %d direct gets", answered.Load())
}
