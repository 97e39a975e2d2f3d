package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// The exit codes of the client commands, which scripts can rely on.
const (
	exitOK       = 0
	exitServer   = 1 // the server answered an error, or could not be reached
	exitUsage    = 2 // bad usage or bad input, found here or by the server
	exitNotFound = 3 // the stream, version or projection does not exist
)

// defaultServer is where "go run ./examples/orders" listens.
const defaultServer = "http://127.0.0.1:4437"

// exitError is a failure of a client command: the message for the user and
// the exit code it maps to.
type exitError struct {
	code int
	msg  string
	// transient: the server could not be reached or failed for now (a
	// network error, a 5xx): "read --follow" tries again.
	transient bool
	// streamsOnly: the server does not mount Rewind's /v1/ endpoints but
	// serves streams in the Durable Streams protocol (rewind serve).
	streamsOnly bool
	status      int // the HTTP status of the answer, 0 when none came
}

func (e *exitError) Error() string { return e.msg }

// usageErr reports bad usage or input, exit code 2.
func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, msg: fmt.Sprintf(format, args...)}
}

// cli is what every client command runs with: its output, the server and
// how to print.
type cli struct {
	name   string // "rewind state"
	stdout io.Writer
	stderr io.Writer
	server string // base URL, no trailing slash
	json   bool
	loc    *time.Location // where human output shows times
	client *apiClient
}

// command is one client command: its name, its one-line summary and
// arguments for the usage text, and the function that runs it.
type command struct {
	name    string
	args    string // "<stream> [--version N | --at TIME]"
	summary string
	help    string                 // what --help says beyond the usage line
	flags   func(fs *flag.FlagSet) // the command's own flags, set before parsing
	run     func(ctx context.Context, c *cli, args []string) error
}

// clientCommand returns the client command called name (one of main's
// switch).
func clientCommand(name string) command {
	for _, mk := range []func() command{
		streamsCommand, readCommand, stateCommand, diffCommand, timelineCommand,
		projectionsCommand, rebuildCommand, exportCommand,
	} {
		if c := mk(); c.name == name {
			return c
		}
	}
	return command{name: name, run: func(context.Context, *cli, []string) error {
		return usageErr("unknown command %q", name)
	}}
}

// isClientCommand reports whether name is a client command of main's
// switch.
func isClientCommand(name string) bool {
	switch name {
	case "streams", "read", "state", "diff", "timeline", "projections", "rebuild", "export":
		return true
	}
	return false
}

// leadingClientFlags splits off the shared client flags (--server URL,
// --server=URL, --json) that come before the command.
func leadingClientFlags(args []string) (global, rest []string) {
	for len(args) > 0 {
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
		switch {
		case !strings.HasPrefix(args[0], "-"):
			return global, args
		case name == "json":
			global, args = append(global, args[0]), args[1:]
		case (name == "server" || name == "token") && (hasValue || len(args) == 1):
			global, args = append(global, args[0]), args[1:]
		case name == "server" || name == "token":
			global, args = append(global, args[0], args[1]), args[2:]
		default:
			return global, args
		}
	}
	return global, args
}

// runClient runs one client command with the shared flags (--server,
// --json) and turns its error into an exit code and a message on stderr.
func runClient(ctx context.Context, cmd command, args []string, stdout, stderr io.Writer) int {
	c := &cli{name: "rewind " + cmd.name, stdout: stdout, stderr: stderr, loc: time.Local}
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	// The variables are read after parsing, not given as the flags'
	// defaults: --help prints a flag's default, and a token or a URL's
	// password has no place there.
	server := fs.String("server", defaultServer, "base URL of the server [REWIND_SERVER]")
	token := fs.String("token", "", "bearer token sent to a server with authentication (rewind token makes one) [REWIND_TOKEN]")
	fs.BoolVar(&c.json, "json", false, "print the server's JSON answer, for scripts")
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	// The flag package prints its error and the usage to its output: the
	// help goes to stderr when asked for, a bad flag gets one line.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stderr, "%s\n\n%s\nFlags:\n", wrapParagraph("Usage: rewind "+cmd.name+" "+cmd.args, helpWidth), cmd.help)
		printFlags(stderr, fs)
		fmt.Fprint(stderr, exitCodesHelp)
		return exitOK
	}
	if err != nil {
		fmt.Fprint(stderr, flagProblem(c.name, fs, err))
		return exitUsage
	}
	if err := emptyFlag(fs); err != nil {
		return c.exit(err)
	}
	if given(fs, "server", "") == "" {
		*server = envOr("REWIND_SERVER", defaultServer)
	}
	if given(fs, "token", "") == "" {
		*token = os.Getenv("REWIND_TOKEN")
	}
	c.server, err = checkServer(*server)
	if err == nil && strings.ContainsFunc(*token, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) {
		// net/http refuses it in a header; said as bad input, not as a
		// server that cannot be reached.
		err = usageErr("%s contains a line break or another control character: give the token alone", given(fs, "token", "REWIND_TOKEN"))
	}
	if err == nil {
		c.client = newAPIClient(c.server)
		c.client.token = *token
		c.client.whole = !isTerminal(stderr)
		err = cmd.run(ctx, c, pos)
	}
	return c.exit(err)
}

