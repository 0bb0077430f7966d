package caller

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// FailureReason is a label value of mcpbox_gateway_auth_failures_total
// (gateway.md §13), a closed set.
type FailureReason string

// The reasons. The first four are counted here; no_email and not_allowed
// when a limited caller is refused (package policy).
const (
	ReasonMissingToken      FailureReason = "missing_token"
	ReasonWrongToken        FailureReason = "wrong_token"
	ReasonThrottled         FailureReason = "throttled"
	ReasonBadIdentityHeader FailureReason = "bad_identity_header"
	ReasonNoEmail           FailureReason = "no_email"
	ReasonNotAllowed        FailureReason = "not_allowed"
)

// FailureReasons returns the closed set of reasons.
func FailureReasons() []FailureReason {
	return []FailureReason{
		ReasonMissingToken, ReasonWrongToken, ReasonThrottled,
		ReasonBadIdentityHeader, ReasonNoEmail, ReasonNotAllowed,
	}
}

// AuthFailures counts refused authentications and authorizations by reason.
// One instance serves the whole gateway: package policy counts its reasons
// on the same counter.
type AuthFailures struct {
	vec *prometheus.CounterVec
}

// NewAuthFailures registers mcpbox_gateway_auth_failures_total on reg with
// every reason at zero.
func NewAuthFailures(reg prometheus.Registerer) *AuthFailures {
	vec := promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
		Namespace: "mcpbox", Subsystem: "gateway", Name: "auth_failures_total",
		Help: "Refused /mcp requests by authentication or authorization reason.",
	}, []string{"reason"})
	for _, r := range FailureReasons() {
		vec.WithLabelValues(string(r))
	}
	return &AuthFailures{vec: vec}
}

// Inc counts one failure. A nil *AuthFailures counts nothing.
func (a *AuthFailures) Inc(r FailureReason) {
	if a != nil {
		a.vec.WithLabelValues(string(r)).Inc()
	}
}
