package access_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/rewindhq/rewind/eventstore/access"
)

var jwtNow = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// sign makes a compact JWT signed with key under alg (kid in the header
// when not empty) with claims.
func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func claims(scope any, exp time.Time) map[string]any {
	c := map[string]any{"sub": "ada", "exp": exp.Unix(), "iat": jwtNow.Unix(), "iss": "https://issuer.test", "aud": "rewind"}
	switch s := scope.(type) {
	case string:
		c["scope"] = s
	case []string:
		c["scp"] = s
	}
	return c
}

func TestJWTHS256(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	j, err := access.NewHS256(secret, access.WithClock(func() time.Time { return jwtNow }), access.WithLeeway(0),
		access.WithIssuer("https://issuer.test"), access.WithAudience("rewind"))
	if err != nil {
		t.Fatal(err)
	}
	later := jwtNow.Add(time.Hour)
	noExp := claims("read", later)
	delete(noExp, "exp")
	notYet := claims("read", later)
	notYet["nbf"] = jwtNow.Add(time.Minute).Unix()
	wrongAud := claims("read", later)
	wrongAud["aud"] = "someone-else"
	read := access.Op{Action: access.Read, Resource: "orders/1"}
	for _, c := range []struct {
		name  string
		token string
		op    access.Op
		want  error
	}{
		{"good, scope string", sign(t, jose.HS256, secret, "", claims("read:orders write:chat/*", later)), read, nil},
		{"good, scp array", sign(t, jose.HS256, secret, "", claims([]string{"read:orders"}, later)), read, nil},
		{"scope missing", sign(t, jose.HS256, secret, "", claims("read:users", later)), read, access.ErrForbidden},
		{"expired", sign(t, jose.HS256, secret, "", claims("read", jwtNow.Add(-time.Second))), read, access.ErrUnauthenticated},
		{"not yet valid", sign(t, jose.HS256, secret, "", notYet), read, access.ErrUnauthenticated},
		{"no exp", sign(t, jose.HS256, secret, "", noExp), read, access.ErrUnauthenticated},
		{"wrong audience", sign(t, jose.HS256, secret, "", wrongAud), read, access.ErrUnauthenticated},
		{"wrong key", sign(t, jose.HS256, []byte("another secret, also 32 bytes!!!"), "", claims("read", later)), read, access.ErrUnauthenticated},
		{"wrong alg HS384", sign(t, jose.HS384, append(secret, secret...), "", claims("read", later)), read, access.ErrUnauthenticated},
		{"alg none", unsigned(claims("read", later)), read, access.ErrUnauthenticated},
		{"garbage", "not.a.jwt", read, access.ErrUnauthenticated},
	} {
		err := j.Authorize(bearer(c.token), c.op)
		if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := access.NewHS256([]byte("short")); !errors.Is(err, access.ErrInvalidKey) {
		t.Errorf("short secret: %v", err)
	}
}

// A signed token whose claims have the wrong JSON types is refused (401)
// saying which claim, not "bad token signature", and never quoting the
// token.
func TestJWTClaimTypes(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	j, err := access.NewHS256(secret, access.WithClock(func() time.Time { return jwtNow }))
	if err != nil {
		t.Fatal(err)
	}
	later := jwtNow.Add(time.Hour)
	with := func(k string, v any) map[string]any {
		c := claims("read", later)
		c[k] = v
		return c
	}
	read := access.Op{Action: access.Read, Resource: "orders/1"}
	for _, c := range []struct {
		claims map[string]any
		want   string
	}{
		{with("exp", fmt.Sprint(later.Unix())), `"exp" claim is not a number`},
		{with("nbf", "yesterday"), `"nbf" claim is not a number`},
		{with("scope", []string{"read:orders"}), `"scope" claim is not a string`},
		{with("scp", 42), `"scp" claim is neither a string nor an array of strings`},
		{with("aud", map[string]string{"a": "b"}), `"aud" claim is neither`},
		{with("iss", 7), `"iss" claim is not a string`},
	} {
		tok := sign(t, jose.HS256, secret, "", c.claims)
		err := j.Authorize(bearer(tok), read)
		if !errors.Is(err, access.ErrUnauthenticated) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "signature") {
			t.Errorf("claims %v: %v, want 401 saying %s", c.claims, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), tok[len(tok)-20:]) {
			t.Errorf("the error quotes the token: %v", err)
		}
	}
	tok := sign(t, jose.HS256, []byte("another secret, also 32 bytes!!!"), "", with("exp", "soon"))
	if err := j.Authorize(bearer(tok), read); err == nil || !strings.Contains(err.Error(), "bad token signature") {
		t.Errorf("a wrong key with a string exp: %v, want a bad signature", err)
	}

	// Over HTTP, as a server answers it: 401 with the reason.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := j.Authorize(r, read); err != nil {
			code, reason := access.Refuse(w, err)
			http.Error(w, reason, code)
		}
	}))
	defer srv.Close()
	tok = sign(t, jose.HS256, secret, "", with("exp", "soon"))
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), `"exp" claim is not a number`) ||
		strings.Contains(string(body)+resp.Header.Get("WWW-Authenticate"), tok[len(tok)-20:]) {
		t.Errorf("a string exp over HTTP: %d %q (%s)", resp.StatusCode, body, resp.Header.Get("WWW-Authenticate"))
	}
}

