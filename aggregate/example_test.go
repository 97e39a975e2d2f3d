package aggregate_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/eventstore"
)

// An account: its state, its events and its deciders.

type Account struct {
	Open    bool `json:"open"`
	Balance int  `json:"balance"`
}

type AccountEvent interface{ isAccountEvent() }

type Opened struct {
	Owner string `json:"owner"`
}

type Deposited struct {
	Amount int `json:"amount"`
}

func (Opened) isAccountEvent()    {}
func (Deposited) isAccountEvent() {}

var ErrClosedAccount = errors.New("account not open")

func defineAccounts() *aggregate.Definition[Account, AccountEvent] {
	accounts := aggregate.Define[Account, AccountEvent]("accounts", Account{})
	aggregate.On(accounts, "Opened", func(a Account, e Opened) Account {
		a.Open = true
		return a
	})
	aggregate.On(accounts, "Deposited", func(a Account, e Deposited) Account {
		a.Balance += e.Amount
		return a
	})
	return accounts
}

func open(owner string) func(Account) ([]AccountEvent, error) {
	return func(a Account) ([]AccountEvent, error) {
		if a.Open {
			return nil, nil // opened already: nothing to do
		}
		return []AccountEvent{Opened{Owner: owner}}, nil
	}
}

func deposit(amount int) func(Account) ([]AccountEvent, error) {
	return func(a Account) ([]AccountEvent, error) {
		if !a.Open {
			return nil, ErrClosedAccount
		}
		return []AccountEvent{Deposited{Amount: amount}}, nil
	}
}

// Define an aggregate type and handle commands on one instance.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "rewind-example-*")
	defer os.RemoveAll(dir)
	store, err := eventstore.Open(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	accounts, err := aggregate.NewRepository(store, defineAccounts())
	if err != nil {
		log.Fatal(err)
	}
	defer accounts.Close()

	if _, err := accounts.Handle(ctx, "acc-1", deposit(10)); errors.Is(err, ErrClosedAccount) {
		fmt.Println("refused:", err)
	}
	if _, err := accounts.Handle(ctx, "acc-1", open("ada")); err != nil {
		log.Fatal(err)
	}
	res, err := accounts.Handle(ctx, "acc-1", deposit(25))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("version %d events %+v\n", res.Version, res.Events)
	a, err := accounts.Load(ctx, "acc-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v at version %d\n", a.State, a.Version)
	// Output:
	// refused: account not open
	// version 2 events [{Amount:25}]
	// {Open:true Balance:25} at version 2
}

// A command with an id is handled once, however often it arrives: the
// retry gets the original result and appends nothing.
func ExampleRepository_Handle_commandID() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "rewind-example-*")
	defer os.RemoveAll(dir)
	store, err := eventstore.Open(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	accounts, err := aggregate.NewRepository(store, defineAccounts())
	if err != nil {
		log.Fatal(err)
	}
	defer accounts.Close()

	if _, err := accounts.Handle(ctx, "acc-2", open("bob")); err != nil {
		log.Fatal(err)
	}
	for range 3 { // the client retries: say its connection dropped
		res, err := accounts.Handle(ctx, "acc-2", deposit(100), aggregate.CommandID("payment-7f3a"))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("version", res.Version, "duplicate", res.Duplicate)
	}
	a, _ := accounts.Load(ctx, "acc-2")
	fmt.Println("balance", a.State.Balance)
	// Output:
	// version 2 duplicate false
	// version 2 duplicate true
	// version 2 duplicate true
	// balance 100
}

// A refused command keeps its refusal: its retry is refused again, even
// after the state changed, and still matches the error the definition
// registered. A different command under a used id is an error.
func ExampleDefinition_RegisterError() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "rewind-example-*")
	defer os.RemoveAll(dir)
	store, err := eventstore.Open(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	def := defineAccounts()
	def.RegisterError("closed-account", ErrClosedAccount)
	accounts, err := aggregate.NewRepository(store, def)
	if err != nil {
		log.Fatal(err)
	}
	defer accounts.Close()

	body := []byte(`{"type":"Deposit","amount":10}`)
	handle := func() error {
		_, err := accounts.Handle(ctx, "acc-3", deposit(10), aggregate.CommandID("dep-1"), aggregate.Fingerprint(body))
		return err
	}
	fmt.Println("first:", handle())
	if _, err := accounts.Handle(ctx, "acc-3", open("cy")); err != nil {
		log.Fatal(err)
	}
	err = handle() // the account is open now: still the original refusal
	fmt.Println("retry:", err, errors.Is(err, ErrClosedAccount), errors.Is(err, aggregate.ErrRefused))
	_, err = accounts.Handle(ctx, "acc-3", deposit(99), aggregate.CommandID("dep-1"), aggregate.Fingerprint([]byte(`{"type":"Deposit","amount":99}`)))
	fmt.Println("reused:", errors.Is(err, aggregate.ErrCommandIDReused))
	// Output:
	// first: account not open
	// retry: account not open true true
	// reused: true
}

// The state as it was at a time: every event stored at or before it.
func ExampleRepository_LoadAt() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "rewind-example-*")
	defer os.RemoveAll(dir)
	// A clock the example moves, to store a history over two days.
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	store, err := eventstore.Open(ctx, dir, eventstore.WithClock(func() time.Time { return now }))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	accounts, err := aggregate.NewRepository(store, defineAccounts())
	if err != nil {
		log.Fatal(err)
	}
	defer accounts.Close()

	for _, amount := range []int{0, 40, 2} {
		cmd := deposit(amount)
		if amount == 0 {
			cmd = open("cy")
		}
		if _, err := accounts.Handle(ctx, "acc-3", cmd); err != nil {
			log.Fatal(err)
		}
		now = now.Add(24 * time.Hour)
	}
	yesterday3pm := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	a, err := accounts.LoadAt(ctx, "acc-3", yesterday3pm)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("on %s: balance %d (version %d, last changed %s)\n",
		yesterday3pm.Format(time.DateTime), a.State.Balance, a.Version, a.At.Format(time.DateTime))
	// Output:
	// on 2026-03-02 15:00:00: balance 40 (version 2, last changed 2026-03-02 09:00:00)
}
