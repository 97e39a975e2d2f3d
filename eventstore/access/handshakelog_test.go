package access_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore/access"
)

// TestHandshakeErrorsLogSparingly: a failed TLS handshake, which anyone
// who reaches the port causes without a credential, is logged at most
// about once a second: 2,000 plain-HTTP requests to rewind serve's HTTPS
// port in 0.3 s wrote 2,000 lines to its log.
func TestHandshakeErrorsLogSparingly(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	logged := log.New(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := access.NewServer(http.NotFoundHandler(), access.WithTLS(&tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}),
		access.WithErrorLog(logged))
	done := make(chan error, 1)
	go func() { done <- access.Serve(srv, ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Error(err)
		}
	})
	for range 200 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		c.Read(make([]byte, 100))
		c.Close()
	}
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	lines := strings.Count(out, "\n")
	if lines == 0 || lines > 3 || !strings.Contains(out, "TLS handshake error") {
		t.Fatalf("200 failed handshakes in well under a few seconds logged %d lines, want 1 to 3:\n%.600s", lines, out)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// selfSigned is a certificate for 127.0.0.1, signed by its own key.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
