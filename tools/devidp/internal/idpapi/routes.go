// Package idpapi is devidp's HTTP surface (edge.md §18): OIDC discovery and the JWKS, read by the edge,
// and the loopback-only control routes that mint tokens and rotate the signing key.
//
// There is no /authorize or token grant: devidp serves make run, end-to-end tests and manual checks,
// where clients send its tokens as a header.
package idpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/mcpbox/mcpbox/tools/devidp/internal/keyring"
)

// DiscoveryPath is the OIDC discovery document's path under the issuer.
const DiscoveryPath = "/.well-known/openid-configuration"

// JWKSPath is the key set's path under the issuer.
const JWKSPath = "/jwks.json"

// maxBody caps control-route request bodies.
const maxBody = 64 << 10

type handler struct {
	ring   *keyring.Ring
	issuer string
	log    *slog.Logger
	now    func() time.Time
}

// Handler serves devidp's routes. issuer is the exact iss of minted tokens and the base of the
// discovery document's URLs, such as http://127.0.0.1:9400.
func Handler(ring *keyring.Ring, issuer string, log *slog.Logger, now func() time.Time) http.Handler {
	h := &handler{ring: ring, issuer: issuer, log: log, now: now}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+DiscoveryPath, h.discovery)
	mux.HandleFunc("GET "+JWKSPath, h.jwks)
	mux.HandleFunc("GET /healthz", h.health)
	mux.HandleFunc("GET /readyz", h.health)
	mux.Handle("POST /dev/token", loopbackOnly(http.HandlerFunc(h.token)))
	mux.Handle("POST /dev/rotate", loopbackOnly(http.HandlerFunc(h.rotate)))
	return mux
}