// emptyFlag refuses a flag given with an empty value (--at "", as --at
// "$T" gives with T unset), which would otherwise read as the flag left
// out: the latest state instead of the one asked for. --token may be
// empty: it sends no token, whatever REWIND_TOKEN holds.
func emptyFlag(fs *flag.FlagSet) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); err != nil || f.Name == "token" || ok && b.IsBoolFlag() {
			return
		}
		if strings.TrimSpace(f.Value.String()) == "" {
			err = usageErr("--%s is empty: give it a value, or leave it out", f.Name)
		}
	})
	return err
}

// exit prints err, if any, and returns its exit code.
func (c *cli) exit(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) && ee.streamsOnly {
		fmt.Fprintf(c.stderr, "%s: %s;\n%s needs the application's /v1/ API, e.g. \"go run ./examples/orders\".\n",
			c.name, ee.msg, strings.TrimPrefix(c.name, "rewind "))
		return ee.code
	}
	if errors.As(err, &ee) {
		fmt.Fprintf(c.stderr, "%s: %s\n", c.name, ee.msg)
		if ee.code == exitUsage && strings.HasPrefix(ee.msg, "usage") {
			fmt.Fprintf(c.stderr, "Run %q for help.\n", c.name+" --help")
		}
		return ee.code
	}
	fmt.Fprintf(c.stderr, "%s: %v\n", c.name, err)
	return exitServer
}

const exitCodesHelp = `
Exit codes: 0 ok, 1 server or network error, 2 bad usage or input, 3 not found.
`

// parseInterspersed parses flags wherever they are among the positional
// arguments ("state orders/42 --version 3" as well as "state --version 3
// orders/42"), which the flag package alone does not, and returns the
// positional arguments in order. After "--" everything is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		before := len(args)
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// The flag package stops at "--" after consuming it: if it
		// consumed one just before rest, the rest is all positional.
		if used := before - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// shownServer is a --server value as a message shows it: without the
// password of its user info, and without its query or fragment, where a
// token may be (?token=..., #token=... as the example's page takes one).
func shownServer(s string) string {
	cut := ""
	if i := strings.IndexAny(s, "?#"); i >= 0 { // first: a URL that does not parse is redacted at its last "@"
		s, cut = s[:i+1], "…"
	}
	return eventstore.RedactURL(s) + cut
}

// checkServer checks the --server value and returns it without a trailing
// slash.
func checkServer(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", usageErr("--server %q is not an http:// or https:// URL (like %s)", shownServer(s), defaultServer)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", usageErr("--server %q: give the server's base URL, without a query or fragment", shownServer(s))
	}
	if strings.TrimRight(u.Path, "/") == "/v1" {
		return "", usageErr("--server %q: give the server's base URL, without /v1 (each command adds the path it asks for)", shownServer(s))
	}
	return strings.TrimRight(s, "/"), nil
}

// wantArgs checks the number of positional arguments.
func wantArgs(args []string, min, max int, what string) error {
	switch {
	case len(args) < min:
		return usageErr("usage: missing %s", what)
	case len(args) > max:
		return usageErr("usage: unexpected argument %q", args[max])
	}
	return nil
}

// isTerminal reports whether w is a terminal, where progress is drawn in
// place rather than printed line after line.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
