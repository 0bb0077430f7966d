package executions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/proto/redact"
	"github.com/mcpbox/mcpbox/proto/strictjson"
	"github.com/mcpbox/mcpbox/services/backend/internal/revision"
)

// Record field limits the table does not state (backend.md §9.6).
const (
	// MaxExposedNameChars bounds exposed_name: the name as called, which a
	// catalog or withheld entry matched (gateway.md §9).
	MaxExposedNameChars = 256
	// MaxToolHashChars bounds tool_hash ("sha256:" and 64 hex digits).
	MaxToolHashChars = 128
	// maxRecordDepth is the deepest JSON nesting of one record.
	maxRecordDepth = 256
)

// NotifyChannel is the channel of the one NOTIFY per ingested batch; the
// payload is {"count", "min_seq", "max_seq"} of the records stored.
const NotifyChannel = revision.ChannelExecutions

// IngestHandler serves POST /internal/v1/executions (backend.md §9.6) for a
// caller that the service-token guard already admitted: a body of
// {records: [...]} (application/json, 1–500 records, at most 4 MiB) answers
// 200 proto.ExecutionBatchResult, listing the records it refused by index;
// a malformed body answers 400, 413 or 415 and stores nothing; a database
// failure answers 500 and stores nothing, so the gateway sends the batch
// again.
func (s *Service) IngestHandler() http.Handler {
	return http.HandlerFunc(s.serveIngest)
}

func (s *Service) serveIngest(w http.ResponseWriter, r *http.Request) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		httpserve.WriteError(w, r, http.StatusUnsupportedMediaType, proto.Error{
			Code: proto.CodeUnsupportedMediaType, Message: "Content-Type must be application/json.",
		})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, proto.MaxExecutionBatchBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		httpserve.WriteError(w, r, http.StatusRequestEntityTooLarge, proto.Error{
			Code: proto.CodeRequestTooLarge,
			Message: fmt.Sprintf("The batch is over %d bytes; send at most %d records of at most that size in all.",
				proto.MaxExecutionBatchBytes, proto.MaxExecutionBatchRecords),
		})
		return
	case err != nil:
		httpserve.WriteError(w, r, http.StatusBadRequest, proto.Error{
			Code: proto.CodeInvalidJSON, Message: "The request body could not be read.",
		})
		return
	}
	raws, perr := decodeBatch(body)
	if perr != nil {
		httpserve.WriteError(w, r, http.StatusBadRequest, *perr)
		return
	}
	items := make([]item, 0, len(raws))
	var rejected []proto.RejectedRecord
	for i, raw := range raws {
		var rec proto.ExecutionRecord
		if err := strictjson.Decode(raw, &rec, strictjson.Options{MaxDepth: maxRecordDepth}); err != nil {
			rejected = append(rejected, proto.RejectedRecord{Index: i, Code: proto.CodeValidationFailed, Message: err.Error()})
			continue
		}
		items = append(items, item{index: i, rec: rec})
	}
	res, err := s.ingest(r.Context(), items)
	if err != nil {
		s.log.ErrorContext(r.Context(), "execution records not stored", obs.KeyError, err.Error())
		httpserve.WriteError(w, r, http.StatusInternalServerError, proto.Error{
			Code: proto.CodeInternal, Message: fmt.Sprintf("Internal error (request %s).", obs.RequestID(r.Context())),
		})
		return
	}
	s.ingested.WithLabelValues(resultRejected).Add(float64(len(rejected)))
	res.Rejected = append(res.Rejected, rejected...)
	slices.SortFunc(res.Rejected, func(a, b proto.RejectedRecord) int { return a.Index - b.Index })
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(res); err != nil {
		s.log.DebugContext(r.Context(), "ingestion answer not written", obs.KeyError, err.Error())
	}
}

