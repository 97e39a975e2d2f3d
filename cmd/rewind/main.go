// Command rewind is Rewind's binary: it serves a store over HTTP (the
// Durable Streams protocol, so that browsers and the official clients read
// and write the same streams as Go code), and it asks a server that mounts
// Rewind's /v1/ endpoints (package aggregate/aggregatehttp and
// projection/projectionhttp, as examples/orders does) about its streams:
// what an aggregate looked like at a version or a time, what changed
// between two points and which event changed it, and how its projections
// are doing. Against a server that serves streams only (rewind serve),
// "rewind read" speaks the Durable Streams protocol, and the other client
// commands say that they need the application's server.
//
//	rewind serve [--addr 127.0.0.1:4438] [--data ./data] [--nats URL] [--replicas N] [--long-poll-timeout 30s]
//	rewind state orders/ord-0042 --at "yesterday 15:00"
//
// Every flag of serve has an environment variable (REWIND_ADDR, REWIND_DATA,
// REWIND_NATS, REWIND_REPLICAS, REWIND_LONG_POLL_TIMEOUT, REWIND_OTLP, and
// those of access control and TLS); a flag given on the command line
// wins over its variable. The other commands talk to --server, default
// http://127.0.0.1:4437, or REWIND_SERVER; they print aligned tables with
// local times (on a terminal: in colour unless NO_COLOR is set or TERM is
// dumb, each line cut to the terminal's width; in a pipe or a file: no
// colour, nothing cut), or with --json the server's JSON for scripts, and exit with
// 0 (ok), 1 (server or network error), 2 (bad usage or input) or 3 (not
// found).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `rewind: Rewind's event store, served over HTTP, and a client for time travel.

Usage:
  rewind serve [flags]
        serve the store (Durable Streams protocol at /v1/stream/<name>)
  rewind token --scope SCOPE ...
        make a bearer token and its line for serve's --auth-tokens file
  rewind streams [category]
        list the streams, with event counts and last offsets
  rewind read <stream|category> [--from OFFSET] [--follow]
        print events, and follow new ones
  rewind state <stream> [--version N | --at TIME]
        an aggregate's state now, after a version or at a time
  rewind diff <stream> --from X --to Y
        what changed between two versions or times
  rewind timeline <stream>
        every event with the fields it changed
  rewind projections
        the projections' status, position and lag
  rewind rebuild <projection>
        rebuild a projection, with a progress bar
  rewind export <stream> --to X [--out FILE]
        the events up to a point as a given/when/then test
  rewind help [command]
        show help

The client commands ask --server (default http://127.0.0.1:4437, where
go run ./examples/orders listens, or REWIND_SERVER): an application that
mounts Rewind's /v1/ endpoints beside its aggregates and projections.
"rewind serve" serves streams only (the Durable Streams protocol): there,
read and read --follow work, and the other commands say so. A <stream> is
an aggregate's, "orders/<id>/events" or "orders/<id>" (read takes any
stream's exact name, as streams prints it). Tables show local times, or the
server's JSON with --json; --server and --json may also come before the
command (rewind --server URL state ...). On a terminal, output is in colour
(NO_COLOR=1 turns it off) and each line fits its width; in a pipe or a file
nothing is cut.
The client commands send --token (or REWIND_TOKEN) as a bearer token; a
token missing or refused is an error of the server's (exit 1).
Exit codes: 0 ok, 1 server or network error, 2 bad usage or input, 3 not found.

serve's flags (each also from its environment variable; a flag wins):
  --addr HOST:PORT        where to listen (default 127.0.0.1:4438)
                          REWIND_ADDR
  --data DIR              the embedded store's directory (default ./data;
                          with --nats: of the read index)
                          REWIND_DATA
  --nats URL[,URL...]     an external NATS server, or a cluster's nodes
                          (one "rewind serve" per machine)
                          REWIND_NATS
  --replicas N            with --nats: replicas of the log and its buckets
                          (3 on a cluster; never lowered)
                          REWIND_REPLICAS
  --long-poll-timeout D   how long a long-poll waits (default 30s)
                          REWIND_LONG_POLL_TIMEOUT
  --auth-tokens FILE      bearer tokens' hashes and scopes
                          REWIND_AUTH_TOKENS
  --jwt-secret-file FILE  HS256 secret of bearer JWTs
                          REWIND_JWT_SECRET_FILE
  --jwt-jwks FILE         public keys of bearer JWTs (a JWKS)
                          REWIND_JWT_JWKS
  --jwt-issuer, --jwt-audience
                          what a JWT's iss and aud must be
                          REWIND_JWT_ISSUER, REWIND_JWT_AUDIENCE
  --insecure-no-auth      no authentication, beyond loopback anyway
                          REWIND_INSECURE_NO_AUTH
  --allow-origin, --allow-host
                          origins and Host names let in (no auth)
                          REWIND_ALLOW_ORIGINS, REWIND_ALLOW_HOSTS
  --tls-cert, --tls-key FILE
                          serve HTTPS
                          REWIND_TLS_CERT, REWIND_TLS_KEY
  --tls-client-ca FILE    require client certificates signed by it
                          REWIND_TLS_CLIENT_CA
  --nats-creds, --nats-nkey FILE
                          credentials for --nats
                          REWIND_NATS_CREDS, REWIND_NATS_NKEY
  --nats-ca, --nats-cert, --nats-key FILE
                          TLS for --nats
                          REWIND_NATS_CA, REWIND_NATS_CERT, REWIND_NATS_KEY
  --otlp URL              send traces to this OpenTelemetry collector
                          REWIND_OTLP

Run "rewind <command> --help" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command line args and returns the exit code: 0 success, 1
// failure, 2 bad usage, 3 (client commands) not found.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// The client commands' shared flags may come before the command
	// ("rewind --server URL state ..."); they go on to it.
	global, args := leadingClientFlags(args)
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	if isHelp := args[0] == "-h" || args[0] == "-help" || args[0] == "--help"; strings.HasPrefix(args[0], "-") && !isHelp {
		// A flag before the command that is none of the shared ones: a
		// typo of one, not a command.
		fmt.Fprint(stderr, unknownFlag(args[0]))
		return 2
	}
	if len(global) > 0 && !isClientCommand(args[0]) {
		fmt.Fprintf(stderr, "rewind: %s goes with a client command (streams, read, state, ...), not %q\n", global[0], args[0])
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
	case "token":
		return token(args[1:], stdout, stderr)
	case "streams", "read", "state", "diff", "timeline", "projections", "rebuild", "export":
		return runClient(ctx, clientCommand(args[0]), append(global, args[1:]...), stdout, stderr)
	default:
		fmt.Fprint(stderr, unknownCommand(args[0]))
		return 2
	}
}

// errUsage reports bad flags (already explained to the user).
var errUsage = errors.New("usage")
