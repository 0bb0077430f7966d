package ui

import (
	"net/http"
	"net/url"
	"strings"
)

// CSP is the Content-Security-Policy of every UI page (admin-ui.md §4): no
// inline script or style, no external request of any kind.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " +
	"frame-ancestors 'none'"

// baseHeaders are on every UI response, static files included (backend.md
// §7.5): no sniffing, framing or cross-origin use; HSTS over TLS.
func baseHeaders(w http.ResponseWriter, r *http.Request, overTLS func(*http.Request) bool) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	if overTLS(r) {
		h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	}
}

// pageHeaders are on every page, fragment, redirect and error of the UI:
// the strict CSP, no caching (pages hold sensitive data, and Back after
// sign-out must not show them) and Vary: HX-Request, since a URL answers a
// fragment or a full page by that header (U7).
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "HX-Request")
}

// sameOrigin checks a mutation's Origin (else Sec-Fetch-Site) against
// MCPBOX_PUBLIC_ORIGIN or the request's own origin, as /api/v1 does.
func (h *handler) sameOrigin(r *http.Request) bool {
	if origin := r.Header.Get("Origin"); origin != "" {
		want := h.d.PublicOrigin
		if want == "" {
			scheme := "http"
			if h.d.Proxies.HTTPS(r) {
				scheme = "https"
			}
			want = scheme + "://" + r.Host
		}
		o, err := url.Parse(origin)
		w, werr := url.Parse(want)
		return err == nil && werr == nil && strings.EqualFold(o.Scheme, w.Scheme) && strings.EqualFold(o.Host, w.Host)
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	return false
}