// decodeBatch reads {records: [...]} strictly and returns each record's raw
// JSON, so that one malformed record is reported alone.
func decodeBatch(body []byte) ([]json.RawMessage, *proto.Error) {
	var batch struct {
		Records []json.RawMessage `json:"records"`
	}
	if err := strictjson.Decode(body, &batch, strictjson.Options{MaxDepth: maxRecordDepth + 2}); err != nil {
		var se *strictjson.Error
		if errors.As(err, &se) && !se.Syntax {
			return nil, fieldError(se.Path, se.Rule)
		}
		return nil, &proto.Error{Code: proto.CodeInvalidJSON, Message: "The request body is not valid JSON: " + err.Error() + "."}
	}
	if len(batch.Records) < 1 || len(batch.Records) > proto.MaxExecutionBatchRecords {
		return nil, fieldError("records", fmt.Sprintf("must hold 1 to %d records, not %d; split larger batches.",
			proto.MaxExecutionBatchRecords, len(batch.Records)))
	}
	return batch.Records, nil
}

func fieldError(field, msg string) *proto.Error {
	if field != "" {
		msg = field + ": " + msg
	}
	return &proto.Error{
		Code: proto.CodeValidationFailed, Message: msg, Field: field,
		Details: []proto.FieldError{{Field: field, Message: msg}},
	}
}

// item is a record with its index in the batch.
type item struct {
	index int
	rec   proto.ExecutionRecord
}

// Ingest stores gateway records (backend.md §9.6) as one batch: each record
// is checked, redacted and truncated (§12.3), then inserted unless its id
// is stored already. A refused record is listed by its index and never
// refuses the others. An error (database, or a secret that does not open)
// stores nothing: the batch may be sent again, as it is idempotent.
func (s *Service) Ingest(ctx context.Context, records []proto.ExecutionRecord) (proto.ExecutionBatchResult, error) {
	items := make([]item, len(records))
	for i, r := range records {
		items[i] = item{index: i, rec: r}
	}
	return s.ingest(ctx, items)
}

func (s *Service) ingest(ctx context.Context, items []item) (proto.ExecutionBatchResult, error) {
	res := proto.ExecutionBatchResult{Rejected: []proto.RejectedRecord{}}
	now := time.Now()
	type row struct {
		index  int
		params dbq.InsertExecutionRecordParams
	}
	var rows []row
	scrubbers := map[uuid.UUID]scrubber{}
	for _, it := range items {
		p, err := toParams(it.rec, now)
		if err == nil {
			var sc scrubber
			sc, err = s.scrubberFor(ctx, p.ServerID, scrubbers)
			if err != nil {
				return proto.ExecutionBatchResult{}, err
			}
			err = sc.apply(it.rec, &p)
		}
		if err != nil {
			res.Rejected = append(res.Rejected, proto.RejectedRecord{
				Index: it.index, Code: proto.CodeValidationFailed, Message: err.Error(),
			})
			continue
		}
		rows = append(rows, row{index: it.index, params: p})
	}
	var accepted, duplicates int
	if len(rows) > 0 {
		err := s.store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
			accepted, duplicates = 0, 0
			minSeq, maxSeq := int64(math.MaxInt64), int64(0)
			for _, r := range rows {
				seq, err := q.InsertExecutionRecord(ctx, r.params)
				switch {
				case errors.Is(err, db.ErrNotFound):
					duplicates++
					continue
				case err != nil:
					return fmt.Errorf("insert execution record %s (batch index %d): %w", r.params.ID, r.index, err)
				}
				accepted++
				minSeq, maxSeq = min(minSeq, seq), max(maxSeq, seq)
			}
			if accepted == 0 {
				return nil
			}
			payload := fmt.Sprintf(`{"count":%d,"min_seq":%d,"max_seq":%d}`, accepted, minSeq, maxSeq)
			return q.Notify(ctx, dbq.NotifyParams{Channel: NotifyChannel, Payload: payload})
		})
		if err != nil {
			return proto.ExecutionBatchResult{}, fmt.Errorf("store execution records: %w", err)
		}
	}
	s.ingested.WithLabelValues(resultAccepted).Add(float64(accepted))
	s.ingested.WithLabelValues(resultDuplicate).Add(float64(duplicates))
	s.ingested.WithLabelValues(resultRejected).Add(float64(len(res.Rejected)))
	res.Accepted, res.Duplicates = accepted, duplicates
	return res, nil
}

