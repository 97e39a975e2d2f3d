package eventstore

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"strings"

	"github.com/nats-io/nats.go"
)

// WithNATSCredentials makes Connect authenticate with a NATS credentials
// file (a user JWT and its nkey seed, as nsc writes it).
func WithNATSCredentials(file string) Option {
	return func(c *config) error {
		if file == "" {
			return fmt.Errorf("%w: empty credentials file", ErrInvalidOption)
		}
		// Read now, so that a missing or wrong file is a bad option
		// rather than a failure to connect.
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("%w: NATS credentials: %w", ErrInvalidOption, err)
		}
		if !bytes.Contains(b, []byte("BEGIN NATS USER JWT")) || !bytes.Contains(b, []byte("NKEY SEED")) {
			return fmt.Errorf("%w: NATS credentials: %s holds no user JWT and nkey seed (as nsc writes them)", ErrInvalidOption, file)
		}
		c.natsOpts = append(c.natsOpts, nats.UserCredentials(file))
		return nil
	}
}

// WithNATSNKey makes Connect authenticate with the nkey whose seed is in
// seedFile.
func WithNATSNKey(seedFile string) Option {
	return func(c *config) error {
		o, err := nats.NkeyOptionFromSeed(seedFile)
		if err != nil {
			return fmt.Errorf("%w: nkey seed: %w", ErrInvalidOption, err)
		}
		c.natsOpts = append(c.natsOpts, o)
		return nil
	}
}

// WithNATSTLS makes Connect speak TLS, trusting the CA certificates in
// caFile (the system's when empty) and, with certFile and keyFile,
// presenting that client certificate.
func WithNATSTLS(caFile, certFile, keyFile string) Option {
	return func(c *config) error {
		if (certFile == "") != (keyFile == "") {
			return fmt.Errorf("%w: a NATS client certificate needs both its certificate and key files", ErrInvalidOption)
		}
		// Loaded now, so that a missing or wrong file is a bad option
		// rather than a failure to connect.
		if caFile != "" {
			pem, err := os.ReadFile(caFile)
			if err != nil {
				return fmt.Errorf("%w: NATS CA certificates: %w", ErrInvalidOption, err)
			}
			if !x509.NewCertPool().AppendCertsFromPEM(pem) {
				return fmt.Errorf("%w: NATS CA certificates: %s holds no PEM certificate", ErrInvalidOption, caFile)
			}
			c.natsOpts = append(c.natsOpts, nats.RootCAs(caFile))
		}
		if certFile != "" {
			if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
				return fmt.Errorf("%w: NATS client certificate: %w", ErrInvalidOption, err)
			}
			c.natsOpts = append(c.natsOpts, nats.ClientCert(certFile, keyFile))
		}
		if caFile == "" && certFile == "" {
			c.natsOpts = append(c.natsOpts, nats.Secure())
		}
		return nil
	}
}

// WithListenToken requires NATS clients of the embedded server's listener
// (WithListen) to authenticate with token (nats.Token, or the URL
// nats://TOKEN@host:port). Without it, WithListen takes only a loopback
// host.
func WithListenToken(token string) Option {
	return func(c *config) error {
		if len(token) < 16 {
			return fmt.Errorf("%w: a listener token of at least 16 bytes", ErrInvalidOption)
		}
		c.listenToken = token
		return nil
	}
}

// checkListen refuses a listener beyond loopback without authentication.
func (c *config) checkListen() error {
	if !c.listen || c.listenToken != "" || loopbackHost(c.host) {
		return nil
	}
	return fmt.Errorf("%w: WithListen(%q) listens beyond loopback with no authentication: give WithListenToken, or listen on 127.0.0.1",
		ErrInvalidOption, c.host)
}

func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && ip.Unmap().IsLoopback()
}

// RedactURL returns a URL (or a comma-separated list of them: a NATS
// cluster's) with the user info (user, password or token) of each
// replaced by "REDACTED", for logs, errors and messages. A URL that does
// not parse keeps its scheme and what follows its last "@"; a
// "user:password@host" without a scheme, which NATS takes as a nats://
// URL (and url.Parse as the scheme "user"), becomes "REDACTED@host".
func RedactURL(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = redactOne(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}

// redactOne is RedactURL of one URL.
func redactOne(p string) string {
	prefix, _, host, ok := splitUserInfo(p)
	if !ok {
		return p
	}
	return prefix + "REDACTED@" + host
}

// indexDirName names Connect's default index directory for natsURL: a
// hash of the URLs without their user info, so that no secret ends up in
// a directory name and a change of password keeps the index. (Before
// splitUserInfo, a "user:password@host" without a scheme was hashed with
// its password: such a URL gets a new directory once, and its index is
// rebuilt there.)
func indexDirName(natsURL, jsName string) string {
	parts := strings.Split(natsURL, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if u, err := url.Parse(p); err == nil && (u.User != nil || !strings.Contains(p, "@")) {
			u.User = nil
			parts[i] = u.String() // as before splitUserInfo: the same directory for a URL that parses
		} else if prefix, _, host, ok := splitUserInfo(p); ok {
			parts[i] = prefix + host
		}
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, ",")))
	return hex.EncodeToString(sum[:8]) + "-" + jsName
}

// splitUserInfo splits one URL of a server list into its scheme's prefix
// ("nats://", or "" for none), its user info as written (user and
// password, or a token) and what follows it; ok is false for a URL with
// no user info. It takes what url.Parse refuses or reads otherwise than
// NATS does: a password with a character that should have been escaped,
// and "user:password@host" without a scheme, which NATS takes as
// nats://. The user info is what comes before the last "@" of the
// authority (up to the first "/", "?" or "#"); a URL that does not parse
// and has no "@" there loses what comes before its last "@" anywhere,
// since a secret shown is worse than a host hidden.
func splitUserInfo(p string) (prefix, info, host string, ok bool) {
	rest := p
	if scheme, r, found := strings.Cut(p, "://"); found {
		prefix, rest = scheme+"://", r
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		if _, err := url.Parse(p); err == nil {
			return "", "", p, false
		}
		if at = strings.LastIndex(rest, "@"); at < 0 {
			return "", "", p, false
		}
	}
	return prefix, rest[:at], rest[at+1:], true
}

// redactError hides the secrets of natsURL's user info wherever the text
// of err repeats them; errors.Is and errors.As still see err.
func redactError(err error, natsURL string) error {
	var secrets []string
	for p := range strings.SplitSeq(natsURL, ",") {
		_, info, _, _ := splitUserInfo(strings.TrimSpace(p))
		// With a password, the password is the secret; alone, the user
		// info is a token.
		if _, pw, ok := strings.Cut(info, ":"); ok {
			info = pw
		}
		if info == "" {
			continue
		}
		secrets = append(secrets, info)
		if plain, err := url.PathUnescape(info); err == nil && plain != info {
			secrets = append(secrets, plain)
		}
	}
	if len(secrets) == 0 {
		return err
	}
	text := err.Error()
	for _, s := range secrets {
		text = strings.ReplaceAll(text, s, "REDACTED")
	}
	return &redactedError{text: text, err: err}
}

type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }
