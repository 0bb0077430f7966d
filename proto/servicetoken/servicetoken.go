// Package servicetoken checks the X-MCPbox-Service-Token header of calls
// between services (contracts.md §2). A receiver accepts its current token
// and, during a rotation, the previous one; both are compared in constant
// time, every check is counted by result, and the value is never logged.
package servicetoken

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/httpserve"
)

// Result of one check; also the label value of
// mcpbox_<service>_service_token_checks_total.
type Result string

// The closed set of results.
const (
	Current  Result = "current"
	Previous Result = "previous"
	Missing  Result = "missing"
	Invalid  Result = "invalid"
)

// Checker verifies service tokens for one receiver.
type Checker struct {
	current, previous [sha256.Size]byte
	hasPrevious       bool
	checks            *prometheus.CounterVec
}

// New returns a Checker accepting current and, when non-empty, previous.
// It registers mcpbox_<service>_service_token_checks_total on reg with every
// result at zero.
func New(reg prometheus.Registerer, service, current, previous string) *Checker {
	c := &Checker{
		current:     sha256.Sum256([]byte(current)),
		previous:    sha256.Sum256([]byte(previous)),
		hasPrevious: previous != "",
		checks: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
			Namespace: "mcpbox", Subsystem: service, Name: "service_token_checks_total",
			Help: "Service-token checks on this receiver, by result.",
		}, []string{"result"}),
	}
	for _, r := range []Result{Current, Previous, Missing, Invalid} {
		c.checks.WithLabelValues(string(r))
	}
	return c
}

// Check classifies got. Both comparisons always run, over fixed-size digests,
// so timing reveals neither which token matched nor its length.
func (c *Checker) Check(got string) Result {
	r := c.check(got)
	c.checks.WithLabelValues(string(r)).Inc()
	return r
}

func (c *Checker) check(got string) Result {
	if got == "" {
		return Missing
	}
	sum := sha256.Sum256([]byte(got))
	cur := subtle.ConstantTimeCompare(sum[:], c.current[:])
	prev := subtle.ConstantTimeCompare(sum[:], c.previous[:])
	switch {
	case cur == 1:
		return Current
	case prev == 1 && c.hasPrevious:
		return Previous
	}
	return Invalid
}

// Require wraps next: requests whose X-MCPbox-Service-Token is current or
// previous pass; the others go to deny with the result. Only the header
// carries the token; Authorization is never accepted for it.
func (c *Checker) Require(deny func(w http.ResponseWriter, r *http.Request, res Result), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch res := c.Check(r.Header.Get(proto.HeaderServiceToken)); res {
		case Current, Previous:
			next.ServeHTTP(w, r)
		default:
			deny(w, r, res)
		}
	})
}

// Guard is Require with the shared refusal of the backend's /internal/v1 and
// the sandbox's /v1: 401 unauthenticated in the proto.Error shape.
func (c *Checker) Guard(next http.Handler) http.Handler {
	return c.Require(func(w http.ResponseWriter, r *http.Request, _ Result) {
		httpserve.Unauthenticated(w, r)
	}, next)
}
