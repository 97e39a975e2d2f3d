package main

import (
	"strings"
	"testing"
)

// TestDidYouMean: a mistyped command or flag gets one line naming the one
// meant, exit code 2, and not the whole usage.
func TestDidYouMean(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"stat"}, `rewind: unknown command "stat"; did you mean "state"?`},
		{[]string{"timline", "orders/1"}, `rewind: unknown command "timline"; did you mean "timeline"?`},
		{[]string{"projection"}, `did you mean "projections"?`},
		{[]string{"frobnicate"}, `rewind: unknown command "frobnicate"` + "\n" + `Run "rewind --help" for the commands.`},
		{[]string{"state", "orders/1", "--verison", "3"}, "rewind state: unknown flag --verison; did you mean --version?"},
		{[]string{"read", "orders", "--folow"}, "rewind read: unknown flag --folow; did you mean --follow?"},
		{[]string{"diff", "orders/1", "-form", "1"}, "rewind diff: unknown flag --form; did you mean --from?"},
		{[]string{"streams", "--bogus"}, "rewind streams: unknown flag --bogus\n" + `Run "rewind streams --help" for its flags.`},
		{[]string{"serve", "--adr", ":0"}, "rewind serve: unknown flag --adr; did you mean --addr?"},
	} {
		code, out, errOut := runBin(t, nil, c.args...)
		if code != exitUsage || out != "" || !strings.Contains(errOut, c.want) {
			t.Errorf("rewind %s: exit %d, stdout %q, stderr:\n%s\nwant exit 2 and %q", strings.Join(c.args, " "), code, out, errOut, c.want)
		}
		if strings.Contains(errOut, "Usage") {
			t.Errorf("rewind %s prints the whole usage:\n%s", strings.Join(c.args, " "), errOut)
		}
	}
}

// TestFlagProblemsInOneLine: serve and token answer a bad flag as the
// client commands do, in one line prefixed with the command (two for an
// unknown flag that is no typo), exit 2, never with the whole usage; a
// flag before the command that is none of the shared ones is an unknown
// flag, not an unknown command.
func TestFlagProblemsInOneLine(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string // all of stderr
	}{
		{[]string{"serve", "--adr", "127.0.0.1:0"}, "rewind serve: unknown flag --adr; did you mean --addr?\n"},
		{[]string{"serve", "--bogus"}, "rewind serve: unknown flag --bogus\nRun \"rewind serve --help\" for its flags.\n"},
		{[]string{"serve", "--addr"}, "rewind serve: --addr needs a value (rewind serve --help lists the flags)\n"},
		{[]string{"serve", "--replicas", "x"}, "rewind serve: --replicas \"x\": not a whole number\n"},
		{[]string{"serve", "--long-poll-timeout", "soon"}, "rewind serve: --long-poll-timeout \"soon\": not a duration (like 30s or 2m)\n"},
		{[]string{"serve", "--insecure-no-auth=maybe"}, "rewind serve: --insecure-no-auth \"maybe\": not true or false\n"},
		{[]string{"token", "--scope", "bogus"}, "rewind token: --scope \"bogus\": the action must be read, write, delete or admin\n"},
		{[]string{"token", "--scope", "read:a/../b"}, "rewind token: --scope \"read:a/../b\": no stream can be named so: \"a/../b\" has a \"..\" segment\n"},
		{[]string{"token", "--scope", "read:a b"}, "rewind token: --scope \"read:a b\": a pattern is *, a name, or a name followed by /*; in a name, white space, # and * are written %20, %23 and %2A\n"},
		{[]string{"token", "--scpe", "read"}, "rewind token: unknown flag --scpe; did you mean --scope?\n"},
		{[]string{"read", "x", "--limit", "ten"}, "rewind read: --limit \"ten\": not a whole number\n"},
		{[]string{"--servr", "x", "state", "orders/1"}, "rewind: unknown flag --servr; did you mean --server?\n"},
		{[]string{"--server=x", "--jsn", "state", "orders/1"}, "rewind: unknown flag --jsn; did you mean --json?\n"},
		{[]string{"--frobnicate", "state"}, "rewind: unknown flag --frobnicate\nRun \"rewind --help\" for the commands and their flags.\n"},
	} {
		code, out, errOut := runCLI(t, t.Context(), c.args...)
		if code != exitUsage || out != "" || errOut != c.want {
			t.Errorf("rewind %s: exit %d, stdout %q, stderr:\n%s\nwant exit 2 and:\n%s", strings.Join(c.args, " "), code, out, errOut, c.want)
		}
	}
}

func TestClosest(t *testing.T) {
	for in, want := range map[string]string{
		"stat": "state", "sate": "state", "stream": "streams", "raed": "read", "dif": "diff", "exprot": "export",
		"rebiuld": "rebuild", "serv": "serve", "xyz": "", "delete": "", "s": "",
	} {
		if got := closest(in, commandNames); got != want {
			t.Errorf("closest(%q) = %q, want %q", in, got, want)
		}
	}
}
