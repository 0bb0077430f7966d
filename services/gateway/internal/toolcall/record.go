package toolcall

import (
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/records"
)

// record builds the call's execution record (gateway.md §9), prepared by
// records.Prepare: arguments redacted by key and by the plan's secret
// values, every free-form field cut.
func (st *callState) record(m Mapped, elapsed time.Duration) proto.ExecutionRecord {
	rec := proto.ExecutionRecord{
		ID:          uuid.NewString(),
		RequestID:   st.requestID,
		StartedAt:   st.start.UTC(),
		DurationMS:  elapsed.Milliseconds(),
		ExposedName: st.name,
		Via:         st.via,
		Caller:      ProtoCaller(st.caller),
		Success:     m.Outcome == proto.OutcomeOK,
		ErrorCode:   m.ErrorCode,
		Error:       m.Error,
		InputArgs:   st.args,
		Result:      st.result,
		Stdout:      st.stdout,
	}
	switch {
	case st.entry != nil:
		rec.ToolID, rec.ServerID, rec.ToolVersion, rec.ToolHash = st.entry.ToolID, st.entry.ServerID, st.entry.Version, st.entry.Hash
	case st.withheld != nil:
		rec.ToolID, rec.ServerID, rec.ToolVersion = st.withheld.ToolID, st.withheld.ServerID, st.withheld.Version
	}
	if rec.Success {
		rec.ErrorCode, rec.Error = "", ""
	} else if rec.ErrorCode == "" {
		rec.ErrorCode = string(m.Outcome)
	}
	return records.Prepare(rec, secretValues(st.plan))
}

// secretValues are the values a record must not hold: the plan's secrets
// and, for an external tool, its resolved auth headers, whole and without
// their scheme ("Bearer <token>" → "<token>"). Values shorter than the
// redaction minimum are ignored by records.Prepare.
func secretValues(p *proto.Plan) []string {
	if p == nil {
		return nil
	}
	vals := make([]string, 0, len(p.Secrets))
	for _, v := range p.Secrets {
		vals = append(vals, v)
	}
	if p.External != nil {
		for _, v := range p.External.Headers {
			vals = append(vals, v)
			if _, token, ok := strings.Cut(v, " "); ok {
				vals = append(vals, strings.TrimSpace(token))
			}
		}
	}
	slices.Sort(vals) // map order would make the redactor's input vary from call to call
	return slices.Compact(vals)
}
