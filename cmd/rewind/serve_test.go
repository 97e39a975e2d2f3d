package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore/access"
)

// rewindBin is the binary the tests run, built once by TestMain.
var rewindBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rewind-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rewindBin = filepath.Join(dir, "rewind")
	build := exec.Command("go", "build", "-o", rewindBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "go build:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cleanEnv is the test's environment without REWIND_ variables.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REWIND_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// runBin runs the binary to its end and returns its exit code and output.
func runBin(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, rewindBin, args...)
	cmd.Env = cleanEnv(env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("rewind %v: %v", args, err)
	}
	return code, out.String(), errb.String()
}

// proc is a running rewind serve.
type proc struct {
	cmd    *exec.Cmd
	url    string // http://host:port
	line   string // the listening line
	done   chan struct{}
	code   int
	mu     sync.Mutex
	stderr bytes.Buffer
}

var listeningURL = regexp.MustCompile(`msg=listening url=(\S+)`)

// startServe starts rewind serve and waits for its listening line.
func startServe(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(rewindBin, append([]string{"serve"}, args...)...)
	cmd.Env = cleanEnv(env...)
	return startServeCmd(t, cmd)
}

// startServeCmd starts cmd, a rewind serve, and waits for its listening
// line.
func startServeCmd(t *testing.T, cmd *exec.Cmd) *proc {
	t.Helper()
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if listeningURL.MatchString(sc.Text()) {
				select {
				case lines <- sc.Text():
				default:
				}
			}
		}
		err := cmd.Wait()
		p.code = cmd.ProcessState.ExitCode()
		if err != nil && p.code == 0 {
			p.code = -1
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	select {
	case line := <-lines:
		p.line = line
		p.url = listeningURL.FindStringSubmatch(line)[1]
	case <-p.done:
		t.Fatalf("rewind serve exited %d before listening:\n%s", p.code, p.output())
	case <-time.After(90 * time.Second):
		t.Fatalf("rewind serve did not listen within 90 s:\n%s", p.output())
	}
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// wait waits for the process to exit and returns its code.
func (p *proc) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(within):
		t.Fatalf("rewind serve still running after %v:\n%s", within, p.output())
		return 0
	}
}

func TestHelp(t *testing.T) {
	code, out, _ := runBin(t, nil, "--help")
	// The top-level help lists the commands, serve's flags with their
	// variables, and points at each command's own help.
	if code != 0 || !strings.Contains(out, "rewind serve") || !strings.Contains(out, "--help") {
		t.Errorf("rewind --help: exit %d, output:\n%s", code, out)
	}
	for _, want := range []string{"--addr", "REWIND_ADDR", "--data", "REWIND_DATA", "--nats", "REWIND_NATS",
		"--replicas", "REWIND_REPLICAS", "--long-poll-timeout", "REWIND_LONG_POLL_TIMEOUT", "--otlp", "REWIND_OTLP"} {
		if !strings.Contains(out, want) {
			t.Errorf("rewind --help does not mention %s:\n%s", want, out)
		}
	}
	for _, args := range [][]string{{"serve", "--help"}, {"serve", "-h"}, {"help", "serve"}} {
		code, out, errOut := runBin(t, nil, args...)
		help := out + errOut
		if code != 0 {
			t.Errorf("rewind %v: exit %d", args, code)
		}
		for _, want := range []string{"-addr", "REWIND_ADDR", "-data", "REWIND_DATA", "-nats", "REWIND_NATS",
			"-replicas", "REWIND_REPLICAS", "comma-separated", "503", "-long-poll-timeout", "REWIND_LONG_POLL_TIMEOUT", "SIGTERM",
			"-otlp", "REWIND_OTLP"} {
			if !strings.Contains(help, want) {
				t.Errorf("rewind %v does not mention %s:\n%s", args, want, help)
			}
		}
	}
}

