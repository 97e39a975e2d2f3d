package access_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/rewindhq/rewind/eventstore/access"
)

// TestConfigTokensAndJWT: the flags of a server with both a tokens file
// and an HS256 secret accept either credential.
func TestConfigTokensAndJWT(t *testing.T) {
	dir := t.TempDir()
	token, line, err := access.NewToken("read:orders")
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("0123456789abcdef0123456789abcdef")
	tokensFile, secretFile := filepath.Join(dir, "tokens"), filepath.Join(dir, "secret")
	if err := os.WriteFile(tokensFile, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secretFile, append(secret, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	var c access.Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	env := map[string]string{"REWIND_JWT_SECRET_FILE": secretFile}
	c.RegisterFlags(fs, func(k string) string { return env[k] })
	if err := fs.Parse([]string{"--auth-tokens", tokensFile, "--allow-origin", "http://a.test,http://b.test"}); err != nil {
		t.Fatal(err)
	}
	if !c.Authenticates() || len(c.AllowOrigins) != 2 {
		t.Fatalf("config %+v", c)
	}
	a, err := c.Authorizer()
	if err != nil {
		t.Fatal(err)
	}
	jwtToken := sign(t, jose.HS256, secret, "", claims("read:orders", time.Now().Add(time.Hour)))
	read := access.Op{Action: access.Read, Resource: "orders/1"}
	for _, tok := range []string{token, jwtToken} {
		if err := a.Authorize(bearer(tok), read); err != nil {
			t.Errorf("token %.10q: %v", tok, err)
		}
	}
	if err := a.Authorize(bearer(jwtToken), access.Op{Action: access.Write, Resource: "orders/1"}); !errors.Is(err, access.ErrForbidden) {
		t.Errorf("a JWT without the scope: %v, want ErrForbidden", err)
	}
	if err := a.Authorize(bearer("nope"), read); !errors.Is(err, access.ErrUnauthenticated) {
		t.Errorf("an unknown token: %v", err)
	}
	// A static token that is not in the file is refused by both: the
	// reason says what each found, not only the JWT's "not signed".
	err = a.Authorize(bearer("rwt_nope"), read)
	var unauth *access.UnauthenticatedError
	if !errors.As(err, &unauth) || !unauth.Invalid || !strings.Contains(unauth.Reason, "unknown token") || !strings.Contains(unauth.Reason, "; ") {
		t.Errorf("an unknown static token on tokens and JWTs: %v, want both refusals' reasons", err)
	}
}
