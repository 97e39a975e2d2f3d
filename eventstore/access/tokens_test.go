package access_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rewindhq/rewind/eventstore/access"
)

func bearer(token string) *http.Request {
	r := httptest.NewRequest("GET", "http://127.0.0.1/v1/stream/x", nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return r
}

func TestTokens(t *testing.T) {
	reader, readLine, err := access.NewToken("read:orders")
	if err != nil {
		t.Fatal(err)
	}
	writer, writeLine, err := access.NewToken("write:chat/*", "read")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(reader, access.TokenPrefix) || strings.Contains(readLine, reader) {
		t.Fatalf("token %q, line %q: the line must hold the hash, not the token", reader, readLine)
	}
	file := "# tokens\n\n" + readLine + "  # the dashboard\n" + writeLine + "\n"
	toks, err := access.ParseTokens(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	op := func(a access.Action, res string) access.Op { return access.Op{Action: a, Resource: res} }
	for _, c := range []struct {
		token string
		op    access.Op
		want  error
		scope string
	}{
		{"", op(access.Read, "orders/1"), access.ErrUnauthenticated, ""},
		{"rwt_not-a-token", op(access.Read, "orders/1"), access.ErrUnauthenticated, ""},
		{reader, op(access.Read, "orders/1"), nil, ""},
		{reader, op(access.Write, "orders/1"), access.ErrForbidden, "write:orders/1"},
		{reader, op(access.Read, "users/1"), access.ErrForbidden, "read:users/1"},
		{writer, op(access.Write, "chat/room1"), nil, ""},
		{writer, op(access.Read, "users/1"), nil, ""},
		{writer, op(access.Delete, "chat/room1"), access.ErrForbidden, "delete:chat/room1"},
	} {
		err := toks.Authorize(bearer(c.token), c.op)
		if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("token %.8q %v: %v, want %v", c.token, c.op, err, c.want)
		}
		var fe *access.ForbiddenError
		if c.scope != "" && (!errors.As(err, &fe) || fe.Scope != c.scope) {
			t.Errorf("token %.8q %v: %v, want the missing scope %q", c.token, c.op, err, c.scope)
		}
	}
}

func TestParseTokensRefusesMalformedLines(t *testing.T) {
	good := access.HashToken("x")
	for _, file := range []string{
		"rwt_plaintexttoken read",
		"sha256:abcd read",
		good,
		good + " read:orders frobnicate",
		good + " read:",
	} {
		if _, err := access.ParseTokens(strings.NewReader(file)); !errors.Is(err, access.ErrInvalidTokens) {
			t.Errorf("%q: %v, want ErrInvalidTokens", file, err)
		}
	}
	if _, _, err := access.NewToken(); !errors.Is(err, access.ErrInvalidScope) {
		t.Errorf("NewToken without scopes: %v", err)
	}
}

func TestRefuse(t *testing.T) {
	w := httptest.NewRecorder()
	code, reason := access.Refuse(w, &access.UnauthenticatedError{Reason: "no bearer token"})
	if code != 401 || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), `Bearer realm="rewind"`) || reason == "" {
		t.Errorf("401: %d %q %v", code, reason, w.Header())
	}
	w = httptest.NewRecorder()
	code, reason = access.Refuse(w, &access.ForbiddenError{Scope: "write:chat/a"})
	if code != 403 || !strings.Contains(reason, "write:chat/a") || !strings.Contains(w.Header().Get("WWW-Authenticate"), `scope="write:chat/a"`) {
		t.Errorf("403: %d %q %v", code, reason, w.Header())
	}
	w = httptest.NewRecorder()
	code, reason = access.Refuse(w, errors.New("database password is hunter2"))
	if code != 500 || strings.Contains(reason, "hunter2") {
		t.Errorf("500: %d %q", code, reason)
	}
}