// scrubberFor returns the scrubber of a server's records: one Redactor of
// every secret of the server that has a value (backend.md §12.3 step 1).
// A record without server, or of a deleted server, has no secrets.
func (s *Service) scrubberFor(ctx context.Context, serverID *uuid.UUID, cache map[uuid.UUID]scrubber) (scrubber, error) {
	key := uuid.Nil
	if serverID != nil {
		key = *serverID
	}
	if sc, ok := cache[key]; ok {
		return sc, nil
	}
	var list []redact.Secret
	if key != uuid.Nil {
		names, err := s.store.ListServerSecretNamesWithValue(ctx, key)
		if err != nil {
			return scrubber{}, fmt.Errorf("list the secrets of server %s: %w", key, err)
		}
		values, _, err := s.secrets.Values(ctx, key, names)
		if err != nil {
			return scrubber{}, err
		}
		for _, n := range names {
			if v, ok := values[n]; ok {
				list = append(list, redact.Secret{Name: n, Value: v})
			}
		}
	}
	sc := scrubber{r: redact.New(list, redact.Named)}
	cache[key] = sc
	return sc, nil
}

// apply scrubs the free-form fields of rec into p.
func (sc scrubber) apply(rec proto.ExecutionRecord, p *dbq.InsertExecutionRecordParams) error {
	args, err := sc.args(rec.InputArgs)
	if err != nil {
		return fmt.Errorf("input_args: %w", err)
	}
	result, err := sc.result(rec.Result)
	if err != nil {
		return fmt.Errorf("result: %w", err)
	}
	p.InputArgs, p.Result = args, result
	if rec.Error != "" {
		e := sc.text(rec.Error, MaxErrorChars)
		p.Error = &e
	}
	if rec.Stdout != "" {
		out := sc.text(rec.Stdout, MaxStdoutChars)
		p.Stdout = &out
	}
	return nil
}