func TestBadUsage(t *testing.T) {
	for _, c := range []struct {
		env  []string
		args []string
		want string // in stderr
	}{
		{nil, nil, "Usage"},
		{nil, []string{"frobnicate"}, "frobnicate"},
		{nil, []string{"serve", "--bogus"}, "bogus"},
		{nil, []string{"serve", "--long-poll-timeout", "soon"}, "long-poll-timeout"},
		{nil, []string{"serve", "--long-poll-timeout", "-1s"}, "long-poll-timeout"},
		{nil, []string{"serve", "--long-poll-timeout", "0"}, "long-poll-timeout"},
		{nil, []string{"serve", "--addr"}, "addr"},
		{nil, []string{"serve", "stray"}, "stray"},
		{[]string{"REWIND_LONG_POLL_TIMEOUT=soon"}, []string{"serve"}, "REWIND_LONG_POLL_TIMEOUT"},
		{[]string{"REWIND_LONG_POLL_TIMEOUT=-5s"}, []string{"serve"}, "REWIND_LONG_POLL_TIMEOUT"},
		{nil, []string{"serve", "--replicas", "3"}, "--nats"},
		{nil, []string{"serve", "--nats", "nats://x", "--replicas", "6"}, "replicas"},
		{[]string{"REWIND_REPLICAS=three"}, []string{"serve"}, "REWIND_REPLICAS"},
		{nil, []string{"serve", "--auth-tokens", "/nonexistent"}, "open /nonexistent: no such file"},
		{nil, []string{"serve", "--jwt-jwks", "/nonexistent"}, "open /nonexistent: no such file"},
		{nil, []string{"serve", "--tls-cert", "/nonexistent", "--tls-key", "/nonexistent"}, "/nonexistent"},
		{nil, []string{"serve", "--tls-client-ca", "/nonexistent"}, "--tls-client-ca needs --tls-cert"},
		{nil, []string{"serve", "--otlp", "not-a-url"}, `--otlp "not-a-url": want http(s)://host:port`},
		{[]string{"REWIND_OTLP=not-a-url"}, []string{"serve"}, `REWIND_OTLP "not-a-url": want http(s)://host:port`},
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT=not-a-url"}, []string{"serve", "--addr", "127.0.0.1:0"}, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{nil, []string{"serve", "--storage-limit", "lots"}, `--storage-limit "lots": want a size`},
		{nil, []string{"serve", "--storage-limit", "10XB"}, `--storage-limit "10XB"`},
		{nil, []string{"serve", "--storage-limit", "1000"}, "at least 1MiB"},
		{[]string{"REWIND_STORAGE_LIMIT=-5GB"}, []string{"serve"}, "REWIND_STORAGE_LIMIT"},
		{nil, []string{"serve", "--nats", "nats://x", "--storage-limit", "1GB"}, "max_file_store"},
		{nil, []string{"serve", "--addr", "127.0.0.1:0", "--nats", "nats://127.0.0.1:1", "--nats-creds", "/nonexistent"}, "NATS credentials: open /nonexistent"},
		{nil, []string{"serve", "--addr", "127.0.0.1:0", "--nats", "nats://127.0.0.1:1", "--nats-nkey", "/nonexistent"}, "nkey seed"},
		{nil, []string{"serve", "--addr", "127.0.0.1:0", "--nats", "nats://127.0.0.1:1", "--nats-ca", "/nonexistent"}, "NATS CA certificates"},
		{nil, []string{"serve", "--addr", "127.0.0.1:0", "--nats", "nats://127.0.0.1:1", "--nats-cert", "/nonexistent", "--nats-key", "/nonexistent"}, "NATS client certificate"},
	} {
		code, _, errOut := runBin(t, c.env, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v rewind %v: exit %d, stderr:\n%s\nwant exit 2 and a message with %q", c.env, c.args, code, errOut, c.want)
		}
	}
}

