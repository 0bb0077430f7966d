package toolcall

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/gateway/internal/backend"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/catalog"
	"github.com/mcpbox/mcpbox/services/gateway/internal/plans"
)

// callState is what one call learns on its way: what the name matched,
// the plan, what the sandbox sent back. The record and the metrics are
// built from it.
type callState struct {
	caller    caller.Caller
	name      string
	via       proto.Via
	requestID string
	start     time.Time
	// args are the arguments as received ({} when absent).
	args json.RawMessage
	// entry or withheld is what the name matched in the snapshot.
	entry    *catalog.Entry
	withheld *proto.WithheldTool
	// plan is set once obtained (its secret values redact the record).
	plan *proto.Plan
	// result and stdout are the sandbox's, for the record.
	result json.RawMessage
	stdout string
}

func newCallState(c caller.Caller, name string, args json.RawMessage, via proto.Via, requestID string) *callState {
	return &callState{caller: c, name: name, via: via, requestID: requestID, start: time.Now(), args: args}
}

// elapsed is the time since the call began.
func (st *callState) elapsed() time.Duration { return time.Since(st.start) }

// matched reports whether the name matched a catalog or withheld entry:
// only such calls are recorded (gateway.md §9).
func (st *callState) matched() bool { return st.entry != nil || st.withheld != nil }

// call identifies the call for the result mappers.
func (st *callState) call() Call {
	c := Call{RequestID: st.requestID, ExposedName: st.name, Elapsed: st.elapsed()}
	switch {
	case st.entry != nil:
		c.ToolID, c.Version = st.entry.ToolID, st.entry.Version
	case st.withheld != nil:
		c.ToolID, c.Version = st.withheld.ToolID, st.withheld.Version
	}
	if st.plan != nil {
		c.Limits = st.plan.Limits
	}
	return c
}

// server, labelName and kind are the metric labels' sources: the matched
// entry's server, exposed name and kind ("" when nothing matched).
func (st *callState) server() string {
	if st.entry != nil {
		return st.entry.ServerName
	}
	if st.withheld != nil {
		server, _, _ := proto.SplitExposedName(st.withheld.Name)
		return server
	}
	return ""
}

func (st *callState) labelName() string {
	if st.matched() {
		return st.name
	}
	return ""
}

func (st *callState) kind() proto.ToolKind {
	if st.entry != nil {
		return st.entry.Kind
	}
	return ""
}

// run takes the steps of gateway.md §8.1 from the lookup on.
func (s *Service) run(ctx context.Context, st *callState) Mapped {
	if strings.HasPrefix(st.name, proto.ReservedPrefix) {
		return NotCallable(NotManagementText(st.name))
	}
	snap, err := s.cat.CheckCatalog()
	if snap != nil {
		if e, ok := snap.Lookup(st.name); ok {
			st.entry = e
		} else if w, ok := snap.Withheld(st.name); ok {
			st.withheld = &w
		}
	}
	if err != nil {
		text, known := CatalogRefusalText(st.name, err)
		if !known {
			s.log.ErrorContext(ctx, "catalog check failed", obs.KeyExposedName, st.name, obs.KeyError, err.Error())
			return Internal(st.call())
		}
		if st.matched() {
			return Unavailable(st.call(), text)
		}
		return NotCallable(text)
	}
	switch {
	case st.withheld != nil:
		return Unavailable(st.call(), WithheldText(*st.withheld))
	case st.entry == nil:
		return NotCallable(UnknownToolText(st.name))
	}

	args, refusal := ValidateArguments(st.name, s.validators.get(ctx, st.entry), st.args)
	st.args = args
	if refusal != "" {
		return InvalidArguments(st.call(), refusal)
	}
	if m, ok := s.plan(ctx, st); !ok {
		return m
	}
	if ctx.Err() != nil {
		return Cancelled(st.call())
	}
	return s.execute(ctx, st)
}

