package access

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Anonymous is the Authorizer of a server without authentication, and the
// default of every Rewind handler not given one. It lets a request
// through without a credential, but refuses (ErrForbidden) what only a
// browser tricked by another site, or a client beyond the machine, would
// send:
//
//   - a request from a client beyond this machine (its RemoteAddr is not
//     a loopback address), unless Remote is set or the client presented
//     a verified TLS certificate: a handler mounted without an Authorizer
//     on a server that listens on a network answers only the machine's
//     own clients. Behind a reverse proxy on the same machine every client
//     is the proxy's loopback address: put authentication on the proxy
//     or on Rewind. Middleware that rewrites RemoteAddr from a forwarded
//     header decides this too: a RemoteAddr that is not an address is
//     refused;
//   - a request whose Host is a name other than "localhost" and those in
//     Hosts: an IP address is taken, a name is how DNS rebinding reaches a
//     loopback server from a page on another site;
//   - a request that may change something (any method but GET, HEAD and
//     OPTIONS) with an Origin header other than the server's own origin
//     (the scheme and the request's Host) and those in Origins.
//
// Reads from other origins are not refused: the Durable Streams protocol
// serves them with "Access-Control-Allow-Origin: *", so on a server
// without authentication any page can read its streams. Turn
// authentication on (Tokens, JWT) to protect reads.
type Anonymous struct {
	// Origins are the origins, besides the server's own, whose pages may
	// change something ("http://localhost:5173"); "*" allows every origin.
	Origins []string
	// Hosts are the host names, besides "localhost" and IP addresses, a
	// request may name in its Host header ("rewind.internal"); a name with
	// a port allows that port only.
	Hosts []string
	// Remote lets clients beyond loopback through without a credential:
	// a server that listens on a network without authentication
	// (--insecure-no-auth, Config.InsecureNoAuth). Anyone who reaches it
	// can then read, write and delete everything.
	Remote bool
}

// Authorize allows op unless the request comes from beyond loopback (and
// Remote is not set), names a foreign Host, or changes something from a
// foreign Origin.
//
// Over TLS the Host is not checked: the browser has checked that the
// server's certificate is for the name it asked for, which a name rebound
// to this server's address cannot pass, and a client names the server by
// its certificate's name.
func (a Anonymous) Authorize(r *http.Request, op Op) error {
	if !a.Remote && !fromLoopback(r) && (r.TLS == nil || len(r.TLS.VerifiedChains) == 0) {
		return &ForbiddenError{Reason: "this server has no authentication, so it answers clients on its own machine only; turn on authentication (tokens or JWT), or let every client in with --insecure-no-auth"}
	}
	if r.TLS == nil && !a.hostAllowed(r.Host) {
		return &ForbiddenError{Reason: "the Host " + quoteSafe(r.Host) + " is not this server's (DNS rebinding?); allow it with --allow-host"}
	}
	if changes(r.Method) && !a.originAllowed(r) {
		if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
			return &ForbiddenError{Reason: "a page from " + quoteSafe(r.Header.Get("Origin")) + " may not change anything here; allow its origin with --allow-origin (a browser sends its client certificate on its own, so the certificate does not lift this check; bearer tokens do)"}
		}
		return &ForbiddenError{Reason: "a page from " + quoteSafe(r.Header.Get("Origin")) + " may not change anything here; allow its origin with --allow-origin, or turn on authentication"}
	}
	return nil
}

// fromLoopback reports whether a request comes from this machine: its
// RemoteAddr is a loopback address, or it came in on a Unix socket (whose
// peer net/http names "@" or ""). Any other RemoteAddr that is not an
// address is refused: middleware that rewrites RemoteAddr from a header
// must not open the server by writing something else there.
func fromLoopback(r *http.Request) bool {
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && la.Network() == "unix" {
		return true
	}
	if r.RemoteAddr == "" || r.RemoteAddr == "@" {
		return true
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

func (a Anonymous) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" || strings.EqualFold(host, "localhost") {
		return true
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	for _, allowed := range a.Hosts {
		if strings.EqualFold(allowed, host) || strings.EqualFold(allowed, hostport) {
			return true
		}
	}
	return false
}

func (a Anonymous) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	if strings.EqualFold(origin, scheme+r.Host) {
		return true
	}
	for _, allowed := range a.Origins {
		if allowed == "*" || strings.EqualFold(strings.TrimSuffix(allowed, "/"), origin) {
			return true
		}
	}
	return false
}