// unsigned is a token with "alg": "none".
func unsigned(c map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	p, _ := json.Marshal(c)
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(p) + "."
}

func TestJWKS(t *testing.T) {
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecPriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherPriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	set, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: edPub, KeyID: "ed", Use: "sig"},
		{Key: &ecPriv.PublicKey, KeyID: "ec", Algorithm: "ES256", Use: "sig"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	j, err := access.NewJWKS(set, access.WithClock(func() time.Time { return jwtNow }))
	if err != nil {
		t.Fatal(err)
	}
	later := jwtNow.Add(time.Hour)
	write := access.Op{Action: access.Write, Resource: "chat/room1"}
	// The symmetric key an attacker would use in an alg confusion: the
	// Ed25519 public key's bytes as an HS256 secret.
	confusion := sign(t, jose.HS256, append([]byte(edPub), edPub...), "ed", claims("write", later))
	for _, c := range []struct {
		name  string
		token string
		want  error
	}{
		{"Ed25519", sign(t, jose.EdDSA, edPriv, "ed", claims("write:chat/*", later)), nil},
		{"ES256", sign(t, jose.ES256, ecPriv, "ec", claims([]string{"write"}, later)), nil},
		{"expired", sign(t, jose.EdDSA, edPriv, "ed", claims("write", jwtNow.Add(-2*time.Minute))), access.ErrUnauthenticated},
		{"unknown kid", sign(t, jose.EdDSA, edPriv, "nope", claims("write", later)), access.ErrUnauthenticated},
		{"no kid", sign(t, jose.EdDSA, edPriv, "", claims("write", later)), access.ErrUnauthenticated},
		{"wrong key for kid", sign(t, jose.ES256, otherPriv, "ec", claims("write", later)), access.ErrUnauthenticated},
		{"kid of another algorithm", sign(t, jose.ES256, ecPriv, "ed", claims("write", later)), access.ErrUnauthenticated},
		{"HS256 with the public key", confusion, access.ErrUnauthenticated},
		{"scope missing", sign(t, jose.EdDSA, edPriv, "ed", claims("read", later)), access.ErrForbidden},
	} {
		err := j.Authorize(bearer(c.token), write)
		if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	for _, bad := range []string{`{}`, `{"keys":[]}`, `not json`,
		`{"keys":[{"kty":"oct","k":"` + base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("k", 32))) + `","kid":"s"}]}`} {
		if _, err := access.NewJWKS([]byte(bad)); !errors.Is(err, access.ErrInvalidKey) {
			t.Errorf("NewJWKS(%s): %v, want ErrInvalidKey", bad, err)
		}
	}
	priv, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: edPriv, KeyID: "p"}}})
	if _, err := access.NewJWKS(priv); !errors.Is(err, access.ErrInvalidKey) {
		t.Errorf("a private key in the set: %v", err)
	}
}
