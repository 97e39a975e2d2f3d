package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// client is the one HTTP client every test shares, with the base URL and
// this run's stream prefix.
type client struct {
	http   *http.Client
	base   string
	prefix string
	seq    atomic.Int64
}

func newClient(base string, readers int) *client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        readers + 256,
		MaxIdleConnsPerHost: readers + 256,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	return &client{
		http:   &http.Client{Transport: tr},
		base:   base,
		prefix: base + "/v1/stream/dsbench/" + run + "/",
	}
}

func (c *client) closeIdle() { c.http.CloseIdleConnections() }

// streamURL names a new stream of this run.
func (c *client) streamURL(name string) string {
	return c.prefix + name + "-" + strconv.FormatInt(c.seq.Add(1), 10)
}

// ping checks that the server answers at all, before minutes of load.
func (c *client) ping(ctx context.Context) error {
	url := c.streamURL("ping")
	if err := c.create(ctx, url); err != nil {
		return fmt.Errorf("no Durable Streams server at %s: %w", c.base, err)
	}
	return nil
}

const jsonType = "application/json"

func (c *client) create(ctx context.Context, url string) error {
	return c.createType(ctx, url, jsonType)
}

// createType creates a stream of content type ctype.
func (c *client) createType(ctx context.Context, url, ctype string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("PUT %s: %w", url, err)
	}
	drain(resp)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT %s: %s", url, resp.Status)
	}
	return nil
}

// appendJSON POSTs body and returns the stream's next offset.
func (c *client) appendJSON(ctx context.Context, url string, body []byte) (string, error) {
	return c.appendType(ctx, url, jsonType, body)
}

// appendType POSTs body as ctype and returns the stream's next offset.
func (c *client) appendType(ctx context.Context, url, ctype string, body []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("POST %s: %w", url, err)
	}
	msg := drain(resp)
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("POST %s: %s %s", url, resp.Status, msg)
	}
	return resp.Header.Get("Stream-Next-Offset"), nil
}

// readResult is one GET's answer.
type readResult struct {
	status   int
	body     []byte
	next     string
	upToDate bool
}

func (c *client) read(ctx context.Context, url, offset, live string, buf *bytes.Buffer) (readResult, error) {
	u := url + "?offset=" + offset
	if live != "" {
		u += "&live=" + live
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return readResult{}, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return readResult{}, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return readResult{}, fmt.Errorf("GET %s: reading the body: %w", u, err)
	}
	r := readResult{
		status:   resp.StatusCode,
		body:     buf.Bytes(),
		next:     resp.Header.Get("Stream-Next-Offset"),
		upToDate: resp.Header.Get("Stream-Up-To-Date") != "",
	}
	if r.status != http.StatusOK && r.status != http.StatusNoContent {
		return r, fmt.Errorf("GET %s: %s %s", u, resp.Status, strings.TrimSpace(string(r.body)))
	}
	return r, nil
}

// drain reads and closes a body so the connection is reused, and returns
// its start for error messages.
func drain(resp *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if len(b) > 200 {
		b = b[:200]
	}
	return strings.TrimSpace(string(b))
}
