package listen

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// readyTimeout bounds the readiness function.
const readyTimeout = 2 * time.Second

// healthz answers 200 {"status":"ok"} while the process serves (§12).
func healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

// readiness answers /readyz (§12): 200 {"status":"ready"}, or 503
// {"status":"not_ready","reasons":[...]} while draining or while the
// readiness function fails (each joined error is one reason).
type readiness struct {
	draining func() bool
	ready    func(ctx context.Context) error
}

func (h readiness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reasons := []string{}
	if h.draining != nil && h.draining() {
		reasons = append(reasons, "draining")
	}
	if h.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		err := h.ready(ctx)
		cancel()
		reasons = append(reasons, errorTexts(err)...)
	}
	if len(reasons) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not_ready", "reasons": reasons})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
}

// errorTexts splits a joined error into its texts.
func errorTexts(err error) []string {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, errorTexts(e)...)
		}
		return out
	}
	return []string{err.Error()}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