// toParams checks the structured fields of a gateway record (backend.md
// §9.6, the CHECK constraints of execution_records) and converts them; the
// error is a *proto.RuleError naming the field.
func toParams(rec proto.ExecutionRecord, now time.Time) (dbq.InsertExecutionRecordParams, error) {
	var p dbq.InsertExecutionRecordParams
	id, err := parseID("id", rec.ID)
	if err != nil {
		return p, err
	}
	if id == nil {
		return p, &proto.RuleError{Field: "id", Message: "required: the record's UUID, made by the gateway."}
	}
	p.ID = *id
	if p.ToolID, err = parseID("tool_id", rec.ToolID); err != nil {
		return p, err
	}
	if p.ServerID, err = parseID("server_id", rec.ServerID); err != nil {
		return p, err
	}
	switch {
	case rec.ToolVersion < 0 || rec.ToolVersion > math.MaxInt32:
		return p, &proto.RuleError{Field: "tool_version", Message: "must be a version number of at least 1 (omit it when unknown)."}
	case rec.ToolVersion > 0:
		v := int32(rec.ToolVersion)
		p.ToolVersion = &v
	}
	if rec.ToolHash != "" {
		if len(rec.ToolHash) > MaxToolHashChars || !printableASCII(rec.ToolHash) {
			return p, &proto.RuleError{Field: "tool_hash", Message: fmt.Sprintf(
				"must be the version's hash (sha256:<hex>), at most %d printable ASCII characters.", MaxToolHashChars)}
		}
		p.ToolHash = &rec.ToolHash
	}
	if rec.ExposedName == "" || utf8.RuneCountInString(rec.ExposedName) > MaxExposedNameChars ||
		!utf8.ValidString(rec.ExposedName) || strings.ContainsRune(rec.ExposedName, 0) {
		return p, &proto.RuleError{Field: "exposed_name", Message: fmt.Sprintf(
			"required: the name as called, 1 to %d characters without NUL.", MaxExposedNameChars)}
	}
	p.ExposedName = rec.ExposedName
	switch rec.Via {
	case proto.ViaDirect, proto.ViaRunTool:
		p.Via = string(rec.Via)
	case "":
		p.Via = string(proto.ViaDirect)
	default:
		return p, &proto.RuleError{Field: "via", Message: fmt.Sprintf(
			"must be %q or %q; test runs are recorded by the backend itself.", proto.ViaDirect, proto.ViaRunTool)}
	}
	if err := callerParams(rec.Caller, &p); err != nil {
		return p, err
	}
	p.Success = rec.Success
	if rec.ErrorCode != "" {
		if !validErrorCode(rec.ErrorCode) {
			return p, &proto.RuleError{Field: "error_code", Message: "must match ^[a-z_]{1,40}$ (an outcome or a sandbox error type in snake_case)."}
		}
		p.ErrorCode = &rec.ErrorCode
	}
	if rec.DurationMS < 0 || rec.DurationMS > math.MaxInt32 {
		return p, &proto.RuleError{Field: "duration_ms", Message: "must be 0 to " + strconv.Itoa(math.MaxInt32) + " milliseconds."}
	}
	p.DurationMs = int32(rec.DurationMS)
	switch {
	case rec.StartedAt.IsZero():
		return p, &proto.RuleError{Field: "started_at", Message: "required: when the call started, RFC 3339."}
	case rec.StartedAt.After(now.Add(proto.MaxRecordFutureSkew)):
		return p, &proto.RuleError{Field: "started_at", Message: fmt.Sprintf(
			"is more than %s in the future; check the gateway's clock.", proto.MaxRecordFutureSkew)}
	}
	p.StartedAt = rec.StartedAt
	if rec.RequestID != "" {
		if !proto.ValidRequestID(rec.RequestID) {
			return p, &proto.RuleError{Field: "request_id", Message: "must be 1 to 128 characters of [A-Za-z0-9._:-]."}
		}
		p.RequestID = &rec.RequestID
	}
	return p, nil
}

// callerParams checks caller {kind, email?, sub?}: the gateway reports
// local and remote callers only, and identity is never guessed (§9.1).
func callerParams(c proto.Caller, p *dbq.InsertExecutionRecordParams) error {
	switch c.Kind {
	case proto.CallerLocal, proto.CallerRemote:
		p.CallerKind = string(c.Kind)
	default:
		return &proto.RuleError{Field: "caller.kind", Message: fmt.Sprintf(
			"must be %q or %q; the gateway names every caller.", proto.CallerLocal, proto.CallerRemote)}
	}
	if c.Email != "" {
		if !proto.ValidEmail(c.Email) {
			return &proto.RuleError{Field: "caller.email", Message: "must be the caller's verified email address, at most 254 characters."}
		}
		email := strings.ToLower(c.Email)
		p.CallerEmail = &email
	}
	if c.Sub != "" {
		if !proto.ValidSub(c.Sub) {
			return &proto.RuleError{Field: "caller.sub", Message: "must be 1 to 255 printable ASCII characters."}
		}
		p.CallerSub = &c.Sub
	}
	return nil
}

// parseID reads an optional UUID field in its canonical form.
func parseID(field, s string) (*uuid.UUID, error) {
	if s == "" {
		return nil, nil //nolint:nilnil // absent is neither a value nor an error
	}
	id, err := uuid.Parse(s)
	if err != nil || len(s) != 36 || id == uuid.Nil {
		return nil, &proto.RuleError{Field: field, Message: "must be a UUID such as 0d4a1c6e-3f2b-4c1d-9e8f-a1b2c3d4e5f6."}
	}
	return &id, nil
}

func validErrorCode(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for i := range len(s) {
		if (s[i] < 'a' || s[i] > 'z') && s[i] != '_' {
			return false
		}
	}
	return true
}

func printableASCII(s string) bool {
	for i := range len(s) {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
