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
		if c.args[0] != "serve" && strings.Contains(errOut, "Usage") {
			t.Errorf("rewind %s prints the whole usage:\n%s", strings.Join(c.args, " "), errOut)
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
