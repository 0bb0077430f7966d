package mcpclient

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
)

// source is one external server as a request names it: URL, credential
// headers and egress policy, with the session-pool key derived from them.
type source struct {
	url     string
	origin  string
	headers http.Header
	allowed proto.AllowedHosts
	key     string
}

// newSource normalises the URL and allowed_hosts and computes the pool key:
// SHA-256 of the normalised URL, the sorted header names and values and the
// normalised allowed_hosts (sandbox.md §13.2).
func newSource(rawURL string, headers map[string]string, allowed proto.AllowedHosts) (source, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return source{}, fmt.Errorf("%w: url: not a valid URL", ErrInvalidRequest)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return source{}, fmt.Errorf("%w: url: only http and https URLs are supported", ErrInvalidRequest)
	}
	if u.Host == "" {
		return source{}, fmt.Errorf("%w: url: the host is missing", ErrInvalidRequest)
	}
	u.Host = strings.ToLower(u.Host)
	if port := u.Port(); (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		u.Host = strings.TrimSuffix(u.Host, ":"+port)
	}
	u.Fragment, u.RawFragment = "", ""
	normURL := u.String()

	hosts, err := normalizeAllowed(allowed)
	if err != nil {
		return source{}, err
	}
	h := sha256.New()
	writeField := func(s string) { _, _ = fmt.Fprintf(h, "%d:%s;", len(s), s) } // hash writes never fail
	writeField(normURL)
	hdr := make(http.Header, len(headers))
	names := make([]string, 0, len(headers))
	for name, value := range headers {
		canonical := http.CanonicalHeaderKey(name)
		hdr.Set(canonical, value)
		names = append(names, canonical)
	}
	slices.Sort(names)
	_, _ = fmt.Fprintf(h, "headers=%d;", len(names))
	for _, n := range names {
		writeField(n)
		writeField(hdr.Get(n))
	}
	if allowed.Any {
		writeField("allowed=null")
	} else {
		_, _ = fmt.Fprintf(h, "allowed=%d;", len(hosts))
		for _, a := range hosts {
			writeField(a)
		}
	}
	return source{
		url:     rawURL,
		origin:  originOf(u),
		headers: hdr,
		allowed: allowed,
		key:     hex.EncodeToString(h.Sum(nil)),
	}, nil
}

// normalizeAllowed returns the sorted, deduplicated, normalised entries.
func normalizeAllowed(a proto.AllowedHosts) ([]string, error) {
	if a.Any {
		return nil, nil
	}
	out := make([]string, 0, len(a.Hosts))
	var errs []error
	for i, entry := range a.Hosts {
		n, err := proto.NormalizeHost(entry)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: allowed_hosts[%d]: %w", ErrInvalidRequest, i, err))
			continue
		}
		out = append(out, n)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// originOf returns scheme://host:port with the port defaulted.
func originOf(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		port = "80"
		if scheme == "https" {
			port = "443"
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}
