package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/rewindhq/rewind/eventstore"
)

// requestTimeout bounds one request that does not wait on purpose.
const requestTimeout = 30 * time.Second

// apiClient calls the /v1/ endpoints of one server (aggregatehttp,
// projectionhttp) and turns their answers into values or exit errors.
type apiClient struct {
	base  string
	http  *http.Client
	token string // sent as "Authorization: Bearer" when set
	// whole: the messages go to a pipe or a file, where nothing is cut
	// (an error answer's body is shown whole, not as a short excerpt).
	whole bool
}

func newAPIClient(base string) *apiClient {
	return &apiClient{base: base, http: &http.Client{}}
}

// apiError is the body of the endpoints' 4xx answers.
type apiError struct {
	Error string `json:"error"`
}

// do sends one request to path (with its query) and returns the body of a
// 2xx answer. Other answers and network failures are exit errors: 404 with
// the endpoints' JSON error is "not found" (3), 400, 413 and 422 are bad
// input (2), the rest is the server's failure (1). wait is how much longer
// than requestTimeout the request may take (a long poll).
func (a *apiClient) do(ctx context.Context, method, path string, query url.Values, body io.Reader, wait time.Duration) ([]byte, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout+wait)
	defer cancel()
	u := a.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, nil, fmt.Errorf("request %s: %w", eventstore.RedactURL(u), unwrapURLError(err))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, nil, a.networkError(ctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, nil, a.networkError(ctx, err)
	}
	if resp.StatusCode/100 == 2 {
		return data, resp.Header, nil
	}
	err = statusError(method, path, resp.StatusCode, resp.Header.Get("Content-Type"), data, a.whole)
	if ee := (*exitError)(nil); errors.As(err, &ee) {
		ee.status = resp.StatusCode
		ee.msg += a.tokenHint(resp.StatusCode)
	}
	return nil, nil, err
}

// tokenHint is what a refusal by the server's authentication adds to its
// message: how the client sends a token. A refused token exits 1, as
// every other error the server answers (the exit codes have none of
// their own for it).
func (a *apiClient) tokenHint(status int) string {
	switch {
	case status == http.StatusUnauthorized && a.token == "":
		return "\n(the server wants a bearer token: give it with --token or REWIND_TOKEN; \"rewind token\" makes one)"
	case status == http.StatusUnauthorized:
		return "\n(the server refused the token given with --token or REWIND_TOKEN)"
	case status == http.StatusForbidden:
		return "\n(the token given with --token or REWIND_TOKEN lacks the scope for this; \"rewind token --scope ...\" makes one with it)"
	}
	return ""
}

// getJSON GETs path and decodes the JSON answer into v; raw is the answer
// as the server sent it, for --json.
func (a *apiClient) getJSON(ctx context.Context, path string, query url.Values, v any) (raw []byte, err error) {
	raw, _, err = a.do(ctx, http.MethodGet, path, query, nil, 0)
	if err != nil {
		return nil, err
	}
	return raw, decodeAnswer(path, raw, v)
}

func decodeAnswer(path string, raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return &exitError{code: exitServer, msg: fmt.Sprintf("the answer of %s is not the JSON expected: %v", path, err)}
	}
	return nil
}

// networkError explains a request that got no answer.
func (a *apiClient) networkError(ctx context.Context, err error) error {
	if errors.Is(err, context.Canceled) {
		return &exitError{code: exitServer, msg: "interrupted"}
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &exitError{code: exitServer, transient: true, msg: fmt.Sprintf("the server at %s did not answer in time", eventstore.RedactURL(a.base))}
	}
	if msg := err.Error(); strings.Contains(msg, "server gave HTTP response to HTTPS client") || strings.Contains(msg, "first record does not look like a TLS handshake") {
		return &exitError{code: exitServer, msg: fmt.Sprintf(
			"the server at %s answers plain HTTP, not HTTPS: give --server with http://", eventstore.RedactURL(a.base))}
	}
	return &exitError{code: exitServer, transient: true, msg: fmt.Sprintf(
		"cannot reach the server at %s: %v\n(is it running? \"go run ./examples/orders\" starts one; --server or REWIND_SERVER points elsewhere)",
		eventstore.RedactURL(a.base), unwrapURLError(err))}
}

// unwrapURLError drops the method and URL that *url.Error repeats.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// statusError maps a non-2xx answer to an exit error. An answer that is
// not the endpoints' JSON error comes from a server that does not mount
// them, or a proxy in between: its status is told, and of its body its
// text on one line (whole, or cut short for a terminal), never a page of
// HTML.
func statusError(method, path string, status int, contentType string, body []byte, whole bool) error {
	var ae apiError
	reason := ""
	if json.Unmarshal(body, &ae) == nil && ae.Error != "" {
		reason = ae.Error
	}
	if reason == "" {
		text := bodyExcerpt(contentType, body, whole)
		if (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) && bytes.Contains(body, []byte("/v1/stream/")) {
			// rewind serve's answer to any other path.
			return &exitError{code: exitUsage, streamsOnly: true, msg: streamsOnlyMsg}
		}
		answer := fmt.Sprintf("%s %s: HTTP %d %s", method, path, status, http.StatusText(status))
		if text != "" {
			answer += ": " + text
		}
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			return &exitError{code: exitServer, msg: answer +
				"\ndoes --server point at an application that serves Rewind's /v1/ API?"}
		}
		return &exitError{code: exitServer, transient: status >= 500 || status == http.StatusTooManyRequests, msg: answer}
	}
	code := exitServer
	switch status {
	case http.StatusNotFound:
		code = exitNotFound
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		code = exitUsage
	}
	return &exitError{code: code, msg: reason, transient: status >= 500 || status == http.StatusTooManyRequests}
}

// streamsOnlyMsg says why a command other than read cannot work against
// a server like rewind serve; cli.exit adds what the command needs.
const streamsOnlyMsg = `this server serves Durable Streams only ("rewind serve")`

// maxExcerpt is how many characters of a body that is not the endpoints'
// error a message on a terminal shows at most.
const maxExcerpt = 60

// bodyExcerpt is what a message shows of an error answer's body: for a
// terminal its first line of text, spaces collapsed, cut to maxExcerpt
// characters; whole (in a pipe or a file, where nothing is cut), all its
// text, its lines and spaces collapsed into one line. Nothing of HTML (an
// error page: its markup says nothing) or of a body that is not text.
func bodyExcerpt(contentType string, body []byte, whole bool) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	text := strings.TrimSpace(string(bytes.ToValidUTF8(body, nil)))
	if mt == "text/html" || mt == "application/xhtml+xml" || strings.HasPrefix(text, "<") {
		return ""
	}
	if mt != "" && !strings.HasPrefix(mt, "text/") && mt != "application/json" && mt != "application/problem+json" {
		return ""
	}
	line := text
	if !whole {
		line, _, _ = strings.Cut(text, "\n")
	}
	line = strings.Join(strings.FieldsFunc(line, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	if whole {
		return line
	}
	return strings.Replace(shorten(line, maxExcerpt), " …", "…", 1)
}
