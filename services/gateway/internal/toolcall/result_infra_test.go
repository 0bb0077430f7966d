package toolcall

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/sandbox"
)

func TestInfrastructureTexts(t *testing.T) {
	t.Parallel()
	c := testCall()
	cases := []struct {
		name    string
		m       Mapped
		outcome proto.Outcome
		text    string
	}{
		{
			"circuit open", CircuitOpen(c, 5, 29200*time.Millisecond), proto.OutcomeSandboxUnavailable,
			"The MCPbox sandbox is unavailable (5 consecutive failures); the tool did not run. Retry in about 30 s.",
		},
		{
			"circuit open, probe in flight", CircuitOpen(c, 6, 0), proto.OutcomeSandboxUnavailable,
			"The MCPbox sandbox is unavailable (6 consecutive failures); the tool did not run. Retry in about 1 s.",
		},
		{
			"saturated", Saturated(c), proto.OutcomeSandboxUnavailable,
			"The MCPbox sandbox is at capacity; the tool did not run. Retry in a moment.",
		},
		{
			"plan not obtained", PlanUnavailable(c), proto.OutcomeUnavailable,
			"MCPbox cannot reach its backend to prepare weather__forecast; the tool did not run. Retry shortly.",
		},
		{
			"connection refused", Unreachable(c), proto.OutcomeSandboxUnavailable,
			"The MCPbox sandbox is unreachable; the tool did not run.",
		},
		{
			"timeout", NoResult(c, "timeout after 45 s"), proto.OutcomeSandboxError,
			"The MCPbox sandbox did not return a result for weather__forecast (timeout after 45 s). The tool may have run; " +
				"it was not retried. Check its effects before calling it again.",
		},
		{
			"connection lost", NoResult(c, "connection lost"), proto.OutcomeSandboxError,
			"The MCPbox sandbox did not return a result for weather__forecast (connection lost). The tool may have run; " +
				"it was not retried. Check its effects before calling it again.",
		},
		{
			"5xx", NoResult(c, "HTTP 502"), proto.OutcomeSandboxError,
			"The MCPbox sandbox did not return a result for weather__forecast (HTTP 502). The tool may have run; " +
				"it was not retried. Check its effects before calling it again.",
		},
		{
			"integrity", Integrity(c), proto.OutcomeIntegrityError,
			"MCPbox refused to run weather__forecast: the code does not match its approved version. The admin has been alerted.",
		},
		{
			"internal", Internal(c), proto.OutcomeInternalError,
			"MCPbox failed internally while running weather__forecast (request id req-7).",
		},
		{
			"cancelled", Cancelled(c), proto.OutcomeCancelled,
			"The call of weather__forecast was cancelled before it returned a result. The tool may have run.",
		},
	}
	for _, tc := range cases {
		if tc.m.Outcome != tc.outcome || tc.m.ErrorCode != string(tc.outcome) {
			t.Errorf("%s: outcome %q, error code %q; want %q", tc.name, tc.m.Outcome, tc.m.ErrorCode, tc.outcome)
		}
		if got := onlyText(t, tc.m.Result); got != tc.text || tc.m.Error != tc.text {
			t.Errorf("%s: text =\n%s\nwant\n%s", tc.name, got, tc.text)
		}
		if !tc.m.Result.IsError || tc.m.Result.StructuredContent != nil {
			t.Errorf("%s: isError %v, structuredContent %v; want an error without structuredContent",
				tc.name, tc.m.Result.IsError, tc.m.Result.StructuredContent)
		}
		w := decodeWire(t, tc.m.Result)
		want := ExecutionMeta{RequestID: "req-7", ToolID: "0b6c7c1e-tool", Version: 3, DurationMS: 1500}
		if em := executionMeta(t, w); em != want {
			t.Errorf("%s: execution meta = %+v, want %+v", tc.name, em, want)
		}
	}
}

func TestFromSandboxError(t *testing.T) {
	t.Parallel()
	c := testCall()
	cases := []struct {
		err     error
		outcome proto.Outcome
		text    string
	}{
		{
			&sandbox.Error{Kind: sandbox.CircuitOpen, Failures: 5, RetryAfter: 12 * time.Second}, proto.OutcomeSandboxUnavailable,
			CircuitOpen(c, 5, 12*time.Second).Error,
		},
		{&sandbox.Error{Kind: sandbox.Saturated, Status: 429}, proto.OutcomeSandboxUnavailable, Saturated(c).Error},
		{&sandbox.Error{Kind: sandbox.HashMismatch, Status: 409}, proto.OutcomeIntegrityError, Integrity(c).Error},
		{&sandbox.Error{Kind: sandbox.Unreachable}, proto.OutcomeSandboxUnavailable, Unreachable(c).Error},
		{
			fmt.Errorf("execute: %w", &sandbox.Error{Kind: sandbox.NoResult, Cause: "timeout after 1.2 s"}), proto.OutcomeSandboxError,
			NoResult(c, "timeout after 1.2 s").Error,
		},
		{&sandbox.Error{Kind: sandbox.Rejected, Status: 400}, proto.OutcomeInternalError, Internal(c).Error},
		{&sandbox.Error{Kind: sandbox.Cancelled, Err: context.Canceled}, proto.OutcomeCancelled, Cancelled(c).Error},
		{context.Canceled, proto.OutcomeCancelled, Cancelled(c).Error},
		{errors.New("sandbox execute: encode the request: bad"), proto.OutcomeInternalError, Internal(c).Error},
	}
	for _, tc := range cases {
		m := FromSandboxError(c, tc.err)
		if m.Outcome != tc.outcome || onlyText(t, m.Result) != tc.text {
			t.Errorf("FromSandboxError(%v) = %q %q, want %q %q", tc.err, m.Outcome, onlyText(t, m.Result), tc.outcome, tc.text)
		}
	}
}
