package aggregate_test

import (
	"context"
	"testing"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/aggregate/aggregatetest"
)

// TestDeciders: the order's rules, given/when/then, with no store.
func TestDeciders(t *testing.T) {
	d := defineOrders()
	aggregatetest.Given(d).When(place("ada")).Then(t, orderPlaced{Customer: "ada"})
	aggregatetest.Given(d, orderPlaced{Customer: "ada"}).When(place("bob")).ThenError(t, errPlaced)
	aggregatetest.Given(d).When(addItem("pen", 1, 100)).ThenError(t, errNotPlaced)
	aggregatetest.Given(d, orderPlaced{}).When(addItem("pen", 0, 100)).ThenError(t, errBadQuantity)
	aggregatetest.Given(d, orderPlaced{}, itemAdded{SKU: "pen", Qty: 2, Price: 150}).
		When(pay).Then(t, orderPaid{Amount: 300})
	aggregatetest.Given(d, orderPlaced{}, orderPaid{}).When(pay).Then(t)
	aggregatetest.Given(d, orderPlaced{}).When(addItem("pen", 2, 150)).
		ThenState(t, order{Status: "placed", Items: map[string]int{"pen": 2}, Total: 300})
}

// TestDecidersOnStore: the same cases through a repository on a real
// store.
func TestDecidersOnStore(t *testing.T) {
	s := openStore(t)
	repo := newRepo(t, s, defineOrders())
	aggregatetest.GivenStore(s, repo, "g1").When(place("ada")).Then(t, orderPlaced{Customer: "ada"})
	aggregatetest.GivenStore(s, repo, "g2", orderPlaced{}).When(place("bob")).ThenError(t, errPlaced)
	aggregatetest.GivenStore(s, repo, "g3", orderPlaced{}, itemAdded{SKU: "pen", Qty: 2, Price: 150}).
		When(pay).Then(t, orderPaid{Amount: 300})
	aggregatetest.GivenStore(s, repo, "g4", orderPlaced{}, orderPaid{}).When(pay).Then(t)
	res := aggregatetest.GivenStore(s, repo, "g5", orderPlaced{}).
		When(addItem("pen", 1, 10), aggregate.CommandID("add-pen")).Then(t, itemAdded{SKU: "pen", Qty: 1, Price: 10})
	if res.Version != 2 {
		t.Fatalf("version %d after the command, want 2", res.Version)
	}
	l, err := repo.Load(context.Background(), "g5")
	if err != nil || l.State.Total != 10 {
		t.Fatalf("load: %+v, %v", l, err)
	}
}
