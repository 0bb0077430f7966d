package proto

import "fmt"

// Error is the one error shape of every non-2xx response of the backend's
// /api/v1 and /internal/v1 and of the sandbox's /v1 (contracts.md §5). The
// message names the field, the rule and the next step, and never holds
// internal text (SQL, addresses, stack traces, secret values).
type Error struct {
	Code      string       `json:"code"`
	Message   string       `json:"message"`
	Field     string       `json:"field,omitempty"`
	Details   []FieldError `json:"details,omitempty"`
	RequestID string       `json:"request_id,omitempty"`
}

// FieldError is one failing field of a validation error.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ErrorBody is the JSON envelope of Error: {"error": {...}}.
type ErrorBody struct {
	Error Error `json:"error"`
}

// Error implements error so a decoded response can be returned as one.
func (e *Error) Error() string {
	if e.Field != "" && e.Code == CodeValidationFailed {
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	return e.Code + ": " + e.Message
}

// Stable error codes (backend.md §15.1, sandbox.md §4.1, contracts.md §5).
//
//nolint:gosec // G101: error code names, not credentials
const (
	CodeInvalidJSON          = "invalid_json"
	CodeValidationFailed     = "validation_failed"
	CodeInvalidRequest       = "invalid_request"
	CodeCodeInvalid          = "code_invalid"
	CodePackageForbidden     = "package_forbidden"
	CodeSignatureMissing     = "signature_missing"
	CodeSignatureInvalid     = "signature_invalid"
	CodeOAuthStateInvalid    = "oauth_state_invalid"
	CodeUnauthenticated      = "unauthenticated"
	CodeTokenInvalid         = "token_invalid"
	CodeTokenExpired         = "token_expired"
	CodeSessionRevoked       = "session_revoked"
	CodeInvalidCredentials   = "invalid_credentials"
	CodeCSRFFailed           = "csrf_failed"
	CodeForbidden            = "forbidden"
	CodeSetupCodeInvalid     = "setup_code_invalid"
	CodeNotFound             = "not_found"
	CodeUnknownTool          = "unknown_tool"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeNameTaken            = "name_taken"
	CodeAlreadyExists        = "already_exists"
	CodeAlreadySetup         = "already_setup"
	CodeAlreadyCovered       = "already_covered"
	CodeAlreadyRejected      = "already_rejected"
	CodeInvalidState         = "invalid_state"
	CodeVersionChanged       = "version_changed"
	CodeHasDependents        = "has_dependents"
	CodeNotExecutable        = "not_executable"
	CodeSecretMissing        = "secret_missing"
	CodeSourceAuthFailed     = "source_auth_failed"
	CodeQuotaExceeded        = "quota_exceeded"
	CodeHashMismatch         = "hash_mismatch"
	CodeRequestTooLarge      = "request_too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeTooManyAttempts      = "too_many_attempts"
	CodeRateLimited          = "rate_limited"
	CodeSaturated            = "saturated"
	CodeInternal             = "internal"
	CodeNotImplemented       = "not_implemented"
	CodeSandboxError         = "sandbox_error"
	CodeDiscoveryFailed      = "discovery_failed"
	CodeSandboxUnavailable   = "sandbox_unavailable"
	CodeUnavailable          = "unavailable"
	CodeNotReady             = "not_ready"
	CodeBusy                 = "busy"

	// Management-only codes, returned inside ManageResponse bodies and never
	// as HTTP statuses.
	CodeRemoteEditingDisabled = "remote_editing_disabled"
	CodeCallerNotAllowed      = "caller_not_allowed"
	CodeNoCode                = "no_code"
)
