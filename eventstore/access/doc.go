// Package access is who may do what on Rewind's HTTP handlers, and the
// server that serves them safely. One mechanism for every handler: the
// Durable Streams handler (eventstore/durablestreams), commands and time
// travel (aggregate/aggregatehttp), projections (projection/projectionhttp)
// and the example's page all ask an Authorizer, at the entry of every
// request, whether it may do an Action (Read, Write, Delete, Admin) on a
// resource (a stream, a category, a projection). Each takes it as an
// option (durablestreams.WithAuthorizer and its siblings); there is no
// global state.
//
// # Authorizers
//
// Authorizer is one method, with an AuthorizerFunc adapter, for those who
// plug in their own. Two implementations are picked without code, from
// "rewind serve" flags (Config):
//
//   - Tokens: static bearer tokens with scopes, from a file that holds only
//     the tokens' SHA-256 hashes ("rewind token" or NewToken makes a token
//     and its line). A presented token is hashed and compared with every
//     hash in constant time.
//   - JWT: bearer JSON Web Tokens, HS256 with a secret (NewHS256) or the
//     public keys of a JWKS (NewJWKS), verified by go-jose, the algorithm
//     pinned by the key, "exp" required, "exp" and "nbf" checked, issuer
//     and audience when given; scopes from the "scope" claim (a string) or
//     "scp" (an array).
//
// A request without a valid credential gets 401 with a WWW-Authenticate
// Bearer challenge (RFC 6750); one whose scopes do not allow it gets 403
// naming the scope it needs (Refuse writes both).
//
// # Scopes
//
//	scope   = "admin" | action [ ":" pattern ]
//	action  = "read" | "write" | "delete" | "admin"
//	pattern = "*" | name | name "/*"
//	name    = a stream's name: segments separated by "/", none empty,
//	          "." or "..", no control characters; white space, "#", "*"
//	          and "%" written %XX, as "a%20b" for the stream "a b"
//
// "admin" alone allows everything. An action alone, or with the pattern
// "*", allows that action on every resource. A name allows the resource
// of that name and every one below it on a "/" boundary: "read:orders"
// reads the stream "orders", every stream "orders/..." and the category
// "orders" as a whole (its list and its event feed), but not
// "ordersX/1". A name followed by "/*" allows only what is below it:
// "write:chat/*" writes "chat/room1" and "chat/a/b" but not "chat".
// Actions do not imply one another: writing does not allow reading or
// deleting. A request about every stream (the list of all streams) needs
// the pattern "*"; one about no resource in particular (the list of
// aggregate types, the projections' status) needs any scope of its action.
// A fork (PUT with Stream-Forked-From) needs write on the new stream and
// read on its source.
//
// # Without authentication
//
// A handler given no Authorizer uses Anonymous: no credential is asked
// for, but only the machine's own clients are answered, and a browser
// cannot be used against the server. A request from a client beyond
// loopback (its RemoteAddr) is refused, unless Anonymous.Remote
// (--insecure-no-auth) or a verified client certificate lets it in, so a
// handler mounted without an Authorizer on a server that listens on a
// network does not serve that network. A request whose
// Host is a name other than localhost (DNS rebinding) is refused, and so
// is a request that may change something (any method but GET, HEAD and
// OPTIONS) from a page of another origin. Commands and rebuilds take only
// application/json, so that no "simple" cross-site request (a form, a
// text/plain POST, which need no CORS preflight) reaches them. Reads stay
// open to every origin, as the Durable Streams protocol's CORS answers
// ("Access-Control-Allow-Origin: *") require: a server without
// authentication must be one its readers may all read. "rewind serve" and
// the example listen on loopback only without authentication (CheckListen)
// unless given --insecure-no-auth.
//
// With authentication on, the Origin is not checked: a bearer token is not
// an ambient credential a browser adds by itself (as cookies are), so a
// page of another origin can only use a token it was given, and the
// protocol's cross-origin clients keep working with theirs. Client
// certificates (TLSConfig with a client CA) are ambient: with them alone,
// Anonymous still checks the Origin. It does not check the Host of a
// request over TLS: the browser has checked the server's certificate
// against the name it asked for, which DNS rebinding cannot pass.
//
// # Serving
//
// NewServer returns an http.Server with every limit set (headers' time and
// size, a body read deadline per request, idle connections) and no write
// timeout, since long-polls and SSE answers are long; Serve serves it, with
// TLS when WithTLS gave a certificate, and with at most MaxConns
// connections open at once, so that idle connections cannot take the file
// descriptors the store in the same process needs.
package access
