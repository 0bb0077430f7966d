package records_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
)

// record returns a record with a fixed-width id, so all are the same size.
func record(i int) proto.ExecutionRecord {
	return proto.ExecutionRecord{
		ID:          fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
		ExposedName: "weather__forecast", Via: proto.ViaDirect,
		Caller:    proto.Caller{Kind: proto.CallerLocal},
		Success:   true,
		StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), DurationMS: 12,
		InputArgs: json.RawMessage(`{"city":"Oslo"}`),
	}
}

// ids returns the ids of records from..to-1.
func ids(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, record(i).ID)
	}
	return out
}

func recordIDs(recs []proto.ExecutionRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

// memSender is the in-memory Sender: hook decides the fate of call n
// (from 0); a nil hook or a nil error delivers the batch.
type memSender struct {
	hook func(ctx context.Context, call int) error

	mu        sync.Mutex
	calls     int
	delivered []proto.ExecutionRecord
}

func (s *memSender) PostExecutions(ctx context.Context, recs []proto.ExecutionRecord) error {
	s.mu.Lock()
	call := s.calls
	s.calls++
	s.mu.Unlock()
	if s.hook != nil {
		if err := s.hook(ctx, call); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delivered = append(s.delivered, recs...)
	return nil
}

func (s *memSender) deliveredIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return recordIDs(s.delivered)
}

func (s *memSender) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// fakeBackend answers POST /internal/v1/executions like the backend
// (backend.md §9.6): it checks the body, stores records by id (a repeated
// id is a duplicate) and answers the status that answer(n) gives for the
// n-th request (from 0); store says whether it stores before answering, so
// a 503 can model an answer lost after the insert.
type fakeBackend struct {
	answer func(n int) (status int, store bool)

	mu       sync.Mutex
	requests [][]string // the ids of each request
	stored   []string   // ids in insertion order, each once
	seen     map[string]bool
	dups     int
}

func newFakeBackend(t *testing.T, answer func(n int) (int, bool)) (*fakeBackend, *httptest.Server) {
	t.Helper()
	b := &fakeBackend{answer: answer, seen: map[string]bool{}}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	return b, srv
}

func (b *fakeBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != proto.PathInternalExecutions {
		writeError(w, http.StatusNotFound, "not_found")
		return
	}
	if r.Header.Get("Content-Type") != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, proto.MaxExecutionBatchBytes))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "request_too_large")
		return
	}
	var batch proto.ExecutionBatch
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&batch); err != nil || len(batch.Records) < 1 || len(batch.Records) > proto.MaxExecutionBatchRecords {
		writeError(w, http.StatusBadRequest, "validation_failed")
		return
	}
	b.mu.Lock()
	n := len(b.requests)
	b.requests = append(b.requests, recordIDs(batch.Records))
	status, store := b.answer(n)
	res := proto.ExecutionBatchResult{Rejected: []proto.RejectedRecord{}}
	if store {
		for _, rec := range batch.Records {
			if b.seen[rec.ID] {
				b.dups++
				res.Duplicates++
				continue
			}
			b.seen[rec.ID] = true
			b.stored = append(b.stored, rec.ID)
			res.Accepted++
		}
	}
	b.mu.Unlock()
	if status != http.StatusOK {
		writeError(w, status, "unavailable")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

func writeError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]proto.Error{"error": {Code: code, Message: code}})
}

func (b *fakeBackend) snapshot() (requests [][]string, stored []string, dups int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	requests = make([][]string, len(b.requests))
	copy(requests, b.requests)
	return requests, append([]string(nil), b.stored...), b.dups
}

// httpSender is a minimal Sender over HTTP, as the backend client is: 2xx
// delivers, 4xx is permanent, anything else may be retried.
type httpSender struct {
	client *http.Client
	base   string
}

func newHTTPSender(srv *httptest.Server) httpSender {
	c := srv.Client()
	c.Timeout = 10 * time.Second
	return httpSender{client: c, base: srv.URL}
}

func (s httpSender) PostExecutions(ctx context.Context, recs []proto.ExecutionRecord) error {
	body, err := json.Marshal(proto.ExecutionBatch{Records: recs})
	if err != nil {
		return fmt.Errorf("encode batch: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+proto.PathInternalExecutions, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("post executions: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return &statusError{status: resp.StatusCode}
}

// statusError is a non-2xx answer.
type statusError struct{ status int }

func (e *statusError) Error() string   { return fmt.Sprintf("backend answered %d", e.status) }
func (e *statusError) Permanent() bool { return e.status >= 400 && e.status < 500 }

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newLogger() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// metric returns the value of a gauge or counter of reg; labels are name,
// value pairs.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s%v not found", name, labels)
	return 0
}

func dropped(t *testing.T, reg *prometheus.Registry, reason string) float64 {
	t.Helper()
	return metric(t, reg, "mcpbox_gateway_exec_records_dropped_total", "reason", reason)
}

// waitFor polls cond; the timeout only guards against a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// runQueue starts q.Run and returns a function that waits for it to end.
func runQueue(ctx context.Context, run func(context.Context)) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		run(ctx)
	}()
	return func() { <-done }
}
