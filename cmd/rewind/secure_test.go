package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/rewindhq/rewind/eventstore/access"
)

// TestServeRefusesBeyondLoopbackWithoutAuth: without authentication,
// serve refuses an address beyond loopback, from the flag or REWIND_ADDR,
// with a message that says what to do; --insecure-no-auth or tokens make
// the address acceptable.
func TestServeRefusesBeyondLoopbackWithoutAuth(t *testing.T) {
	for _, c := range []struct {
		env  []string
		args []string
	}{
		{nil, []string{"serve", "--addr", ":0", "--data", t.TempDir()}},
		{nil, []string{"serve", "--addr", "0.0.0.0:0", "--data", t.TempDir()}},
		{[]string{"REWIND_ADDR=[::]:0"}, []string{"serve", "--data", t.TempDir()}},
	} {
		code, _, stderr := runBin(t, c.env, c.args...)
		if code != 2 || !strings.Contains(stderr, "no authentication") || !strings.Contains(stderr, "--insecure-no-auth") {
			t.Errorf("%v %v: exit %d, stderr %q; want 2 and a message naming --insecure-no-auth", c.env, c.args, code, stderr)
		}
	}
	for _, args := range [][]string{
		{"--addr", ":0", "--insecure-no-auth"},
		{"--addr", ":0", "--auth-tokens", "/some/file"},
	} {
		if _, err := parseServe(args, os.Stderr); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
}

// writeTokens writes a tokens file with one token of scopes and returns
// the file and the token.
func writeTokens(t *testing.T, scopes ...string) (file, token string) {
	t.Helper()
	token, line, err := access.NewToken(scopes...)
	if err != nil {
		t.Fatal(err)
	}
	file = filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(file, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return file, token
}

// TestServeWithTokens: serve --auth-tokens answers 401 without a token,
// 403 naming the scope with too narrow a token, and serves one that has
// the scope; the client commands send --token.
func TestServeWithTokens(t *testing.T) {
	file, token := writeTokens(t, "write:chat/*", "read:chat")
	p := startServe(t, nil, "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--auth-tokens", file)
	if !strings.Contains(p.line, "auth=on") {
		t.Errorf("the listening line does not say auth is on: %s", p.line)
	}
	url := p.url + "/v1/stream/chat/room1"
	resp := mustDo(t, "PUT", url, nil, http.StatusUnauthorized, "Content-Type", "application/json")
	if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("401 without WWW-Authenticate: %v", resp.Header)
	}
	mustDo(t, "PUT", url, nil, http.StatusCreated, "Content-Type", "application/json", "Authorization", "Bearer "+token)
	mustDo(t, "POST", url, []byte(`{"a":1}`), http.StatusNoContent, "Content-Type", "application/json", "Authorization", "Bearer "+token)
	mustDo(t, "GET", url+"?offset=-1", nil, http.StatusOK, "Authorization", "Bearer "+token)
	resp = mustDo(t, "DELETE", url, nil, http.StatusForbidden, "Authorization", "Bearer "+token)
	if !strings.Contains(resp.Header.Get("WWW-Authenticate"), `scope="delete:chat/room1"`) {
		t.Errorf("403 does not name the scope: %v", resp.Header)
	}
	mustDo(t, "GET", p.url+"/v1/stream/other/x?offset=-1", nil, http.StatusForbidden, "Authorization", "Bearer "+token)

	// The client's refusals, with stderr in a file: whole (nothing is cut
	// outside a terminal), exit 1 (the exit codes have none of their own
	// for authentication), and saying how to give a token.
	for _, c := range []struct {
		env, args []string
		want      []string
	}{
		{nil, []string{"--server", p.url, "read", "chat/room1"},
			[]string{"(send Authorization: Bearer <token>)", "give it with --token or REWIND_TOKEN"}},
		{[]string{"REWIND_TOKEN=rwt_wrong"}, []string{"--server", p.url, "read", "chat/room1"},
			[]string{"refused the token given with --token or REWIND_TOKEN"}},
		{nil, []string{"--server", p.url, "--token", token, "read", "other/x"},
			[]string{"read:other/x", "lacks the scope"}},
	} {
		errFile, err := os.Create(filepath.Join(t.TempDir(), "err.txt"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(t.Context(), rewindBin, c.args...)
		cmd.Env = cleanEnv(c.env...)
		cmd.Stderr = errFile
		cmd.Run()
		errFile.Close()
		got, _ := os.ReadFile(errFile.Name())
		if code := cmd.ProcessState.ExitCode(); code != exitServer || strings.Contains(string(got), "…") {
			t.Errorf("%v rewind %v: exit %d, stderr (a file):\n%s\nwant exit 1 and no message cut", c.env, c.args, code, got)
		}
		for _, w := range c.want {
			if !strings.Contains(string(got), w) {
				t.Errorf("%v rewind %v: stderr (a file) lacks %q:\n%s", c.env, c.args, w, got)
			}
		}
	}
}

// TestClientSendsToken: the client commands send --token or REWIND_TOKEN
// as a bearer token, and say so when the server wants one.
func TestClientSendsToken(t *testing.T) {
	file, token := writeTokens(t, "read")
	tokens, err := access.LoadTokens(file)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := tokens.Authorize(r, access.Op{Action: access.Read, Resource: "*"}); err != nil {
			code, reason := access.Refuse(w, err)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			fmt.Fprintf(w, "{\"error\":%q}\n", reason)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"streams":[{"name":"orders/1/events","version":3,"offset":"1","storedAt":"2026-03-02T09:00:00Z","closed":false}]}`)
	}))
	defer srv.Close()
	for _, c := range []struct {
		env  []string
		args []string
	}{
		{[]string{"REWIND_TOKEN=" + token}, []string{"streams", "--server", srv.URL}},
		{nil, []string{"streams", "--server", srv.URL, "--token", token}},
		{nil, []string{"--token", token, "--server", srv.URL, "streams"}},
	} {
		if code, out, errOut := runBin(t, c.env, c.args...); code != 0 || !strings.Contains(out, "orders/1/events") {
			t.Errorf("%v: exit %d, %q %q", c.args, code, out, errOut)
		}
	}
	if code, _, errOut := runBin(t, nil, "streams", "--server", srv.URL); code == 0 || !strings.Contains(errOut, "unauthenticated") {
		t.Errorf("without a token: exit %d, %q", code, errOut)
	}
}

// TestServeNeverLogsNATSPassword: the password of --nats (or REWIND_NATS)
// is in no log line, neither when serve connects nor in the error of a
// failed connect.
func TestServeNeverLogsNATSPassword(t *testing.T) {
	const password = "pw-9f3c2e"
	ns := startNATS(t, &server.Options{Username: "alice", Password: password})
	addr := ns.Addr().(*net.TCPAddr)
	good := fmt.Sprintf("nats://alice:%s@127.0.0.1:%d", password, addr.Port)

	p := startServe(t, nil, "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--nats", good)
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait(t, 60*time.Second)
	if out := p.output(); strings.Contains(out, password) || !strings.Contains(out, "NATS at nats://REDACTED@127.0.0.1") {
		t.Errorf("serve --nats logged the password, or not the redacted URL:\n%s", out)
	}
	p = startServe(t, []string{"REWIND_NATS=" + good}, "--addr", "127.0.0.1:0", "--data", t.TempDir())
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait(t, 60*time.Second)
	if out := p.output(); strings.Contains(out, password) {
		t.Errorf("serve with REWIND_NATS logged the password:\n%s", out)
	}
	// A failed connect: the wrong password, and a port nobody listens on.
	closed := fmt.Sprintf("nats://alice:%s@127.0.0.1:%d", password, freePort(t))
	for _, u := range []string{strings.Replace(good, password, password+"-wrong", 1), closed} {
		code, _, stderr := runBin(t, []string{"REWIND_NATS=" + u}, "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir())
		if code == 0 || strings.Contains(stderr, password) || !strings.Contains(stderr, "REDACTED") {
			t.Errorf("failed connect to %s: exit %d, stderr:\n%s", strings.Replace(u, password, "<pw>", 1), code, stderr)
		}
	}
}

// startNATS starts an in-process nats-server with JetStream on a free
// loopback port, with the authentication and TLS of opts, and shuts it
// down when the test ends.
func startNATS(t *testing.T, opts *server.Options) *server.Server {
	t.Helper()
	opts.Host, opts.Port, opts.JetStream, opts.StoreDir = "127.0.0.1", -1, true, t.TempDir()
	opts.NoLog, opts.NoSigs = true, true
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(30 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	return ns
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// testPKI is a CA with a server certificate for 127.0.0.1 and
// rewind.test, and a client
// certificate, as PEM files.
type testPKI struct {
	caFile, certFile, keyFile, clientCert, clientKey string
	pool                                             *x509.CertPool
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rewind test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(name string, serial int64, tmpl *x509.Certificate) (string, string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = big.NewInt(serial), now.Add(-time.Hour), now.Add(time.Hour)
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		cf, kf := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
		writePEM(t, cf, "CERTIFICATE", der)
		writePEM(t, kf, "EC PRIVATE KEY", kder)
		return cf, kf
	}
	p := testPKI{caFile: filepath.Join(dir, "ca.pem"), pool: x509.NewCertPool()}
	writePEM(t, p.caFile, "CERTIFICATE", caDER)
	p.pool.AddCert(ca)
	p.certFile, p.keyFile = issue("server", 2, &x509.Certificate{Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"rewind.test"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature})
	p.clientCert, p.clientKey = issue("client", 3, &x509.Certificate{Subject: pkix.Name{CommonName: "a client"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature})
	return p
}

func writePEM(t *testing.T, file, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestServeTLS: serve --tls-cert/--tls-key serves HTTPS (and no plain
// HTTP); with --tls-client-ca (here from REWIND_TLS_CLIENT_CA) a client
// without a certificate signed by the CA is refused in the handshake.
func TestServeTLS(t *testing.T) {
	pki := newTestPKI(t)
	p := startServe(t, nil, "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--tls-cert", pki.certFile, "--tls-key", pki.keyFile)
	if !strings.HasPrefix(p.url, "https://") {
		t.Fatalf("listening on %s, want https://", p.url)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.pool}}}
	put, _ := http.NewRequest("PUT", p.url+"/v1/stream/tls/a", nil)
	put.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(put)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT over TLS: %v %v", resp, err)
	}
	resp.Body.Close()
	if resp, err := http.Get("http" + strings.TrimPrefix(p.url, "https") + "/v1/stream/tls/a"); err == nil && resp.StatusCode < 400 {
		t.Errorf("plain HTTP answered %d", resp.StatusCode)
	}

	p = startServe(t, []string{"REWIND_TLS_CLIENT_CA=" + pki.caFile}, "--addr", "127.0.0.1:0", "--data", t.TempDir(),
		"--tls-cert", pki.certFile, "--tls-key", pki.keyFile)
	if _, err := client.Get(p.url + "/v1/stream/tls/a"); err == nil {
		t.Errorf("a client without a certificate got an answer")
	}
	cert, err := tls.LoadX509KeyPair(pki.clientCert, pki.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	withCert := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{cert}}}}
	resp, err = withCert.Get(p.url + "/v1/stream/tls/a")
	if err != nil {
		t.Fatalf("a client with a certificate: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET of a stream this data directory lacks: %d, want 404", resp.StatusCode)
	}
}

// TestServeNATSNKeyAndTLS: serve --nats with --nats-nkey, --nats-ca,
// --nats-cert and --nats-key connects to a real nats-server that requires
// an nkey user and a client certificate over TLS, and serves streams on
// it; without the nkey or without the client certificate it fails to
// connect, exits non-zero, and its error names neither seed nor key.
func TestServeNATSNKeyAndTLS(t *testing.T) {
	pki := newTestPKI(t)
	user, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, err := user.Seed()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := user.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	seedFile := filepath.Join(t.TempDir(), "user.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: pki.certFile, KeyFile: pki.keyFile, CaFile: pki.caFile, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	ns := startNATS(t, &server.Options{Nkeys: []*server.NkeyUser{{Nkey: pub}}, TLS: true, TLSVerify: true, TLSConfig: tlsCfg})
	natsURL := fmt.Sprintf("tls://127.0.0.1:%d", ns.Addr().(*net.TCPAddr).Port)
	tlsFlags := []string{"--nats-ca", pki.caFile, "--nats-cert", pki.clientCert, "--nats-key", pki.clientKey}

	args := append([]string{"--addr", "127.0.0.1:0", "--data", t.TempDir(), "--nats", natsURL, "--nats-nkey", seedFile}, tlsFlags...)
	p := startServe(t, nil, args...)
	url := p.url + "/v1/stream/nkey/a"
	mustDo(t, "PUT", url, nil, http.StatusCreated, "Content-Type", "application/json")
	mustDo(t, "POST", url, []byte(`{"n":1}`), http.StatusNoContent, "Content-Type", "application/json")
	resp := mustDo(t, "GET", url+"?offset=-1", nil, http.StatusOK)
	if got := resp.Header.Get("Stream-Next-Offset"); got == "" {
		t.Errorf("GET over a NATS reached with an nkey and TLS: no Stream-Next-Offset")
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait(t, 60*time.Second)

	for name, extra := range map[string][]string{
		"without the nkey":               tlsFlags,
		"without the client certificate": {"--nats-nkey", seedFile, "--nats-ca", pki.caFile},
	} {
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--nats", natsURL}, extra...)
		code, _, stderr := runBin(t, nil, args...)
		if code == 0 {
			t.Errorf("%s: serve exited 0", name)
		}
		if strings.Contains(stderr, string(seed)) {
			t.Errorf("%s: the nkey seed reached the error:\n%s", name, stderr)
		}
	}
}
