package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeBlock returns the README's sh block that holds want.
func readmeBlock(t *testing.T, want string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
		if strings.Contains(m[1], want) {
			return m[1]
		}
	}
	t.Fatalf("README.md has no sh block with %q", want)
	return ""
}

// invocation is one command a README block ran: its name and arguments
// as the shell passed them.
type invocation []string

// runBlock runs a README block in bash with curl and rewind replaced by
// functions that record their arguments, so that the test sees the
// commands exactly as a reader's shell would run them (variables,
// quoting) without needing curl or the CLI.
func runBlock(t *testing.T, block string) []invocation {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("the README's commands are shell commands, and this test needs bash to run them: %v", err)
	}
	rec := filepath.Join(t.TempDir(), "calls")
	script := "set -eu\n" +
		"curl() { printf '%s\\0' curl \"$@\" >>\"$REC\"; printf '\\1\\0' >>\"$REC\"; }\n" +
		"rewind() { printf '%s\\0' rewind \"$@\" >>\"$REC\"; printf '\\1\\0' >>\"$REC\"; }\n" + block
	cmd := exec.Command(bash, "-c", script)
	cmd.Env = append(os.Environ(), "REC="+rec)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	b, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	var calls []invocation
	var cur invocation
	for _, f := range strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00") {
		if f == "\x01" {
			calls = append(calls, cur)
			cur = nil
			continue
		}
		cur = append(cur, f)
	}
	return calls
}

// curlRequest builds the request curl would send for args (the options
// the README uses: -X, -H, -d; anything else fails the test, so that a new
// option in the README gets taught here rather than ignored). Like curl,
// -d without a Content-Type header sends a form's.
func curlRequest(t *testing.T, args []string) *http.Request {
	t.Helper()
	method, url := "", ""
	var body *string
	header := http.Header{}
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "-X", "-H", "-d":
			if i+1 == len(args) {
				t.Fatalf("curl %q: %s without its value", args, a)
			}
			i++
			switch a {
			case "-X":
				method = args[i]
			case "-H":
				k, v, ok := strings.Cut(args[i], ":")
				if !ok {
					t.Fatalf("curl %q: header %q has no colon", args, args[i])
				}
				header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			case "-d":
				body = &args[i]
			}
		default:
			if strings.HasPrefix(a, "-") || url != "" {
				t.Fatalf("curl %q: this test does not know %q; teach curlRequest", args, a)
			}
			url = a
		}
	}
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(*body)
		if method == "" {
			method = http.MethodPost
		}
		if header.Get("Content-Type") == "" {
			header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatalf("curl %q: %v", args, err)
	}
	req.Header = header
	return req
}

// The Quick start's commands work as a reader pastes them: each curl is
// answered 2xx, the order they make holds the item, the same commands
// again are answered as duplicates with nothing stored twice, and the
// rewind command names the order the curls made.
func TestReadmeQuickStartCommands(t *testing.T) {
	e := startExample(t, t.TempDir())
	block := readmeBlock(t, "/v1/commands")
	const readmeURL = "http://127.0.0.1:4437/"
	if !strings.Contains(block, readmeURL) {
		t.Fatalf("the README's block does not use %s:\n%s", readmeURL, block)
	}
	calls := runBlock(t, strings.ReplaceAll(block, readmeURL, e.url))
	var order string
	var curls []invocation
	for _, c := range calls {
		switch c[0] {
		case "curl":
			curls = append(curls, c)
		case "rewind":
			if len(c) != 3 || c[1] != "timeline" {
				t.Errorf("the block runs %q, want rewind timeline <order>", c)
			}
			order = c[len(c)-1]
		}
	}
	if len(curls) != 4 || order == "" {
		t.Fatalf("the block ran %q, want four curls and a rewind timeline", calls)
	}
	send := func(c invocation) (int, []byte) {
		resp, err := http.DefaultClient.Do(curlRequest(t, c[1:]))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	for round, wantDup := range []bool{false, true} {
		for _, c := range curls {
			code, body := send(c)
			var res struct {
				Duplicate bool `json:"duplicate"`
			}
			if code/100 != 2 || json.Unmarshal(body, &res) != nil || res.Duplicate != wantDup {
				t.Fatalf("round %d: %q answered %d %s, want 2xx with duplicate %v", round+1, c, code, body, wantDup)
			}
		}
	}
	resp, err := http.Get(e.url + "v1/state/" + order)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"mug"`)) || !bytes.Contains(b, []byte(`"version":2`)) {
		t.Errorf("GET /v1/state/%s: %d %s, want the order at version 2 with its mug", order, resp.StatusCode, b)
	}
}
