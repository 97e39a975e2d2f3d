package aggregatehttp_test

import (
	"context"
	"errors"
	"testing"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/aggregate/aggregatehttp"
	"github.com/rewindhq/rewind/aggregate/aggregatehttp/internal/testcart"
	"github.com/rewindhq/rewind/eventstore"
)

// TestRegisterErrors: registrations that cannot work are refused with
// ErrRegister; two registries are independent.
func TestRegisterErrors(t *testing.T) {
	store, err := eventstore.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	repo, err := aggregate.NewRepository(store, testcart.Definition())
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	open := aggregatehttp.NewCommand("Open", decide[testcart.Open])
	if got := open.Name(); got != "Open" {
		t.Errorf("Name() = %q", got)
	}
	reg := aggregatehttp.NewRegistry(store)
	for name, err := range map[string]error{
		"nil repository":  aggregatehttp.Register[testcart.Cart, testcart.Event](reg, nil),
		"nil registry":    aggregatehttp.Register(nil, repo),
		"no name":         aggregatehttp.Register(reg, repo, aggregatehttp.Command[testcart.Cart, testcart.Event]{}),
		"a command twice": aggregatehttp.Register(reg, repo, open, open),
		"empty name":      aggregatehttp.Register(reg, repo, aggregatehttp.NewCommand("", decide[testcart.Open])),
	} {
		if !errors.Is(err, aggregatehttp.ErrRegister) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := aggregatehttp.Register(reg, repo, open); err != nil {
		t.Fatal(err)
	}
	if err := aggregatehttp.Register(reg, repo, open); !errors.Is(err, aggregatehttp.ErrRegister) {
		t.Errorf("a category twice: %v", err)
	}
	if err := aggregatehttp.Register(aggregatehttp.NewRegistry(store), repo, open); err != nil {
		t.Errorf("another registry: %v", err)
	}
}