// plan obtains the call plan (gateway.md §8.3); ok is false when the call
// ends here, with the result to return.
func (s *Service) plan(ctx context.Context, st *callState) (Mapped, bool) {
	e := st.entry
	toolID, err1 := uuid.Parse(e.ToolID)
	serverID, err2 := uuid.Parse(e.ServerID)
	if err := errors.Join(err1, err2); err != nil {
		s.log.ErrorContext(ctx, "catalog entry has an unreadable id", obs.KeyExposedName, st.name,
			obs.KeyToolID, e.ToolID, obs.KeyError, err.Error())
		return Internal(st.call()), false
	}
	p, err := s.plans.Get(ctx, toolID, serverID, e.Version, e.Hash)
	if err == nil {
		st.plan = &p
		return Mapped{}, true
	}
	var (
		gone      *backend.NotCallableError
		refused   *backend.PlanRefusedError
		integrity *plans.IntegrityError
	)
	attrs := []any{obs.KeyExposedName, st.name, obs.KeyToolID, e.ToolID, obs.KeyToolVersion, e.Version, obs.KeyError, err.Error()}
	switch {
	case ctx.Err() != nil:
		return Cancelled(st.call()), false
	case errors.As(err, &gone):
		s.cat.Refresh()
		s.log.InfoContext(ctx, "the backend no longer knows a tool of the catalog", attrs...)
		return Unavailable(st.call(), UnknownToolText(st.name)), false
	case errors.As(err, &refused):
		s.cat.Refresh()
		s.log.InfoContext(ctx, "the backend refused the plan of a catalog tool", append(attrs, obs.KeyErrorCode, refused.Code)...)
		return PlanRefused(st.call(), refused.Code, refused.Message), false
	case errors.As(err, &integrity):
		s.log.ErrorContext(ctx, "plan hash differs from the catalog's pinned hash; the tool was not run", attrs...)
		return Integrity(st.call()), false
	}
	s.log.WarnContext(ctx, "call plan not obtained; the tool was not run", attrs...)
	return PlanUnavailable(st.call()), false
}

// execute sends the one sandbox request of the plan's kind and maps the
// answer (gateway.md §8.4–§8.6).
func (s *Service) execute(ctx context.Context, st *callState) Mapped {
	p := st.plan
	if p.Kind != st.entry.Kind {
		s.log.ErrorContext(ctx, "plan kind differs from the catalog's", obs.KeyExposedName, st.name,
			obs.KeyToolID, st.entry.ToolID, obs.KeyKind, string(p.Kind))
		return Internal(st.call())
	}
	var (
		m   Mapped
		err error
	)
	switch p.Kind {
	case proto.ToolKindGo:
		var resp proto.ExecuteResponse
		resp, err = s.sandbox.Execute(ctx, p.ExecuteRequest(st.requestID, st.args))
		if err == nil {
			st.stdout = resp.Stdout
			if resp.OK {
				st.result = resp.Result
			}
			m = MapExecute(st.call(), resp)
		}
	case proto.ToolKindExternal:
		req, ok := p.MCPCallRequest(st.requestID, st.args)
		if !ok {
			s.log.ErrorContext(ctx, "external plan without its external part", obs.KeyExposedName, st.name,
				obs.KeyToolID, st.entry.ToolID)
			return Internal(st.call())
		}
		var resp proto.MCPCallResponse
		resp, err = s.sandbox.MCPCall(ctx, req)
		if err == nil {
			if resp.OK {
				st.result = resp.Result
			}
			m = MapExternal(st.call(), resp)
		}
	default:
		s.log.ErrorContext(ctx, "catalog entry of an unknown kind", obs.KeyExposedName, st.name, obs.KeyKind, string(p.Kind))
		return Internal(st.call())
	}
	if err != nil {
		m = FromSandboxError(st.call(), err)
		s.logSandboxFailure(ctx, st, m.Outcome, err)
	}
	return m
}

// logSandboxFailure logs a call that got no tool result: integrity and
// internal errors at error level, the rest (which the breaker and the
// sandbox metrics also see) at warn; a cancelled call is not a failure.
func (s *Service) logSandboxFailure(ctx context.Context, st *callState, outcome proto.Outcome, err error) {
	attrs := []any{
		obs.KeyExposedName, st.name, obs.KeyToolID, st.entry.ToolID, obs.KeyToolVersion, st.entry.Version,
		obs.KeyOutcome, string(outcome), obs.KeyError, err.Error(),
	}
	switch outcome {
	case proto.OutcomeCancelled:
	case proto.OutcomeIntegrityError:
		s.log.ErrorContext(ctx, "the sandbox refused the pinned hash; the tool was not run", attrs...)
	case proto.OutcomeInternalError:
		s.log.ErrorContext(ctx, "sandbox call failed unexpectedly", attrs...)
	default:
		s.log.WarnContext(ctx, "sandbox call brought no result", attrs...)
	}
}
