package aggregate_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
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

// fatalRecorder is a testing.TB whose Fatalf records the message and ends
// the goroutine, as testing's does, so a case's own failures can be read.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// failure runs check against a fatalRecorder and returns its message ("":
// the case passed).
func failure(check func(testing.TB)) string {
	f := &fatalRecorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		check(f)
	}()
	<-done
	return f.msg
}

// TestSpecMistakes: a case with no When, a decider that panics, and a
// ThenError given a nil error fail the case with a message saying so,
// rather than panic the test binary or pass whatever the decider does.
func TestSpecMistakes(t *testing.T) {
	d := defineOrders()
	for name, c := range map[string]struct {
		check func(testing.TB)
		want  string
	}{
		"no When": {func(t testing.TB) { aggregatetest.Given(d).Then(t) }, "no command"},
		"panic": {func(t testing.TB) {
			aggregatetest.Given(d).When(func(order) ([]orderEvent, error) { panic("out of range") }).Then(t)
		}, "decider panicked: out of range"},
		"nil error": {func(t testing.TB) { aggregatetest.Given(d).When(place("ada")).ThenError(t, nil) }, "ThenError needs"},
	} {
		if got := failure(c.check); !strings.Contains(got, c.want) {
			t.Errorf("%s: the case failed with %q, want it to say %q", name, got, c.want)
		}
	}
}
