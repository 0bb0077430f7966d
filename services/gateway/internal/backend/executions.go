package backend

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
)

// PostExecutions sends one batch of execution records: POST
// /internal/v1/executions with proto.ExecutionBatch (backend.md §9.6)
// within 30 s. An empty batch sends nothing. Any 2xx is success: the
// backend stored what it could, and records it rejected one by one (a
// record never rejects the batch) are logged with their count and the first
// one's index and code, not returned, because sending them again cannot
// help. A failure is a *TransportError (retryable), an *HTTPError, whose
// Permanent reports a 4xx (drop the batch) and HTTPStatus the status, or a
// *RequestError (records that do not encode; permanent); all three satisfy
// interface{ Permanent() bool; HTTPStatus() int }. The backend
// inserts idempotently by record id, so a batch may be sent again.
func (c *Client) PostExecutions(ctx context.Context, records []proto.ExecutionRecord) (err error) {
	if len(records) == 0 {
		return nil
	}
	body, err := json.Marshal(proto.ExecutionBatch{Records: records})
	if err != nil {
		return &RequestError{Endpoint: EndpointExecutions, Err: fmt.Errorf("encode %d records: %w", len(records), err)}
	}
	defer func() { c.observe(ctx, EndpointExecutions, err) }()
	a, err := c.do(ctx, call{
		endpoint: EndpointExecutions, method: http.MethodPost, path: proto.PathInternalExecutions,
		body: body, timeout: executionTimeout, maxBody: maxAnswerBytes,
	})
	if err != nil {
		return err
	}
	if a.status < 200 || a.status > 299 {
		return newHTTPError(EndpointExecutions, a.status, a.body)
	}
	var res proto.ExecutionBatchResult
	if json.Unmarshal(a.body, &res) == nil && len(res.Rejected) > 0 {
		first := res.Rejected[0]
		attrs := []any{
			slog.Int(obs.KeyCount, len(res.Rejected)),
			slog.String(obs.KeyErrorCode, first.Code),
			slog.String(obs.KeyError, first.Message),
		}
		if first.Index >= 0 && first.Index < len(records) {
			attrs = append(attrs, slog.String(obs.KeyExecutionID, records[first.Index].ID))
		}
		c.log.WarnContext(ctx, "the backend rejected execution records", attrs...)
	}
	return nil
}
