package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/rewindhq/rewind/eventstore/access"
)

// token mints a bearer token: the token on stdout's first line, for the
// client, and the line of the server's tokens file on the second.
func token(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rewind token", flag.ContinueOnError)
	// A bad flag gets one line (flagProblem), the help only when asked.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var scopes []string
	fs.Func("scope", "a scope the token grants: admin, or read|write|delete|admin[:pattern] (repeat for more)", func(s string) error {
		if _, err := access.ParseScope(s); err != nil {
			// The flag package names the flag and the value: keep
			// only the reason, after the error's own "scope: value".
			_, reason, _ := strings.Cut(err.Error(), strconv.Quote(s)+": ")
			return errors.New(cmp.Or(reason, err.Error()))
		}
		scopes = append(scopes, s)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, tokenHelp)
			printFlags(stderr, fs)
			return 0
		}
		fmt.Fprint(stderr, flagProblem("rewind token", fs, err))
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

// tokenHelp is what "rewind token --help" says before the flags.
const tokenHelp = `Usage: rewind token --scope SCOPE [--scope SCOPE ...]

Makes a new random bearer token. It prints the token (give it to the client:
rewind --token, REWIND_TOKEN, or an "Authorization: Bearer" header), then the
line to add to the server's tokens file (rewind serve --auth-tokens FILE),
which holds only the token's SHA-256 hash and its scopes.

A scope is "admin" (everything), or an action (read, write, delete, admin)
alone (on every stream) or followed by ":" and a pattern: a stream or
category name ("orders" is the stream orders and every stream under
orders/), a name followed by "/*" (only the streams under it), or "*". A
name is a stream's name, with white space, #, * and % written %20, %23, %2A
and %25 ("read:my%20orders" reads the stream "my orders").

Flags:
`
