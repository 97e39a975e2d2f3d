package aggregatehttp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/aggregate/aggregatehttp"
	"github.com/rewindhq/rewind/eventstore"
)

// An account aggregate: its state, events and deciders are plain Go.

type Account struct {
	Owner   string `json:"owner,omitempty"`
	Balance int    `json:"balance"`
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

// The commands, as their JSON bodies decode.

type OpenAccount struct {
	Owner string `json:"owner"`
}

type Deposit struct {
	Amount int `json:"amount"`
}

func openAccount(c OpenAccount) func(Account) ([]AccountEvent, error) {
	return func(a Account) ([]AccountEvent, error) {
		if a.Owner != "" {
			return nil, errors.New("the account is open already")
		}
		return []AccountEvent{Opened{Owner: c.Owner}}, nil
	}
}

func deposit(c Deposit) func(Account) ([]AccountEvent, error) {
	return func(a Account) ([]AccountEvent, error) {
		if c.Amount <= 0 {
			return nil, errors.New("a deposit must be positive")
		}
		return []AccountEvent{Deposited{Amount: c.Amount}}, nil
	}
}

// serveAccounts serves the account aggregate on a store in a temporary
// directory, with a clock stopped at 09:00 on 2 March 2026.
func serveAccounts() (url string, done func()) {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "rewind-example-*")
	at := time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)
	store, err := eventstore.Open(ctx, dir, eventstore.WithClock(func() time.Time { return at }))
	if err != nil {
		log.Fatal(err)
	}

	accounts := aggregate.Define[Account, AccountEvent]("accounts", Account{})
	aggregate.On(accounts, "Opened", func(a Account, e Opened) Account { a.Owner = e.Owner; return a })
	aggregate.On(accounts, "Deposited", func(a Account, e Deposited) Account { a.Balance += e.Amount; return a })
	repo, err := aggregate.NewRepository(store, accounts)
	if err != nil {
		log.Fatal(err)
	}

	reg := aggregatehttp.NewRegistry(store)
	err = aggregatehttp.Register(reg, repo,
		aggregatehttp.NewCommand("OpenAccount", openAccount),
		aggregatehttp.NewCommand("Deposit", deposit),
	)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", reg.Handler())
	srv := httptest.NewServer(mux)
	return srv.URL, func() {
		srv.Close()
		repo.Close()
		store.Close()
		os.RemoveAll(dir)
	}
}

// post sends a command with an idempotency key and prints the answer.
func post(url, body, key string) {
	req, _ := http.NewRequest("POST", url+"/v1/commands/accounts/42", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	// Each event's id and producer time differ from run to run.
	b = idAndTime.ReplaceAll(b, []byte(`"id":"…","time":"…",`))
	fmt.Print(resp.StatusCode, " ", string(b))
}

var idAndTime = regexp.MustCompile(`"id":"[^"]*","time":"[^"]*",`)

// Serve an aggregate type's commands and time travel over HTTP: register
// its repository with its commands (see serveAccounts) and mount the
// registry's handler; then every write goes through a decider.
func ExampleRegister() {
	url, done := serveAccounts()
	defer done()
	post(url, `{"type": "OpenAccount", "owner": "ada"}`, "open-42")
	post(url, `{"type": "Deposit", "amount": 100}`, "deposit-1")
	post(url, `{"type": "Deposit", "amount": 100}`, "deposit-1") // a retry: the same answer, nothing stored
	post(url, `{"type": "Deposit", "amount": -5}`, "deposit-2")  // refused by the decider

	resp, err := http.Get(url + "/v1/state/accounts/42?version=1")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Print(resp.StatusCode, " ", string(b))
	// Output:
	// 200 {"version":1,"offset":"00000000000000000001_999999","duplicate":false,"events":[{"version":1,"offset":"00000000000000000001_999999","type":"Opened","storedAt":"2026-03-02T09:00:00Z","id":"…","time":"…","commandId":"open-42","metadata":{},"data":{"owner":"ada"},"changes":[{"path":"owner","from":null,"to":"ada"}]}]}
	// 200 {"version":2,"offset":"00000000000000000002_999999","duplicate":false,"events":[{"version":2,"offset":"00000000000000000002_999999","type":"Deposited","storedAt":"2026-03-02T09:00:00Z","id":"…","time":"…","commandId":"deposit-1","metadata":{},"data":{"amount":100},"changes":[{"path":"balance","from":0,"to":100}]}]}
	// 200 {"version":2,"offset":"00000000000000000002_999999","duplicate":true,"events":[{"version":2,"offset":"00000000000000000002_999999","type":"Deposited","storedAt":"2026-03-02T09:00:00Z","id":"…","time":"…","commandId":"deposit-1","metadata":{},"data":{"amount":100},"changes":[{"path":"balance","from":0,"to":100}]}]}
	// 409 {"error":"a deposit must be positive"}
	// 200 {"category":"accounts","id":"42","stream":"accounts/42/events","version":1,"at":"2026-03-02T09:00:00Z","state":{"owner":"ada","balance":0}}
}

// A command's JSON body decodes into its Go type, strictly: a field the
// type does not have, a value of the wrong type, or a missing field its
// schema requires is refused with a reason rather than ignored.
func ExampleNewCommand() {
	url, done := serveAccounts()
	defer done()
	post(url, `{"type": "OpenAccount", "owner": "ada"}`, "")
	post(url, `{"type": "Deposit", "amount": "a lot"}`, "")
	post(url, `{"type": "Deposit", "amuont": 100}`, "")
	post(url, `{"type": "Deposit"}`, "")
	post(url, `{"type": "Withdraw", "amount": 100}`, "")
	// Output:
	// 200 {"version":1,"offset":"00000000000000000001_999999","duplicate":false,"events":[{"version":1,"offset":"00000000000000000001_999999","type":"Opened","storedAt":"2026-03-02T09:00:00Z","id":"…","time":"…","commandId":"","metadata":{},"data":{"owner":"ada"},"changes":[{"path":"owner","from":null,"to":"ada"}]}]}
	// 400 {"error":"field \"amount\": a JSON string where an integer was expected"}
	// 400 {"error":"unknown field \"amuont\""}
	// 400 {"error":"field \"amount\" is required (GET /v1/aggregates gives each command's schema)"}
	// 404 {"error":"accounts has no command \"Withdraw\" (it has [Deposit OpenAccount])"}
}
