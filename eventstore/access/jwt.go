package access

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// JWT authorizes requests by bearer JSON Web Tokens (RFC 7519) signed
// with HS256 and a shared secret (NewHS256) or with the keys of a JSON Web
// Key Set (NewJWKS). A token must be signed with the one algorithm its key
// is pinned to (never "none", never HS256 with a public key), must carry
// "exp" and be within its "exp" and "nbf" (with a leeway of one minute by
// default), and must match the issuer and audience when they are set. Its
// scopes come from its "scope" claim (a space-separated string, RFC 8693)
// or its "scp" claim (an array of strings, or a string); a scope that does
// not follow the grammar is ignored. A claim of the wrong JSON type (a
// string "exp", an array "scope") refuses the token with a reason that
// names the claim.
//
// Signatures are verified by go-jose (github.com/go-jose/go-jose/v4).
type JWT struct {
	secret   []byte
	keys     map[string]jwtKey // by kid, for NewJWKS
	expected jwt.Expected
	leeway   time.Duration
	now      func() time.Time
}

type jwtKey struct {
	key any
	alg jose.SignatureAlgorithm
}

// JWTOption configures a JWT authorizer. A nil JWTOption is ignored.
type JWTOption func(*JWT)

// WithIssuer requires tokens whose "iss" is iss.
func WithIssuer(iss string) JWTOption { return func(j *JWT) { j.expected.Issuer = iss } }

// WithAudience requires tokens whose "aud" holds aud.
func WithAudience(aud string) JWTOption {
	return func(j *JWT) {
		if aud != "" {
			j.expected.AnyAudience = jwt.Audience{aud}
		}
	}
}

// WithLeeway sets how far past "exp" or before "nbf" a token is still
// taken, for clocks that differ (default one minute).
func WithLeeway(d time.Duration) JWTOption {
	return func(j *JWT) {
		if d >= 0 {
			j.leeway = d
		}
	}
}

// WithClock sets the clock tokens are checked against (default
// time.Now), for tests.
func WithClock(now func() time.Time) JWTOption {
	return func(j *JWT) {
		if now != nil {
			j.now = now
		}
	}
}

// NewHS256 returns an authorizer of tokens signed with HS256 and secret,
// which must be at least 32 bytes (ErrInvalidKey otherwise).
func NewHS256(secret []byte, opts ...JWTOption) (*JWT, error) {
	if len(secret) < 32 {
		return nil, fmt.Errorf("%w: an HS256 secret must be at least 32 bytes, this one is %d", ErrInvalidKey, len(secret))
	}
	return newJWT(&JWT{secret: append([]byte(nil), secret...)}, opts), nil
}

// NewJWKS returns an authorizer of tokens signed with the public keys of
// the JSON Web Key Set jwks (RSA, ECDSA or Ed25519). A token names its key
// by "kid" and must use that key's algorithm: the key's "alg", or for a
// key without one RS256, ES256/ES384/ES512 by curve, or EdDSA. A set with
// no usable key, or with a symmetric or private key, fails with
// ErrInvalidKey.
func NewJWKS(jwks []byte, opts ...JWTOption) (*JWT, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &set); err != nil {
		return nil, fmt.Errorf("%w: the key set is not a JWKS: %w", ErrInvalidKey, err)
	}
	j := &JWT{keys: map[string]jwtKey{}}
	for _, k := range set.Keys {
		if k.KeyID == "" {
			return nil, fmt.Errorf("%w: a key without a kid", ErrInvalidKey)
		}
		if !k.IsPublic() {
			return nil, fmt.Errorf("%w: key %q is not a public key", ErrInvalidKey, k.KeyID)
		}
		alg, err := keyAlg(k)
		if err != nil {
			return nil, err
		}
		j.keys[k.KeyID] = jwtKey{key: k.Key, alg: alg}
	}
	if len(j.keys) == 0 {
		return nil, fmt.Errorf("%w: the key set has no keys", ErrInvalidKey)
	}
	return newJWT(j, opts), nil
}

func newJWT(j *JWT, opts []JWTOption) *JWT {
	j.leeway, j.now = jwt.DefaultLeeway, time.Now
	for _, o := range opts {
		if o != nil {
			o(j)
		}
	}
	return j
}

// keyAlg returns the one algorithm a public key verifies.
func keyAlg(k jose.JSONWebKey) (jose.SignatureAlgorithm, error) {
	var want []jose.SignatureAlgorithm
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		want = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512}
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			want = []jose.SignatureAlgorithm{jose.ES256}
		case elliptic.P384():
			want = []jose.SignatureAlgorithm{jose.ES384}
		case elliptic.P521():
			want = []jose.SignatureAlgorithm{jose.ES512}
		}
	case ed25519.PublicKey:
		want = []jose.SignatureAlgorithm{jose.EdDSA}
	}
	if len(want) == 0 {
		return "", fmt.Errorf("%w: key %q: only RSA, ECDSA and Ed25519 public keys are taken", ErrInvalidKey, k.KeyID)
	}
	if k.Algorithm == "" {
		return want[0], nil
	}
	for _, a := range want {
		if string(a) == k.Algorithm {
			return a, nil
		}
	}
	return "", fmt.Errorf("%w: key %q: algorithm %q does not fit the key", ErrInvalidKey, k.KeyID, k.Algorithm)
}

