package access_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/rewindhq/rewind/eventstore/access"
)

// A server whose handlers ask one Authorizer: static tokens, from a file
// holding their hashes. Here the file is made in memory; "rewind token
// --scope read:orders" prints a token and its line.
func Example() {
	token, line, err := access.NewToken("read:orders")
	if err != nil {
		panic(err)
	}
	tokens, err := access.ParseTokens(strings.NewReader(line + "\n"))
	if err != nil {
		panic(err)
	}
	// A handler of its own asks the authorizer at its entry, as
	// durablestreams, aggregatehttp and projectionhttp do when given
	// WithAuthorizer(tokens).
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := access.Op{Action: access.Read, Resource: strings.TrimPrefix(r.URL.Path, "/")}
		if err := tokens.Authorize(r, op); err != nil {
			code, reason := access.Refuse(w, err)
			http.Error(w, reason, code)
			return
		}
		fmt.Fprintln(w, "the events of", op.Resource)
	})
	srv := access.NewServer(h)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go access.Serve(srv, ln)
	defer srv.Close()

	get := func(path, token string) {
		req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Printf("%d %s", resp.StatusCode, body)
	}
	get("/orders/42", "")
	get("/orders/42", token)
	get("/users/7", token)
	// Output:
	// 401 unauthenticated: no bearer token (send Authorization: Bearer <token>)
	// 200 the events of orders/42
	// 403 forbidden: this needs the scope read:users/7
}

// Scopes follow a small grammar: an action, then optionally a stream, a
// category or a pattern.
func ExampleParseScope() {
	s, _ := access.ParseScope("write:chat/*")
	fmt.Println(s.Allows(access.Op{Action: access.Write, Resource: "chat/room1"}))
	fmt.Println(s.Allows(access.Op{Action: access.Write, Resource: "chat"}))
	fmt.Println(s.Allows(access.Op{Action: access.Read, Resource: "chat/room1"}))
	// Output:
	// true
	// false
	// false
}
