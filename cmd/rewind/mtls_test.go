package main

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// With client certificates alone (--tls-client-ca), a client names the
// server by its certificate's name and is answered (no DNS-rebinding
// refusal: TLS has checked the name), and a change from a page of another
// origin is still refused, with a reason that says why a certificate does
// not lift it; from the server's own origin it is taken.
func TestServeClientCertificatesByName(t *testing.T) {
	pki := newTestPKI(t)
	p := startServe(t, nil, "--addr", "127.0.0.1:0", "--data", t.TempDir(),
		"--tls-cert", pki.certFile, "--tls-key", pki.keyFile, "--tls-client-ca", pki.caFile)
	_, port, err := net.SplitHostPort(strings.TrimPrefix(p.url, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(pki.clientCert, pki.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	// rewind.test resolves to the server, as a DNS name would.
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+port)
	}
	client := &http.Client{Transport: &http.Transport{DialContext: dial,
		TLSClientConfig: &tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{cert}}}}
	defer client.CloseIdleConnections()
	base := "https://rewind.test:" + port
	do := func(method, url, origin string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := do("PUT", base+"/v1/stream/mtls/a", base); code != http.StatusCreated {
		t.Errorf("PUT by the certificate's name from its own origin: %d %s, want 201", code, body)
	}
	if code, body := do("GET", base+"/v1/stream/mtls/a?offset=-1", ""); code != http.StatusOK {
		t.Errorf("GET by the certificate's name: %d %s, want 200", code, body)
	}
	code, body := do("DELETE", base+"/v1/stream/mtls/a", "https://app.example")
	if code != http.StatusForbidden || !strings.Contains(body, "client certificate") {
		t.Errorf("DELETE from another origin: %d %s, want 403 saying why the certificate does not lift it", code, body)
	}
	if code, body := do("GET", base+"/v1/stream/mtls/a?offset=-1", ""); code != http.StatusOK {
		t.Errorf("the stream after the refused delete: %d %s, want 200", code, body)
	}
	// A browser sends its certificate with a page's <script src> to this
	// origin too: a stream is not loadable by a page of another origin.
	resp, err := client.Get(base + "/v1/stream/mtls/a?offset=-1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if corp := resp.Header.Get("Cross-Origin-Resource-Policy"); corp != "same-origin" {
		t.Errorf("GET with client certificates only: Cross-Origin-Resource-Policy %q, want same-origin", corp)
	}
}
