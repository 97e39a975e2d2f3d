package access

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// TokenPrefix starts every token NewToken makes, so that a leaked one is
// easy to recognise (by secret scanners too).
const TokenPrefix = "rwt_"

// Tokens authorizes requests by static bearer tokens, each with its
// scopes. The server keeps only the tokens' SHA-256 hashes (a tokens file,
// see ParseTokens): a presented token is hashed and compared with every
// hash in constant time, so neither the file nor the timing of an answer
// gives a token away.
type Tokens struct {
	entries []tokenEntry
}

type tokenEntry struct {
	hash   [sha256.Size]byte
	scopes Scopes
}

// NewToken makes a new random token (256 bits) with the line of a tokens
// file that grants it scopes. Give the token to the client; put the line
// in the server's file.
func NewToken(scopes ...string) (token, line string, err error) {
	if len(scopes) == 0 {
		return "", "", fmt.Errorf("%w: a token needs at least one scope", ErrInvalidScope)
	}
	if _, err := ParseScopes(scopes...); err != nil {
		return "", "", err
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("access: new token: %w", err)
	}
	token = TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token) + " " + strings.Join(scopes, " "), nil
}

// HashToken returns a token's hash as a tokens file holds it:
// "sha256:" and 64 hex digits.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ParseTokens reads a tokens file: one token a line, its hash
// ("sha256:<64 hex digits>", see HashToken) then its scopes, separated by
// spaces; empty lines and lines starting with # are skipped, and a #
// after the scopes starts a comment. A malformed line fails with
// ErrInvalidTokens naming its number.
func ParseTokens(r io.Reader) (*Tokens, error) {
	t := &Tokens{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		e, err := parseTokenLine(fields)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrInvalidTokens, n, err)
		}
		t.entries = append(t.entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidTokens, err)
	}
	return t, nil
}

func parseTokenLine(fields []string) (tokenEntry, error) {
	var e tokenEntry
	hexHash, ok := strings.CutPrefix(fields[0], "sha256:")
	if !ok {
		return e, fmt.Errorf("the line must start with the token's hash, sha256:<64 hex digits> (rewind token makes one)")
	}
	raw, err := hex.DecodeString(hexHash)
	if err != nil || len(raw) != sha256.Size {
		return e, fmt.Errorf("the hash is not 64 hex digits")
	}
	copy(e.hash[:], raw)
	if len(fields) < 2 {
		return e, fmt.Errorf("a token without scopes")
	}
	if e.scopes, err = ParseScopes(fields[1:]...); err != nil {
		return e, err
	}
	return e, nil
}

// LoadTokens reads the tokens file at path (see ParseTokens).
func LoadTokens(path string) (*Tokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidTokens, err)
	}
	defer f.Close()
	return ParseTokens(f)
}

// Authorize allows a request whose bearer token is in the file with a
// scope that allows op.
func (t *Tokens) Authorize(r *http.Request, op Op) error {
	token, ok := BearerToken(r)
	if !ok {
		return &UnauthenticatedError{Reason: "no bearer token (send Authorization: Bearer <token>)"}
	}
	scopes, ok := t.lookup(token)
	if !ok {
		return &UnauthenticatedError{Reason: "unknown token", Invalid: true}
	}
	return scopes.check(op)
}

// lookup finds token's scopes, comparing its hash with every entry's in
// constant time.
func (t *Tokens) lookup(token string) (Scopes, bool) {
	sum := sha256.Sum256([]byte(token))
	var found Scopes
	match := 0
	for i := range t.entries {
		if subtle.ConstantTimeCompare(sum[:], t.entries[i].hash[:]) == 1 && match == 0 {
			found, match = t.entries[i].scopes, 1
		}
	}
	return found, match == 1
}
