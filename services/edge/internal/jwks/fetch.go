package jwks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Fixed fetch limits (edge.md §3, §7.1).
const (
	fetchTimeout = 5 * time.Second
	maxBody      = 1 << 20 // JWKS and discovery documents
	maxRedirects = 3
)

var (
	errBodyTooLarge = errors.New("response body over 1 MiB")
	errCrossOrigin  = errors.New("redirect to another origin refused")
	errTooManyHops  = errors.New("more than 3 redirects")
)

// newFetchClient is the *http.Client given to the cache (and used for
// discovery): https only unless insecure, 5 s for the whole exchange, body
// at most 1 MiB, redirects only to the same origin and at most 3. base, when
// set, supplies the transport (tests serving TLS pass their roots this way).
func newFetchClient(base *http.Client, insecure bool) *http.Client {
	var rt http.RoundTripper
	if base != nil && base.Transport != nil {
		rt = base.Transport
	} else if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		rt = dt.Clone()
	} else {
		rt = http.DefaultTransport
	}
	return &http.Client{
		Transport: &rulesTransport{base: rt, insecure: insecure},
		Timeout:   fetchTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return errTooManyHops
			}
			if !sameOrigin(req.URL, via[0].URL) {
				return errCrossOrigin
			}
			return nil
		},
	}
}

// rulesTransport refuses schemes other than https (http too in insecure dev
// mode), on the first request and on every redirect, and caps the body.
type rulesTransport struct {
	base     http.RoundTripper
	insecure bool
}

func (t *rulesTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkScheme(req.URL, t.insecure); err != nil {
		return nil, err
	}
	req = req.Clone(req.Context())
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	res, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if res.ContentLength > maxBody {
		_ = res.Body.Close()
		return nil, errBodyTooLarge
	}
	res.Body = &cappedBody{rc: res.Body, left: maxBody}
	return res, nil
}

// cappedBody fails the read that goes past maxBody: a larger document is a
// failed fetch, never a truncated one.
type cappedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return 0, errBodyTooLarge
	}
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }

func checkScheme(u *url.URL, insecure bool) error {
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && insecure:
		return nil
	case u.Scheme == "http":
		return errors.New("http:// refused: https required outside insecure dev mode")
	}
	return fmt.Errorf("scheme %q refused", truncate(u.Scheme, 16))
}

// validateURL checks a configured or discovered JWKS URL.
func validateURL(raw string, insecure bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a valid URL")
	}
	if !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return nil, errors.New("not an absolute URL")
	}
	if u.User != nil {
		return nil, errors.New("userinfo not allowed")
	}
	if u.Fragment != "" {
		return nil, errors.New("fragment not allowed")
	}
	if err := checkScheme(u, insecure); err != nil {
		return nil, err
	}
	return u, nil
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) &&
		port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "http") {
		return "80"
	}
	return "443"
}

// describe turns a fetch error into a short text without the URL (for logs,
// Status and /readyz).
func describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return "timed out after 5s"
		}
		err = ue.Err
	}
	var ne net.Error
	if (errors.As(err, &ne) && ne.Timeout()) || errors.Is(err, context.DeadlineExceeded) {
		return "timed out after 5s"
	}
	return truncate(err.Error(), 200)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// observedClient is the httprc.HTTPClient registered with the cache: it
// runs each attempt through the rules client and reports it to the Source
// (the cache's error sink sees only failed background fetches, never
// successes, so the attempt is observed here). httprc closes the response
// body after storing a newly parsed set, so at close time the Source can
// tell a success (a new set in the cache) from a failure.
type observedClient struct {
	s  *Source
	hc *http.Client
}

func (c observedClient) Do(req *http.Request) (*http.Response, error) {
	select { // the first attempt may start before Register has returned
	case <-c.s.registered:
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	trigger := c.s.beginAttempt()
	res, err := c.hc.Do(req) //nolint:gosec // G704: the URL is the configured or discovered JWKS URL, checked by validateURL and the rules client
	if err != nil {
		c.s.endAttempt(trigger, 0, describe(err))
		return nil, err
	}
	res.Body = &observedBody{rc: res.Body, done: func(readErr string) {
		c.s.endAttempt(trigger, res.StatusCode, readErr)
	}}
	return res, nil
}

type observedBody struct {
	rc      io.ReadCloser
	readErr string
	once    sync.Once
	done    func(readErr string)
}

func (b *observedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && b.readErr == "" {
		b.readErr = describe(err)
	}
	return n, err
}

func (b *observedBody) Close() error {
	err := b.rc.Close()
	b.once.Do(func() { b.done(b.readErr) })
	return err
}
