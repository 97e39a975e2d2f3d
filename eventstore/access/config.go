package access

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// Config is how a server's command line picks its access control without
// code: "rewind serve" and the example register its flags (RegisterFlags)
// and build their Authorizer and TLS configuration from it.
type Config struct {
	// TokensFile is a tokens file (ParseTokens).
	TokensFile string
	// JWTSecretFile holds an HS256 secret (its bytes, trailing newline
	// removed); JWKSFile a JSON Web Key Set. Either turns JWTs on.
	JWTSecretFile, JWKSFile string
	// JWTIssuer and JWTAudience, when set, must match a token's.
	JWTIssuer, JWTAudience string
	// InsecureNoAuth lets a server without authentication listen beyond
	// loopback, and answer clients there (Anonymous.Remote).
	InsecureNoAuth bool
	// AllowOrigins and AllowHosts extend Anonymous (auth off).
	AllowOrigins, AllowHosts []string
	// TLSCert, TLSKey and TLSClientCA are PEM files (TLSConfig).
	TLSCert, TLSKey, TLSClientCA string
}

// RegisterFlags registers the flags of c on fs, each with its environment
// variable (read with getenv, os.Getenv if nil) as the default.
func (c *Config) RegisterFlags(fs *flag.FlagSet, getenv func(string) string) {
	if getenv == nil {
		getenv = os.Getenv
	}
	fs.StringVar(&c.TokensFile, "auth-tokens", getenv("REWIND_AUTH_TOKENS"), "file of bearer tokens' hashes and scopes (rewind token makes its lines) [REWIND_AUTH_TOKENS]")
	fs.StringVar(&c.JWTSecretFile, "jwt-secret-file", getenv("REWIND_JWT_SECRET_FILE"), "file holding the HS256 secret of bearer JWTs [REWIND_JWT_SECRET_FILE]")
	fs.StringVar(&c.JWKSFile, "jwt-jwks", getenv("REWIND_JWT_JWKS"), "JSON Web Key Set file of the public keys of bearer JWTs [REWIND_JWT_JWKS]")
	fs.StringVar(&c.JWTIssuer, "jwt-issuer", getenv("REWIND_JWT_ISSUER"), "the iss a JWT must have, if set [REWIND_JWT_ISSUER]")
	fs.StringVar(&c.JWTAudience, "jwt-audience", getenv("REWIND_JWT_AUDIENCE"), "an aud a JWT must have, if set [REWIND_JWT_AUDIENCE]")
	fs.BoolVar(&c.InsecureNoAuth, "insecure-no-auth", isTrue(getenv("REWIND_INSECURE_NO_AUTH")), "without authentication, listen beyond loopback anyway: anyone who reaches the port can read, write and delete everything [REWIND_INSECURE_NO_AUTH]")
	fs.Func("allow-origin", "without authentication, also let pages of this origin change data, like http://localhost:5173 (repeat or comma-separate) [REWIND_ALLOW_ORIGINS]", listFlag(&c.AllowOrigins))
	fs.Func("allow-host", "also answer requests whose Host is this name (repeat or comma-separate); IP addresses and localhost always are [REWIND_ALLOW_HOSTS]", listFlag(&c.AllowHosts))
	fs.StringVar(&c.TLSCert, "tls-cert", getenv("REWIND_TLS_CERT"), "PEM certificate (chain) to serve HTTPS with [REWIND_TLS_CERT]")
	fs.StringVar(&c.TLSKey, "tls-key", getenv("REWIND_TLS_KEY"), "PEM private key of --tls-cert [REWIND_TLS_KEY]")
	fs.StringVar(&c.TLSClientCA, "tls-client-ca", getenv("REWIND_TLS_CLIENT_CA"), "PEM CA certificates: clients must present a certificate signed by one [REWIND_TLS_CLIENT_CA]")
	_ = listFlag(&c.AllowOrigins)(getenv("REWIND_ALLOW_ORIGINS"))
	_ = listFlag(&c.AllowHosts)(getenv("REWIND_ALLOW_HOSTS"))
}

func isTrue(s string) bool {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func listFlag(dst *[]string) func(string) error {
	return func(v string) error {
		for item := range strings.SplitSeq(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				*dst = append(*dst, item)
			}
		}
		return nil
	}
}

// Authenticates reports whether c turns authentication on: tokens, JWTs,
// or client certificates.
func (c *Config) Authenticates() bool {
	return c.TokensFile != "" || c.JWTSecretFile != "" || c.JWKSFile != "" || c.TLSClientCA != ""
}

// Authorizer returns the Authorizer c describes: Tokens, JWT or both
// (Either), or Anonymous with c's origins and hosts when c has neither.
func (c *Config) Authorizer() (Authorizer, error) {
	var as []Authorizer
	if c.TokensFile != "" {
		t, err := LoadTokens(c.TokensFile)
		if err != nil {
			return nil, err
		}
		as = append(as, t)
	}
	opts := []JWTOption{WithIssuer(c.JWTIssuer), WithAudience(c.JWTAudience)}
	if c.JWTSecretFile != "" && c.JWKSFile != "" {
		return nil, fmt.Errorf("%w: give a JWT secret or a key set, not both", ErrInvalidKey)
	}
	if c.JWTSecretFile != "" {
		secret, err := os.ReadFile(c.JWTSecretFile)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
		}
		j, err := NewHS256([]byte(strings.TrimRight(string(secret), "\r\n")), opts...)
		if err != nil {
			return nil, err
		}
		as = append(as, j)
	}
	if c.JWKSFile != "" {
		set, err := os.ReadFile(c.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
		}
		j, err := NewJWKS(set, opts...)
		if err != nil {
			return nil, err
		}
		as = append(as, j)
	}
	switch len(as) {
	case 0:
		return Anonymous{Origins: c.AllowOrigins, Hosts: c.AllowHosts, Remote: c.InsecureNoAuth}, nil
	case 1:
		return as[0], nil
	}
	return Either(as...), nil
}

// TLS returns the TLS configuration c describes, nil without a
// certificate.
func (c *Config) TLS() (*tls.Config, error) {
	if c.TLSCert == "" && c.TLSKey == "" {
		if c.TLSClientCA != "" {
			return nil, errors.New("access: --tls-client-ca needs --tls-cert and --tls-key")
		}
		return nil, nil
	}
	return TLSConfig(c.TLSCert, c.TLSKey, c.TLSClientCA)
}

// CheckListen refuses (ErrInsecureListen) an address beyond loopback for a
// server without authentication, unless InsecureNoAuth.
func (c *Config) CheckListen(addr string) error {
	if c.Authenticates() || c.InsecureNoAuth {
		return nil
	}
	return CheckListen(addr)
}
