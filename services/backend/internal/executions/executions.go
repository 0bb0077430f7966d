// Package executions is execution records (backend.md §9.6, §12.3, §14.3):
// ingestion of the gateway's batches (POST /internal/v1/executions),
// redaction and truncation before anything is stored, and the admin API's
// list, get and stats reads (§8.2).
//
// Ingestion is idempotent by record id and attributes each record by the
// tool and server ids the gateway sends, never by name (§16.6). A bad record
// is reported by its index and never rejects the others. Every string of a
// stored record has the secret values of its server replaced by
// [REDACTED:<NAME>], in every form package redact searches; sensitive keys
// of input_args become "[REDACTED]"; then long values are cut, so no cut
// leaves a prefix of a secret behind.
//
// The package knows no echo: adminapi maps its errors to the API's, and the
// ingestion handler is a plain http.Handler the internal listener mounts
// behind its service-token guard.
package executions

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/services/backend/internal/secrets"
)

// Ingestion results, the label values of
// mcpbox_backend_executions_ingested_total (backend.md §3).
const (
	resultAccepted  = "accepted"
	resultDuplicate = "duplicate"
	resultRejected  = "rejected"
)

// ErrNotFound is returned for an id that names no execution record.
var ErrNotFound = errors.New("executions: no such execution record")

// Service ingests, redacts and lists execution records.
type Service struct {
	store    *db.Store
	secrets  *secrets.Service
	log      *slog.Logger
	ingested *prometheus.CounterVec
}

// New returns the service. Its metric is registered by Instrument.
func New(store *db.Store, secrets *secrets.Service) *Service {
	ingested := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcpbox_backend_executions_ingested_total",
		Help: "Execution records received from the gateway, by result (accepted, duplicate, rejected).",
	}, []string{"result"})
	for _, r := range []string{resultAccepted, resultDuplicate, resultRejected} {
		ingested.WithLabelValues(r)
	}
	return &Service{store: store, secrets: secrets, log: slog.New(slog.DiscardHandler), ingested: ingested}
}

// Instrument registers the service's metric with reg and logs the failures
// of the ingestion handler to log; call it once, before serving. Without
// it the service counts but exports nothing and logs nothing.
func (s *Service) Instrument(reg prometheus.Registerer, log *slog.Logger) error {
	if log != nil {
		s.log = log
	}
	if reg == nil {
		return nil
	}
	if err := reg.Register(s.ingested); err != nil {
		return fmt.Errorf("executions: register mcpbox_backend_executions_ingested_total: %w", err)
	}
	return nil
}
