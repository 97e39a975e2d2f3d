// Command rewind is Rewind's binary: it serves a store over HTTP (the
// Durable Streams protocol, so that browsers and the official clients read
// and write the same streams as Go code).
//
//	rewind serve [--addr 127.0.0.1:4437] [--data ./data] [--nats URL] [--long-poll-timeout 30s]
//
// Every flag has an environment variable (REWIND_ADDR, REWIND_DATA,
// REWIND_NATS, REWIND_LONG_POLL_TIMEOUT); a flag given on the command line
// wins over its variable.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `rewind: Rewind's event store, served over HTTP.

Usage:
  rewind serve [flags]    serve the store (Durable Streams protocol at /v1/stream/<name>)
  rewind help [command]   show help

Run "rewind serve --help" for the server's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command line args and returns the exit code: 0 success, 1
// failure, 2 bad usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		if len(args) > 1 && args[0] == "help" {
			return run(ctx, []string{args[1], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return 0
	case "serve":
		err := serve(ctx, args[1:], stdout, stderr)
		switch {
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		case err != nil:
			fmt.Fprintln(stderr, "rewind serve:", err)
			return 1
		}
		return 0
	default:
		fmt.Fprintf(stderr, "rewind: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

// errUsage reports bad flags (already explained to the user).
var errUsage = errors.New("usage")
