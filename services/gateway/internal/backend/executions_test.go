package backend

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// retryRule is what the record sender reads from an error.
type retryRule interface {
	Permanent() bool
	HTTPStatus() int
}

func testRecords() []proto.ExecutionRecord {
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return []proto.ExecutionRecord{
		{ID: "11111111-1111-4111-8111-111111111111", ExposedName: "weather__forecast", Via: proto.ViaDirect, StartedAt: started},
		{ID: "22222222-2222-4222-8222-222222222222", ExposedName: "weather__forecast", Via: proto.ViaRunTool, StartedAt: started},
	}
}

func TestPostExecutions(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, proto.ExecutionBatchResult{
			Accepted: 1, Rejected: []proto.RejectedRecord{{Index: 1, Code: proto.CodeValidationFailed, Message: "started_at: too far in the future."}},
		})
	})
	var logs bytes.Buffer
	c, _ := newClient(t, f.srv.URL, WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	if err := c.PostExecutions(t.Context(), testRecords()); err != nil {
		t.Fatal(err)
	}
	r := f.requests()[0]
	var batch proto.ExecutionBatch
	if err := json.Unmarshal(r.body, &batch); err != nil || len(batch.Records) != 2 || batch.Records[1].ID != testRecords()[1].ID {
		t.Fatalf("body %s (%v)", r.body, err)
	}
	if r.method != http.MethodPost || r.path != proto.PathInternalExecutions {
		t.Errorf("request %s %s", r.method, r.path)
	}
	if !strings.Contains(logs.String(), testRecords()[1].ID) || !strings.Contains(logs.String(), `"count":1`) {
		t.Errorf("rejected records not logged: %s", logs.String())
	}

	if err := c.PostExecutions(t.Context(), nil); err != nil || len(f.requests()) != 1 {
		t.Errorf("empty batch: err %v, %d requests; want nothing sent", err, len(f.requests()))
	}
}

// TestPostExecutionsRetryRule: a 4xx is permanent, a 5xx and a transport
// error are retryable.
func TestPostExecutionsRetryRule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		status    int // 0: nothing listens
		permanent bool
		result    string
	}{
		{"400", http.StatusBadRequest, true, resultHTTPError},
		{"413", http.StatusRequestEntityTooLarge, true, resultHTTPError},
		{"500", http.StatusInternalServerError, false, resultHTTPError},
		{"503", http.StatusServiceUnavailable, false, resultHTTPError},
		{"transport", 0, false, resultTransport},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := closedURL(t)
			if tc.status != 0 {
				url = newFake(t, func(w http.ResponseWriter, _ *http.Request) {
					writeError(w, tc.status, "some_code", "refused")
				}).srv.URL
			}
			c, _ := newClient(t, url)
			err := c.PostExecutions(t.Context(), testRecords())
			var rr retryRule
			if !errors.As(err, &rr) {
				t.Fatalf("err = %v, want an error with Permanent and HTTPStatus", err)
			}
			if rr.Permanent() != tc.permanent || rr.HTTPStatus() != tc.status {
				t.Errorf("Permanent %v HTTPStatus %d, want %v %d", rr.Permanent(), rr.HTTPStatus(), tc.permanent, tc.status)
			}
			if got := count(c, EndpointExecutions, tc.result); got != 1 {
				t.Errorf("executions %s = %v, want 1", tc.result, got)
			}
		})
	}
}

func TestPostExecutionsUnencodable(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(http.ResponseWriter, *http.Request) {})
	c, _ := newClient(t, f.srv.URL)
	recs := testRecords()
	recs[0].InputArgs = json.RawMessage(`{not json`)
	err := c.PostExecutions(t.Context(), recs)
	var rr retryRule
	if !errors.As(err, &rr) || !rr.Permanent() || len(f.requests()) != 0 {
		t.Fatalf("err = %v (%d requests), want a permanent error and nothing sent", err, len(f.requests()))
	}
}