func TestFlagsWinOverEnv(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		args []string
		want serveConfig
	}{
		{nil, nil, serveConfig{addr: "127.0.0.1:4438", data: "./data", longPoll: 30 * time.Second}},
		{map[string]string{"REWIND_ADDR": ":1", "REWIND_DATA": "/e", "REWIND_NATS": "nats://e", "REWIND_LONG_POLL_TIMEOUT": "2s", "REWIND_REPLICAS": "3", "REWIND_INSECURE_NO_AUTH": "1", "REWIND_OTLP": "http://e:4318"}, nil,
			serveConfig{addr: ":1", data: "/e", natsURL: "nats://e", longPoll: 2 * time.Second, replicas: 3, otlp: "http://e:4318", access: access.Config{InsecureNoAuth: true}}},
		{map[string]string{"REWIND_ADDR": ":1", "REWIND_DATA": "/e", "REWIND_NATS": "nats://e", "REWIND_LONG_POLL_TIMEOUT": "2s", "REWIND_REPLICAS": "3", "REWIND_AUTH_TOKENS": "/t", "REWIND_OTLP": "http://e:4318"},
			[]string{"--addr", ":2", "--data", "/f", "--nats", "nats://f", "--long-poll-timeout", "3s", "--replicas", "5", "--auth-tokens", "/u", "--otlp", "http://f:4318"},
			serveConfig{addr: ":2", data: "/f", natsURL: "nats://f", longPoll: 3 * time.Second, replicas: 5, otlp: "http://f:4318", access: access.Config{TokensFile: "/u"}}},
	} {
		for _, k := range []string{"REWIND_ADDR", "REWIND_DATA", "REWIND_NATS", "REWIND_LONG_POLL_TIMEOUT", "REWIND_REPLICAS", "REWIND_INSECURE_NO_AUTH", "REWIND_AUTH_TOKENS", "REWIND_OTLP"} {
			t.Setenv(k, c.env[k])
		}
		got, err := parseServe(c.args, io.Discard)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("env %v args %v: %+v %v, want %+v", c.env, c.args, got, err, c.want)
		}
	}
}

func TestServeFromEnv(t *testing.T) {
	dir := t.TempDir()
	p := startServe(t, []string{"REWIND_ADDR=127.0.0.1:0", "REWIND_DATA=" + dir, "REWIND_LONG_POLL_TIMEOUT=300ms"})
	if !strings.Contains(p.line, dir) || !strings.Contains(p.line, "long_poll_timeout=300ms") {
		t.Errorf("the listening line does not show the environment's settings: %s", p.line)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Errorf("exit %d after SIGTERM:\n%s", code, p.output())
	}
	// Flags win: the environment's address and data dir are unusable.
	p = startServe(t, []string{"REWIND_ADDR=256.0.0.1:99999", "REWIND_DATA=/proc/no-such-dir", "REWIND_LONG_POLL_TIMEOUT=1h"},
		"--addr", "127.0.0.1:0", "--data", dir, "--long-poll-timeout", "200ms")
	if !strings.Contains(p.line, "long_poll_timeout=200ms") {
		t.Errorf("the flag's long-poll timeout is not used: %s", p.line)
	}
	url := p.url + "/v1/stream/env/s"
	mustDo(t, "PUT", url, nil, 201)
	// Paths reach the handler as sent: no redirect to a cleaned path.
	mustDo(t, "PUT", p.url+"/v1/stream/env//s", nil, 400)
	mustDo(t, "GET", p.url+"/v1/stream/env/./s?offset=-1", nil, 400)
	if r := mustDo(t, "GET", p.url+"/elsewhere", nil, 404); !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("404 outside the streams: Content-Type %q", r.Header.Get("Content-Type"))
	}
	start := time.Now()
	mustDo(t, "GET", url+"?offset=now&live=long-poll", nil, 204)
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("a long-poll took %v with --long-poll-timeout 200ms", took)
	}
}

func mustDo(t *testing.T, method, url string, body []byte, want int, kv ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d", method, url, resp.StatusCode, want)
	}
	return resp
}

// message is what the writers post.
type message struct {
	W int `json:"w"`
	S int `json:"s"`
}

