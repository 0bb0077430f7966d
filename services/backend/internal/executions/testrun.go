package executions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
)

// TestRun is one test run of a tool version as the sandbox answered it
// (backend.md §11.2), before redaction.
type TestRun struct {
	ToolID      uuid.UUID
	ServerID    uuid.UUID
	ToolVersion int
	ToolHash    string
	ExposedName string
	// Caller is admin for the admin API, or the LLM caller of
	// mcpbox_test_code (local or remote, with its identity).
	Caller proto.Caller
	// Arguments are the arguments sent ({} when none).
	Arguments json.RawMessage
	// Response is the sandbox's answer to /v1/execute.
	Response  proto.ExecuteResponse
	StartedAt time.Time
	RequestID string
}

// StoredTest is a stored test run: its record id and the sandbox's answer
// with every string redacted with the server's secrets (§12.3 step 1),
// JSON keys included, but not cut, for the caller to see. HTTPCalls is
// always nil.
type StoredTest struct {
	ID       uuid.UUID
	Response proto.ExecuteResponse
}

// StoreTest redacts a test run with the secrets of its server and stores
// it as an execution record with via "test" and is_test true (backend.md
// §11.2, §12.3): exactly the redaction and truncation of ingested records,
// and one NOTIFY on NotifyChannel. The returned answer is redacted the same
// way, so what the caller sees and what is stored hold no secret value.
// A record the table would refuse (a bad caller, request id or error type)
// is a *proto.RuleError naming the field; nothing is stored then.
func (s *Service) StoreTest(ctx context.Context, run TestRun) (StoredTest, error) {
	sc, err := s.scrubberFor(ctx, &run.ServerID, map[uuid.UUID]scrubber{})
	if err != nil {
		return StoredTest{}, err
	}
	shown, err := sc.response(run.Response)
	if err != nil {
		return StoredTest{}, err
	}
	rec, kind, err := testRecord(run)
	if err != nil {
		return StoredTest{}, err
	}
	p, err := toParams(rec, time.Now())
	if err != nil {
		return StoredTest{}, err
	}
	p.Via, p.IsTest, p.CallerKind = string(proto.ViaTest), true, string(kind)
	if err := sc.apply(rec, &p); err != nil {
		return StoredTest{}, err
	}
	err = s.store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		seq, err := q.InsertExecutionRecord(ctx, p)
		if err != nil {
			return fmt.Errorf("insert test run record %s: %w", p.ID, err)
		}
		return q.Notify(ctx, dbq.NotifyParams{
			Channel: NotifyChannel, Payload: fmt.Sprintf(`{"count":1,"min_seq":%d,"max_seq":%d}`, seq, seq),
		})
	})
	if err != nil {
		return StoredTest{}, fmt.Errorf("store the test run of %s: %w", run.ExposedName, err)
	}
	s.ingested.WithLabelValues(resultAccepted).Inc()
	return StoredTest{ID: p.ID, Response: shown}, nil
}

// testRecord is a test run as a gateway record, so it goes through the
// same checks (toParams) and scrubbing (apply). toParams accepts only the
// gateway's via values and caller kinds; the record is checked as direct
// and local and the caller's kind is returned for the stored row.
func testRecord(run TestRun) (proto.ExecutionRecord, proto.CallerKind, error) {
	kind := run.Caller.Kind
	caller := run.Caller
	switch kind {
	case proto.CallerAdmin:
		if caller.Email != "" || caller.Sub != "" {
			return proto.ExecutionRecord{}, "", &proto.RuleError{Field: "caller", Message: "an admin caller has no email or sub."}
		}
		caller.Kind = proto.CallerLocal
	case proto.CallerLocal, proto.CallerRemote:
	default:
		return proto.ExecutionRecord{}, "", &proto.RuleError{Field: "caller.kind", Message: fmt.Sprintf(
			"must be %q, %q or %q.", proto.CallerAdmin, proto.CallerLocal, proto.CallerRemote)}
	}
	r := run.Response
	rec := proto.ExecutionRecord{
		ID: uuid.NewString(), ToolID: run.ToolID.String(), ServerID: run.ServerID.String(),
		ToolVersion: run.ToolVersion, ToolHash: run.ToolHash, ExposedName: run.ExposedName,
		Via: proto.ViaDirect, Caller: caller, Success: r.OK, InputArgs: run.Arguments,
		Stdout: r.Stdout, DurationMS: r.DurationMS, StartedAt: run.StartedAt, RequestID: run.RequestID,
	}
	if r.OK {
		rec.Result = r.Result
	}
	if r.Error != nil {
		rec.ErrorCode = r.Error.Type.SnakeCase()
		rec.Error = r.Error.Message
	}
	return rec, kind, nil
}

// response redacts every string of an answer with the server's secrets:
// result, content_text, stdout and the error object with its HTTP details.
// Nothing is cut; NUL stays out as in stored records.
func (sc scrubber) response(r proto.ExecuteResponse) (proto.ExecuteResponse, error) {
	out := r
	out.HTTPCalls = nil
	out.ContentText = clean(sc.r.String(r.ContentText))
	out.Stdout = clean(sc.r.String(r.Stdout))
	if len(r.Result) > 0 {
		res, err := sc.document(r.Result, false)
		if err != nil {
			return proto.ExecuteResponse{}, fmt.Errorf("the sandbox's result: %w", err)
		}
		if res == nil {
			res = json.RawMessage("null")
		}
		out.Result = res
	}
	if r.Error != nil {
		raw, err := json.Marshal(r.Error)
		if err != nil {
			return proto.ExecuteResponse{}, fmt.Errorf("the sandbox's error: %w", err)
		}
		if raw, err = sc.document(raw, false); err != nil {
			return proto.ExecuteResponse{}, fmt.Errorf("the sandbox's error: %w", err)
		}
		var e proto.ExecutionError
		if err := json.Unmarshal(raw, &e); err != nil {
			return proto.ExecuteResponse{}, errors.Join(errors.New("the sandbox's error does not decode after redaction"), err)
		}
		out.Error = &e
	}
	return out, nil
}
