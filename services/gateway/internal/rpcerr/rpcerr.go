// Package rpcerr writes the JSON-RPC error bodies of the gateway's HTTP-level
// refusals on /mcp (gateway.md §11.1): the answers given before a request
// reaches the go-sdk, such as a wrong service token, a throttled peer, a
// malformed identity header or a rate limit. Errors written inside the SDK
// keep the SDK's own bodies.
//
// Every body has the shape
//
//	{"jsonrpc":"2.0","id":<id or null>,"error":{"code":..,"message":..,"data":..}}
//
// with "data" present only when the refusal has some, and id null when the
// request body was not parsed.
package rpcerr

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"
)

// JSON-RPC error codes the gateway itself writes (gateway.md §11.1). The
// -3208x codes sit in the implementation-defined range, clear of the codes
// MCP and its SDKs use.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeAccessDenied   = -32080
	CodeRateLimited    = -32081
	CodeUnavailable    = -32082
	CodeAuthFailed     = -32083
)

// Fixed messages of the refusals whose text does not depend on the request.
const (
	// MsgAuthFailed is the one body for a missing and a wrong service token,
	// so a prober cannot tell them apart (§6.1).
	MsgAuthFailed = "Authentication failed"
	// MsgParseError answers a body that is not JSON.
	MsgParseError = "Parse error"
	// MsgPolicyUnavailable answers the remote listener while the
	// remote-access policy is not loaded or stale (§6.3).
	MsgPolicyUnavailable = "MCPbox cannot load its remote-access policy from the backend; retry shortly"
	// MsgShuttingDown answers requests that arrive while the gateway drains
	// (§12 step 3). The spec fixes the code and Retry-After, not the text.
	MsgShuttingDown = "MCPbox is shutting down; retry shortly"
)

// Retry-After values fixed by the spec.
const (
	// PolicyRetryAfter is the Retry-After of a missing or stale policy (§6.3).
	PolicyRetryAfter = 5 * time.Second
	// ShutdownRetryAfter is the Retry-After while draining (§12).
	ShutdownRetryAfter = time.Second
)

// Refusal is one HTTP-level refusal: the status, the JSON-RPC error and,
// for 429 and 503, how long the client should wait.
type Refusal struct {
	// Status is the HTTP status (400, 403, 413, 429, 503, or 200 for a
	// JSON-RPC error answered in band).
	Status int
	// Code and Message are the JSON-RPC error's.
	Code    int
	Message string
	// Data is the error's data member; nil omits it.
	Data any
	// RetryAfter, when positive, is sent as Retry-After in whole seconds
	// (rounded up).
	RetryAfter time.Duration
}

// Body is the JSON-RPC error response the gateway writes; it also decodes
// one in tests.
type Body struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Error   Object          `json:"error"`
}

// Object is the error member of Body.
type Object struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// RetryData is the data of -32081 and -32082 refusals.
type RetryData struct {
	RetryAfterS int `json:"retry_after_s"`
}

// RateLimitData is the data of a per-caller rate-limit refusal (§6.5).
type RateLimitData struct {
	RetryAfterS int `json:"retry_after_s"`
	LimitRPM    int `json:"limit_rpm"`
}

// Seconds returns d in whole seconds, rounded up, at least 1: the value of
// Retry-After and retry_after_s.
func Seconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	return max(1, s)
}

// null is the id of a refusal written before the body was parsed.
var null = json.RawMessage("null") //nolint:gochecknoglobals // read-only constant bytes

// Write sends the refusal with the request id id (the raw JSON of the
// request's id, so 42 stays a number and "a-1" a string; nil or empty
// writes null). The body is deterministic: two equal refusals give
// byte-identical bodies.
func (r *Refusal) Write(w http.ResponseWriter, id json.RawMessage) {
	w.Header().Set("Content-Type", "application/json")
	if r.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(Seconds(r.RetryAfter)))
	}
	w.WriteHeader(r.Status)
	_, _ = w.Write(r.Marshal(id))
}

// Marshal returns the response body Write sends, with a trailing newline.
// HTML characters stay unescaped: the body is JSON, never HTML.
func (r *Refusal) Marshal(id json.RawMessage) []byte {
	if len(id) == 0 {
		id = null
	}
	body := Body{JSONRPC: "2.0", ID: id, Error: Object{Code: r.Code, Message: r.Message}}
	if r.Data != nil {
		data, err := json.Marshal(r.Data)
		if err == nil {
			body.Error.Data = data
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil {
		// Only a malformed id can fail: answer with a null id instead.
		buf.Reset()
		body.ID = null
		_ = enc.Encode(body)
	}
	return buf.Bytes()
}