// writeUntilCut runs writers, each an idempotent producer posting one
// message per sequence number, until the server stops answering; it
// returns, per writer, how many of its messages were acknowledged (seq 0
// to acked-1).
func writeUntilCut(t *testing.T, url string, writers int, cut func()) []int {
	t.Helper()
	acked := make([]int, writers)
	var wg sync.WaitGroup
	started := make(chan struct{}, writers)
	client := &http.Client{Timeout: 30 * time.Second}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := 0; ; s++ {
				body, _ := json.Marshal(message{W: w, S: s})
				req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Producer-Id", "writer-"+strconv.Itoa(w))
				req.Header.Set("Producer-Epoch", "0")
				req.Header.Set("Producer-Seq", strconv.Itoa(s))
				resp, err := client.Do(req)
				if err != nil {
					return // cut: this one may or may not be stored
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 && resp.StatusCode != 204 {
					return
				}
				acked[w] = s + 1
				if s == 20 {
					started <- struct{}{}
				}
			}
		}()
	}
	for range writers {
		select {
		case <-started:
		case <-time.After(60 * time.Second):
			t.Fatal("the writers did not get going")
		}
	}
	cut()
	wg.Wait()
	return acked
}

// readAll reads a JSON stream to its end over HTTP.
func readAll(t *testing.T, url string) []message {
	t.Helper()
	var all []message
	offset := "-1"
	for {
		resp, err := http.Get(url + "?offset=" + offset)
		if err != nil {
			t.Fatal(err)
		}
		var page []message
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if resp.StatusCode != 200 || err != nil {
			t.Fatalf("GET %s from %s: %d %v", url, offset, resp.StatusCode, err)
		}
		all = append(all, page...)
		offset = resp.Header.Get("Stream-Next-Offset")
		if resp.Header.Get("Stream-Up-To-Date") == "true" {
			return all
		}
	}
}

// checkAcked checks that every acknowledged message is stored exactly
// once and that nothing is stored twice.
func checkAcked(t *testing.T, acked []int, stored []message) {
	t.Helper()
	seen := map[message]int{}
	for _, m := range stored {
		seen[m]++
	}
	total := 0
	for w, n := range acked {
		total += n
		for s := range n {
			if c := seen[message{W: w, S: s}]; c != 1 {
				t.Errorf("writer %d seq %d was acknowledged and is stored %d times", w, s, c)
			}
		}
	}
	for m, c := range seen {
		if c > 1 {
			t.Errorf("%+v is stored %d times", m, c)
		}
		if m.W < 0 || m.W >= len(acked) || m.S > acked[m.W] {
			t.Errorf("%+v is stored but was never sent", m) // at most seq acked[w] was in flight
		}
	}
	t.Logf("%d writes acknowledged, %d stored", total, len(stored))
}

func TestSIGTERMDrainsWrites(t *testing.T) {
	testCut(t, syscall.SIGTERM)
}

func TestKill9KeepsAcknowledgedWrites(t *testing.T) {
	testCut(t, syscall.SIGKILL)
}

func testCut(t *testing.T, sig syscall.Signal) {
	dir := t.TempDir()
	args := []string{"--addr", "127.0.0.1:0", "--data", dir, "--long-poll-timeout", "500ms"}
	p := startServe(t, nil, args...)
	url := p.url + "/v1/stream/cut/s"
	mustDo(t, "PUT", url, nil, 201, "Content-Type", "application/json")
	// A long-poll in flight must not hold up the drain.
	go http.Get(url + "?offset=now&live=long-poll")
	acked := writeUntilCut(t, url, 8, func() {
		if err := p.cmd.Process.Signal(sig); err != nil {
			t.Errorf("signal: %v", err)
		}
	})
	code := p.wait(t, 60*time.Second)
	switch {
	case sig == syscall.SIGTERM && code != 0:
		t.Errorf("exit %d after SIGTERM, want 0:\n%s", code, p.output())
	case sig == syscall.SIGTERM && !strings.Contains(p.output(), "msg=stopped"):
		t.Errorf("no clean stop in the log:\n%s", p.output())
	}
	p = startServe(t, nil, args...)
	url = p.url + "/v1/stream/cut/s"
	checkAcked(t, acked, readAll(t, url))
	// Every producer goes on where its acknowledged writes stopped: a
	// retry of its last one is a duplicate.
	for w, n := range acked {
		body, _ := json.Marshal(message{W: w, S: n - 1})
		mustDo(t, "POST", url, body, 204, "Content-Type", "application/json", "Producer-Id", "writer-"+strconv.Itoa(w),
			"Producer-Epoch", "0", "Producer-Seq", strconv.Itoa(n-1))
	}
}

