package httpserve

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"time"
)

// Check is one readiness condition. Fn returns nil when ready, else an error
// whose text is safe to show (it names the condition, never a secret).
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Health answers /healthz and /readyz.
type Health struct {
	draining atomic.Bool
	checks   []Check
	timeout  time.Duration
	describe func(ReadyBody) any
}

// WithBody makes /readyz answer describe's value instead of ReadyBody (the
// status code still follows the checks): the sandbox's body is
// proto.SandboxReadiness. Call it before serving.
func (h *Health) WithBody(describe func(ReadyBody) any) *Health {
	h.describe = describe
	return h
}

// NewHealth returns a Health that is ready when every check passes and the
// service is not draining. Each check gets at most 2 s.
func NewHealth(checks ...Check) *Health {
	return &Health{checks: checks, timeout: 2 * time.Second}
}

// SetDraining turns /readyz to 503 for good: the service is shutting down.
func (h *Health) SetDraining() { h.draining.Store(true) }

// Draining reports whether shutdown has begun.
func (h *Health) Draining() bool { return h.draining.Load() }

// Healthz answers 200 while the process serves; it checks no dependency.
func (h *Health) Healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// ReadyBody is the JSON body of /readyz.
type ReadyBody struct {
	Status  string            `json:"status"`
	Failing string            `json:"failing,omitempty"`
	Checks  map[string]string `json:"checks"`
}

// Readyz answers 200 {"status":"ready"} or 503 {"status":"not_ready",
// "failing": "<first failing check>"} with every check's result.
func (h *Health) Readyz(w http.ResponseWriter, r *http.Request) {
	body := ReadyBody{Status: "ready", Checks: map[string]string{}}
	if h.Draining() {
		body.Failing = "draining"
		body.Checks["draining"] = "shutting down"
	}
	for _, c := range h.checks {
		ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
		err := c.Fn(ctx)
		cancel()
		if err != nil {
			body.Checks[c.Name] = err.Error()
			if body.Failing == "" {
				body.Failing = c.Name
			}
			continue
		}
		body.Checks[c.Name] = "ok"
	}
	status := http.StatusOK
	if body.Failing != "" {
		body.Status, status = "not_ready", http.StatusServiceUnavailable
	}
	if h.describe != nil {
		writeJSON(w, status, h.describe(body))
		return
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
