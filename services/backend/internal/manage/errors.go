package manage

import (
	"errors"
	"fmt"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/catalog"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
	"github.com/mcpbox/mcpbox/services/backend/internal/secrets"
	"github.com/mcpbox/mcpbox/services/backend/internal/servers"
	"github.com/mcpbox/mcpbox/services/backend/internal/testrun"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
)

// opError is a tool-level error written for the caller (§10.1).
type opError struct{ e proto.Error }

// Error implements error.
func (o *opError) Error() string { return o.e.Message }

// fail is an error with a code and a message for the caller.
func fail(code, format string, args ...any) *opError {
	return &opError{e: proto.Error{Code: code, Message: fmt.Sprintf(format, args...)}}
}

// fieldFail is validation_failed "<field>: <rule>" naming the field.
func fieldFail(field, rule string) *opError {
	msg := field + ": " + rule
	return &opError{e: proto.Error{
		Code: proto.CodeValidationFailed, Message: msg, Field: field,
		Details: []proto.FieldError{{Field: field, Message: rule}},
	}}
}

// withField sets the failing field.
func (o *opError) withField(field string) *opError {
	o.e.Field = field
	return o
}

func serverNotFound(id string) *opError {
	return fail(proto.CodeNotFound, "Server %s not found. Use mcpbox_list_servers to see existing servers.", id).
		withField("server_id")
}

func toolNotFound(id string) *opError {
	return fail(proto.CodeNotFound, "Tool %s not found. Use mcpbox_list_tools to see existing tools.", id).
		withField("tool_id")
}

// toError maps an operation's error to the body error of §10.1 and §15.1;
// anything unexpected is internal, with the request id and no internal
// text.
func (s *Service) toError(c *call, err error) *proto.Error {
	var (
		op          *opError
		rule        *proto.RuleError
		serverTaken *servers.NameTakenError
		toolTaken   *tools.NameTakenError
		version     *tools.VersionNotFoundError
		state       *tools.InvalidStateError
		quota       *tools.QuotaError
		invalid     *tools.CodeInvalidError
		forbidden   *tools.PackageForbiddenError
		sandbox     *sandboxclient.Error
		reviewState *approvals.InvalidStateError
		covered     *approvals.AlreadyCoveredError
		rejected    *approvals.AlreadyRejectedError
		pkgDenied   *approvals.PackageForbiddenError
		secretTaken *secrets.AlreadyExistsError
		testArgs    *testrun.ArgumentsError
		noCode      *testrun.NoCodeError
		refused     *catalog.RefusedError
	)
	switch {
	case errors.As(err, &op):
		e := op.e
		return &e
	case errors.Is(err, servers.ErrNotFound), errors.Is(err, tools.ErrServerNotFound),
		errors.Is(err, approvals.ErrServerNotFound), errors.Is(err, secrets.ErrServerNotFound):
		return &serverNotFound(c.serverID).e
	case errors.Is(err, tools.ErrNotFound), errors.Is(err, approvals.ErrNotFound):
		return &toolNotFound(c.toolID).e
	case errors.As(err, &reviewState):
		return &fail(proto.CodeInvalidState, "%s", reviewState.Message).e
	case errors.As(err, &covered):
		return &fail(proto.CodeAlreadyCovered, "%s", covered.Message).e
	case errors.As(err, &rejected):
		return &fail(proto.CodeAlreadyRejected, "%s", rejected.Message).e
	case errors.As(err, &pkgDenied):
		return &fail(proto.CodePackageForbidden, "package: '%s' is not an approvable package; "+
			"mcpbox_list_packages lists what is.", pkgDenied.Package).withField("package").e
	case errors.As(err, &secretTaken):
		return &fail(proto.CodeAlreadyExists, "Secret '%s' already exists for server '%s'.",
			secretTaken.Name, c.serverName).withField("key").e
	case errors.As(err, &testArgs):
		e := fail(proto.CodeValidationFailed, "%s", testArgs.Error()).withField("arguments")
		e.e.Details = testArgs.Details
		return &e.e
	case errors.Is(err, testrun.ErrBusy):
		return &fail(proto.CodeBusy, "Too many test runs in progress; try again in a few seconds.").e
	case errors.As(err, &noCode):
		return &fail(proto.CodeNoCode, "%s", noCode.Error()).e
	case errors.As(err, &refused):
		return &fail(refused.Code, "%s", refused.Message).e
	case errors.As(err, &serverTaken):
		return &fail(proto.CodeNameTaken, "A server named '%s' already exists; use it or choose another name.",
			serverTaken.Name).withField("name").e
	case errors.As(err, &toolTaken):
		return &fail(proto.CodeNameTaken, "Tool '%s' already exists in server '%s'; update it with "+
			"mcpbox_update_tool or choose another name.", toolTaken.Name, toolTaken.Server).withField("name").e
	case errors.As(err, &version):
		return &fail(proto.CodeNotFound, "%s", version.Error()).withField("version").e
	case errors.As(err, &state):
		return &fail(proto.CodeInvalidState, "%s", state.Message).e
	case errors.As(err, &quota):
		return &fail(proto.CodeQuotaExceeded, "%s", quota.Error()).e
	case errors.As(err, &invalid):
		e := fail(proto.CodeCodeInvalid, "%s", invalid.Error()).withField("code")
		for _, d := range invalid.Diagnostics {
			msg := d.Message
			if d.Line > 0 {
				msg = fmt.Sprintf("line %d:%d: %s", d.Line, d.Column, d.Message)
			}
			e.e.Details = append(e.e.Details, proto.FieldError{Field: "code", Message: msg})
		}
		return &e.e
	case errors.As(err, &forbidden):
		return &fail(proto.CodePackageForbidden, "code: package '%s' is not available to tools; "+
			"mcpbox_list_packages lists what is.", forbidden.Paths[0]).withField("code").e
	case errors.As(err, &sandbox):
		switch sandbox.Kind {
		case sandboxclient.Unavailable:
			return &fail(proto.CodeSandboxUnavailable,
				"The sandbox is not reachable, so nothing was saved. Try again in a minute.").e
		case sandboxclient.Busy:
			return &fail(proto.CodeBusy, "%s", sandbox.Message()).e
		}
		return &fail(sandbox.Code(), "%s", sandbox.Message()).e
	case errors.As(err, &rule):
		if c.tool == proto.MgmtCreateServerSecret {
			err = renameField(err, "name", "key")
			errors.As(err, &rule)
		}
		msg := rule.Error()
		if msg != "" && msg[len(msg)-1] != '.' {
			msg += "."
		}
		return &proto.Error{
			Code: proto.CodeValidationFailed, Message: msg, Field: rule.Field, Details: proto.FieldErrors(err),
		}
	}
	return &proto.Error{
		Code:    proto.CodeInternal,
		Message: fmt.Sprintf("Internal error (request %s); nothing was changed.", c.requestID),
	}
}

// renameField returns the rule errors of err with the field from renamed
// to to (the secrets service says name where the operation says key).
func renameField(err error, from, to string) error {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		var out []error
		for _, e := range joined.Unwrap() {
			out = append(out, renameField(e, from, to))
		}
		return errors.Join(out...)
	}
	var rule *proto.RuleError
	if errors.As(err, &rule) && rule.Field == from {
		return &proto.RuleError{Field: to, Message: rule.Message}
	}
	return err
}