// TestServeBindsBeforeMakingData: a port in use fails with exit 1 before
// the data directory is made, so a second serve leaves nothing behind.
func TestServeBindsBeforeMakingData(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	data := filepath.Join(t.TempDir(), "data")
	code, _, errOut := runBin(t, nil, "serve", "--addr", ln.Addr().String(), "--data", data)
	if code != 1 || !strings.Contains(errOut, "listen") {
		t.Errorf("serve on a port in use: exit %d, stderr:\n%s\nwant exit 1 and a message about listening", code, errOut)
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serve on a port in use made %s (%v)", data, err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1048576": 1 << 20, "1MiB": 1 << 20, "500MB": 500e6, "2.5GiB": 5 << 29, "1 TB": 1e12, "64kib": 64 << 10, "7b": 7} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "lots", "-1GB", "10XB", "1e3", "99999999TiB"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

// TestServeStorageFull: past --storage-limit, an append answers 507 with
// what to do (at once, not after ten seconds of retries), /readyz says the
// store is not ready, everything acknowledged is kept, and SIGTERM stops
// the server promptly. Restarted with a higher limit, it takes appends.
func TestServeStorageFull(t *testing.T) {
	dir := t.TempDir()
	p := startServe(t, nil, "--addr", "127.0.0.1:0", "--data", dir, "--storage-limit", "1MiB")
	url := p.url + "/v1/stream/full/s"
	mustDo(t, "PUT", url, nil, 201, "Content-Type", "application/octet-stream")
	body := make([]byte, 32<<10)
	acked, code := 0, 0
	var answer []byte
	for range 100 {
		rand.Read(body)
		began := time.Now()
		resp, err := http.Post(url, "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		answer, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if code = resp.StatusCode; code != http.StatusNoContent {
			if took := time.Since(began); took > 5*time.Second {
				t.Errorf("the refused append took %v", took)
			}
			break
		}
		acked++
	}
	if code != http.StatusInsufficientStorage || !strings.Contains(string(answer), "no storage left") {
		t.Fatalf("after %d appends: %d %s, want 507 saying the store has no storage left", acked, code, answer)
	}
	resp, err := http.Get(p.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz: %d, want 503", resp.StatusCode)
	}
	// The reason reaches the log as the answer goes out: the line is read
	// from the server's stderr a moment later.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(p.output(), "storage full"); {
		if time.Now().After(deadline) {
			t.Errorf("the log does not say why it is not ready:\n%s", p.output())
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0:\n%s", code, p.output())
	}
	p = startServe(t, nil, "--addr", "127.0.0.1:0", "--data", dir, "--storage-limit", "8MiB")
	url = p.url + "/v1/stream/full/s"
	mustDo(t, "POST", url, body, 204, "Content-Type", "application/octet-stream")
	n := 0
	for offset := "-1"; ; {
		resp, err := http.Get(url + "?offset=" + offset)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		n += len(b)
		if resp.Header.Get("Stream-Up-To-Date") == "true" || len(b) == 0 {
			break
		}
		offset = resp.Header.Get("Stream-Next-Offset")
	}
	if n != (acked+1)*len(body) {
		t.Errorf("read %d bytes after a restart, want %d (%d appends acknowledged, then one more)", n, (acked+1)*len(body), acked)
	}
}
