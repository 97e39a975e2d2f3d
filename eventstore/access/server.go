package access

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/netutil"
)

// The limits NewServer sets.
const (
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout = 10 * time.Second
	// BodyTimeout bounds reading a request's body, from the end of its
	// headers. It is a per-request read deadline, lifted when the body has
	// been read, and not http.Server.ReadTimeout, which would also cut
	// long-polls and SSE responses that outlast it.
	BodyTimeout = 2 * time.Minute
	// IdleTimeout closes a keep-alive connection idle this long.
	IdleTimeout = 2 * time.Minute
	// MaxHeaderBytes bounds a request's headers.
	MaxHeaderBytes = 64 << 10
)

// ServerOption configures NewServer. A nil ServerOption is ignored.
type ServerOption func(*http.Server)

// WithTLS serves TLS with cfg (see TLSConfig).
func WithTLS(cfg *tls.Config) ServerOption {
	return func(s *http.Server) { s.TLSConfig = cfg }
}

// WithErrorLog sets the server's log of connection errors (the standard
// logger by default). A failed TLS handshake goes to it once a second at
// most, with the count of those left out.
func WithErrorLog(l *log.Logger) ServerOption {
	return func(s *http.Server) { s.ErrorLog = l }
}

// NewServer returns an http.Server for h with every limit set:
// ReadHeaderTimeout, a BodyTimeout per request, IdleTimeout and
// MaxHeaderBytes. It has no WriteTimeout: long-poll and SSE answers last
// as long as they must, and the handlers bound each response's writes
// with http.ResponseController. Serve it with Serve, which speaks TLS when
// WithTLS was given.
func NewServer(h http.Handler, opts ...ServerOption) *http.Server {
	s := &http.Server{
		Handler:           bodyDeadline(h, BodyTimeout),
		ReadHeaderTimeout: ReadHeaderTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	s.ErrorLog = sparingHandshakes(s.ErrorLog)
	return s
}

// handshakeLogGap is how often the server's log takes a failed TLS
// handshake at most.
const handshakeLogGap = time.Second

// sparingHandshakes returns l (the standard logger when nil) but for its
// lines about failed TLS handshakes, of which it passes one a second and
// counts the rest in the next: anyone who reaches the port causes one
// with each connection, no credential needed, and could write thousands
// of lines a second to the server's log.
func sparingHandshakes(l *log.Logger) *log.Logger {
	if l == nil {
		l = log.Default()
	}
	return log.New(&handshakeLimiter{out: l.Writer()}, l.Prefix(), l.Flags())
}

// handshakeLimiter is sparingHandshakes' writer: it gets one line per
// Write (log.Logger's).
type handshakeLimiter struct {
	out     io.Writer
	mu      sync.Mutex
	last    time.Time // when a handshake's line last passed
	dropped int       // handshakes' lines dropped since
}

func (h *handshakeLimiter) Write(p []byte) (int, error) {
	if !bytes.Contains(p, []byte("TLS handshake error")) {
		return h.out.Write(p)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	if now.Sub(h.last) < handshakeLogGap {
		h.dropped++
		return len(p), nil
	}
	line := p
	if h.dropped > 0 {
		line = fmt.Appendf(nil, "%s (and %d more failed TLS handshakes since the last logged)\n", bytes.TrimRight(p, "\n"), h.dropped)
	}
	h.last, h.dropped = now, 0
	if _, err := h.out.Write(line); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Serve serves srv on ln, with TLS when srv has a TLSConfig with
// certificates, keeping at most MaxConns connections open at once: beyond
// them, the next is accepted when one closes. It returns
// http.ErrServerClosed after Shutdown.
func Serve(srv *http.Server, ln net.Listener) error {
	ln = netutil.LimitListener(ln, MaxConns())
	if srv.TLSConfig != nil && (len(srv.TLSConfig.Certificates) > 0 || srv.TLSConfig.GetCertificate != nil) {
		return srv.ServeTLS(ln, "", "")
	}
	return srv.Serve(ln)
}

// bodyDeadline gives a request with a body d to send it, then lifts the
// deadline so that the response may take as long as it needs.
//
// The handler gets a copy of the request with the body wrapped; the
// server's own request keeps the server's body, so that net/http still
// sees what the handler left unread when it writes the answer: an
// announced 100-continue body is never asked for, and a large unread body
// closes the connection, so a refusal (401, 403, 413) goes out at once
// instead of after the server has read up to 256 KiB of a body it will
// not use. A smaller unread body would still be read and discarded under
// the deadline; the deadline is moved to now when the handler returns, so
// that the refusal goes out at once and the connection closes.
func bodyDeadline(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			h.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if rc.SetReadDeadline(time.Now().Add(d)) != nil {
			h.ServeHTTP(w, r)
			return
		}
		body := &deadlineBody{ReadCloser: r.Body, lift: func() { _ = rc.SetReadDeadline(time.Time{}) }}
		r2 := new(http.Request)
		*r2 = *r
		r2.Body = body
		h.ServeHTTP(w, r2)
		if !body.ended.Load() {
			_ = rc.SetReadDeadline(time.Now())
		}
	})
}

// deadlineBody lifts the read deadline when the body ends.
type deadlineBody struct {
	io.ReadCloser
	ended atomic.Bool // read to its end; the deadline lifted
	lift  func()
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) && b.ended.CompareAndSwap(false, true) {
		b.lift()
	}
	return n, err
}

// TLSConfig returns the TLS configuration of a server with the
// certificate and key in the PEM files certFile and keyFile; with
// clientCAFile, clients must present a certificate signed by one of its
// CAs. TLS 1.2 is the least version taken.
func TLSConfig(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("access: TLS needs both a certificate and a key file")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("access: TLS certificate: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCAFile != "" {
		pem, err := os.ReadFile(clientCAFile)
		if err != nil {
			return nil, fmt.Errorf("access: TLS client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("access: TLS client CA: no PEM certificate in %s", clientCAFile)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// CheckListen returns an error matching ErrInsecureListen when addr
// (host:port) is not on loopback: a server with no authentication must
// listen on 127.0.0.1, ::1 or localhost only. An empty host ("":4437)
// listens on every interface and is refused too.
func CheckListen(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("access: listen address %q: %w", addr, err)
	}
	if IsLoopback(host) {
		return nil
	}
	shown := host
	if shown == "" {
		shown = "every interface"
	}
	return fmt.Errorf("%w: %q listens on %s; give authentication (tokens or JWT), or listen on 127.0.0.1",
		ErrInsecureListen, addr, shown)
}

// IsLoopback reports whether host (a name or an address) is on loopback:
// "localhost" or an address in 127.0.0.0/8 or ::1.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return err == nil && ip.Unmap().IsLoopback()
}
