package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/rewindhq/rewind/eventstore/access"
)

// token mints a bearer token: the token on stdout's first line, for the
// client, and the line of the server's tokens file on the second.
func token(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rewind token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var scopes []string
	fs.Func("scope", "a scope the token grants: admin, or read|write|delete|admin[:pattern] (repeat for more)", func(s string) error {
		if _, err := access.ParseScope(s); err != nil {
			return err
		}
		scopes = append(scopes, s)
		return nil
	})
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: rewind token --scope SCOPE [--scope SCOPE ...]

Makes a new random bearer token. It prints the token (give it to the client:
rewind --token, REWIND_TOKEN, or an "Authorization: Bearer" header), then the
line to add to the server's tokens file (rewind serve --auth-tokens FILE),
which holds only the token's SHA-256 hash and its scopes.

A scope is "admin" (everything), or an action (read, write, delete, admin)
alone (on every stream) or followed by ":" and a pattern: a stream or
category name ("orders" is the stream orders and every stream under
orders/), a name followed by "/*" (only the streams under it), or "*".

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || len(scopes) == 0 {
		fmt.Fprintln(stderr, "rewind token: give the token's scopes with --scope, and nothing else (rewind token --help)")
		return 2
	}
	tok, line, err := access.NewToken(scopes...)
	if err != nil {
		fmt.Fprintln(stderr, "rewind token:", err)
		return 1
	}
	fmt.Fprintln(stdout, tok)
	fmt.Fprintln(stdout, line)
	return 0
}
