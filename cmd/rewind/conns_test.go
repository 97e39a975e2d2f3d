package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestServeKeepsDescriptorsForTheStore: a client that opens more idle
// connections than the process may hold files (no token needed, only
// TCP handshakes) does not take the descriptors the embedded store needs.
// The server once accepted until accept failed with "too many open
// files"; the store's next file open failed meanwhile, the embedded
// server took that for a critical write error, and every append failed
// until the process restarted. Now the server holds at most
// access.MaxConns connections (here, with 320 descriptors, 64), and once
// the flood is over appends and new streams work.
func TestServeKeepsDescriptorsForTheStore(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("this test needs bash to lower the server's limit of open files: %v", err)
	}
	data := t.TempDir()
	cmd := exec.Command(bash, "-c", `ulimit -n 320 && exec "$0" serve "$@"`, rewindBin, "--data", data, "--addr", "127.0.0.1:0")
	cmd.Env = cleanEnv()
	p := startServeCmd(t, cmd)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	client := &http.Client{Timeout: 30 * time.Second}
	do := func(method, path, body string) (int, error) {
		req, err := http.NewRequestWithContext(ctx, method, p.url+path, strings.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := do(http.MethodPut, "/v1/stream/flood/before", ""); err != nil || code != http.StatusCreated {
		t.Fatalf("PUT before the flood: %d %v", code, err)
	}
	client.CloseIdleConnections()

	// The flood: 400 connections that send nothing, held for a while,
	// while the store keeps working (its index flushes, the server syncs
	// and closes idle block files, and opens them again).
	addr := strings.TrimPrefix(p.url, "http://")
	var conns []net.Conn
	for range 400 {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			break // the backlog is full: flooded enough
		}
		conns = append(conns, c)
	}
	time.Sleep(3 * time.Second)
	for _, c := range conns {
		c.Close()
	}
	if len(conns) < 300 {
		t.Fatalf("only %d connections opened: not a flood", len(conns))
	}

	// After it, every write works, each in well under the 10 s an append
	// waits for an answer.
	for i := range 20 {
		start := time.Now()
		code, err := do(http.MethodPost, "/v1/stream/flood/before", fmt.Sprintf(`{"n":%d}`, i))
		if err != nil || code != http.StatusNoContent {
			rc, _ := do(http.MethodGet, "/readyz", "")
			t.Fatalf("append %d after the flood: %d %v (/readyz %d)\n%s", i, code, err, rc, p.output())
		}
		if d := time.Since(start); d > 8*time.Second {
			t.Fatalf("append %d after the flood took %v:\n%s", i, d, p.output())
		}
	}
	if code, err := do(http.MethodPut, "/v1/stream/flood/after", ""); err != nil || code != http.StatusCreated {
		t.Fatalf("PUT after the flood: %d %v\n%s", code, err, p.output())
	}
	if code, err := do(http.MethodGet, "/readyz", ""); err != nil || code != http.StatusOK {
		t.Errorf("/readyz after the flood: %d %v", code, err)
	}
	if out := p.output(); strings.Contains(out, "too many open files") {
		t.Errorf("the server ran out of descriptors:\n%s", out)
	}
}
