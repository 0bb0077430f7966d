package auth

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Values of the result label of mcpbox_backend_admin_logins_total
// (backend.md §3).
const (
	loginSuccess   = "success"
	loginFailure   = "failure"
	loginThrottled = "throttled"
)

// metrics are the authentication counters of backend.md §3. They count from
// New on and are exported once Instrument registered them.
type metrics struct {
	logins     *prometheus.CounterVec
	tokenReuse prometheus.Counter
	csrf       prometheus.Counter
}

func newMetrics() metrics {
	m := metrics{
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcpbox_backend_admin_logins_total",
			Help: "Admin login attempts, by result (success, failure, throttled).",
		}, []string{"result"}),
		tokenReuse: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mcpbox_backend_admin_token_reuse_total",
			Help: "Used refresh tokens presented again; each revoked its session.",
		}),
		csrf: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mcpbox_backend_csrf_rejections_total",
			Help: "Cookie-authenticated mutations refused for a missing or wrong CSRF token or a foreign origin.",
		}),
	}
	for _, r := range []string{loginSuccess, loginFailure, loginThrottled} {
		m.logins.WithLabelValues(r)
	}
	return m
}

// Instrument registers mcpbox_backend_admin_logins_total,
// mcpbox_backend_admin_token_reuse_total and
// mcpbox_backend_csrf_rejections_total with reg; call it once, before
// serving.
func (s *Service) Instrument(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{s.metrics.logins, s.metrics.tokenReuse, s.metrics.csrf} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("auth: register metrics: %w", err)
		}
	}
	return nil
}

// CountCSRFRejection counts one mutation refused by the CSRF and origin
// checks of backend.md §7.5 (the HTTP layer makes them).
func (s *Service) CountCSRFRejection() { s.metrics.csrf.Inc() }

// countLogin counts the outcome of a Login. Errors that are neither wrong
// credentials nor throttling (the database failed) are no login attempt's
// verdict and are not counted.
func (s *Service) countLogin(err error) {
	var throttled *ThrottledError
	switch {
	case err == nil:
		s.metrics.logins.WithLabelValues(loginSuccess).Inc()
	case errors.As(err, &throttled):
		s.metrics.logins.WithLabelValues(loginThrottled).Inc()
	case errors.Is(err, ErrInvalidCredentials):
		s.metrics.logins.WithLabelValues(loginFailure).Inc()
	}
}