// Authorize allows a request whose bearer token is a valid JWT with a
// scope that allows op.
func (j *JWT) Authorize(r *http.Request, op Op) error {
	raw, ok := BearerToken(r)
	if !ok {
		return &UnauthenticatedError{Reason: "no bearer token (send Authorization: Bearer <token>)"}
	}
	scopes, err := j.verify(raw)
	if err != nil {
		return &UnauthenticatedError{Reason: err.Error(), Invalid: true}
	}
	return scopes.check(op)
}

// scopeClaims are the claims scopes are read from.
type scopeClaims struct {
	Scope string          `json:"scope"`
	Scp   json.RawMessage `json:"scp"`
}

// verify checks raw's signature and claims and returns its scopes; its
// errors are short reasons for the client.
func (j *JWT) verify(raw string) (Scopes, error) {
	key, alg, err := j.keyFor(raw)
	if err != nil {
		return nil, err
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{alg})
	if err != nil {
		return nil, errors.New("token not signed with the expected algorithm " + string(alg))
	}
	// The signature first, then the claims one by one: a claim of the
	// wrong JSON type (a string exp, an array scope) made the whole
	// decoding fail, which was told as a bad signature.
	var payload json.RawMessage
	if err := tok.Claims(key, &payload); err != nil {
		return nil, errors.New("bad token signature")
	}
	var std jwt.Claims
	var sc scopeClaims
	if err := checkClaimTypes(payload); err != nil {
		return nil, err
	}
	if json.Unmarshal(payload, &std) != nil || json.Unmarshal(payload, &sc) != nil {
		return nil, errors.New("token's claims are malformed")
	}
	if std.Expiry == nil {
		return nil, errors.New("token without exp")
	}
	if err := std.ValidateWithLeeway(j.expected.WithTime(j.now()), j.leeway); err != nil {
		switch {
		case errors.Is(err, jwt.ErrExpired):
			return nil, errors.New("token expired")
		case errors.Is(err, jwt.ErrNotValidYet):
			return nil, errors.New("token not valid yet")
		default:
			return nil, errors.New("token not for this server (issuer or audience)")
		}
	}
	return sc.scopes(), nil
}

// claimTypes are the JSON types of the registered claims a token's are
// read as (RFC 7519 §4.1) and of the scope claims: "number" a NumericDate,
// "string", "strings" a string or an array of strings.
var claimTypes = []struct{ name, kind string }{
	{"exp", "number"}, {"nbf", "number"}, {"iat", "number"},
	{"iss", "string"}, {"sub", "string"}, {"jti", "string"}, {"aud", "strings"},
	{"scope", "string"}, {"scp", "strings"},
}

// checkClaimTypes says which claim of payload, a signed token's, has the
// wrong JSON type: a short reason for the client, naming the claim and
// never its value.
func checkClaimTypes(payload []byte) error {
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(payload, &claims); err != nil {
		return errors.New("token's claims are not a JSON object")
	}
	for _, c := range claimTypes {
		v, ok := claims[c.name]
		if !ok || string(v) == "null" {
			continue
		}
		var num float64
		var str string
		var strs []string
		switch c.kind {
		case "number":
			if json.Unmarshal(v, &num) != nil {
				return fmt.Errorf("token's %q claim is not a number (seconds since 1970)", c.name)
			}
		case "string":
			if json.Unmarshal(v, &str) != nil {
				if c.name == "scope" {
					return errors.New(`token's "scope" claim is not a string (scopes separated by spaces; "scp" takes an array)`)
				}
				return fmt.Errorf("token's %q claim is not a string", c.name)
			}
		case "strings":
			if json.Unmarshal(v, &str) != nil && json.Unmarshal(v, &strs) != nil {
				return fmt.Errorf("token's %q claim is neither a string nor an array of strings", c.name)
			}
		}
	}
	return nil
}

// keyFor picks the key and algorithm for raw by its header's kid (JWKS)
// or the secret (HS256).
func (j *JWT) keyFor(raw string) (any, jose.SignatureAlgorithm, error) {
	if j.keys == nil {
		return j.secret, jose.HS256, nil
	}
	// The header is parsed to find the kid only; ParseSigned checks the
	// algorithm next, against the key's.
	tok, err := jwt.ParseSigned(raw, allAsymmetric)
	if err != nil || len(tok.Headers) != 1 {
		return nil, "", errors.New("not a signed JWT with an accepted algorithm")
	}
	k, ok := j.keys[tok.Headers[0].KeyID]
	if !ok {
		return nil, "", errors.New("token signed by an unknown key (kid)")
	}
	return k.key, k.alg, nil
}

var allAsymmetric = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA}

// scopes reads "scope" and "scp", skipping scopes that do not parse.
func (c scopeClaims) scopes() Scopes {
	words := strings.Fields(c.Scope)
	if len(c.Scp) > 0 {
		var arr []string
		var one string
		if json.Unmarshal(c.Scp, &arr) == nil {
			words = append(words, arr...)
		} else if json.Unmarshal(c.Scp, &one) == nil {
			words = append(words, strings.Fields(one)...)
		}
	}
	var out Scopes
	for _, w := range words {
		if s, err := ParseScope(w); err == nil {
			out = append(out, s)
		}
	}
	return out
}
