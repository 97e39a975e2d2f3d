package natscluster

import (
	"slices"
	"testing"

	"github.com/nats-io/nats.go"
)

// TestClientNodes: a connection made to one node's URL is found on that
// node, and only there, by its name; a name nobody uses is found nowhere.
func TestClientNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node nats-server cluster (-short)")
	}
	c := Start(t, 3)
	nc, err := nats.Connect(c.Nodes[1].URL(), nats.Name("natscluster-probe"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if got := c.ClientNodes("natscluster-probe"); !slices.Equal(got, []int{1}) {
		t.Fatalf("ClientNodes = %v, want [1]", got)
	}
	if got := c.ClientNodes("nobody"); len(got) != 0 {
		t.Fatalf("ClientNodes of an unused name = %v, want none", got)
	}
}
