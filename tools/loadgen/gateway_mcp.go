package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// MCP is spoken as plain JSON-RPC over HTTP POST, as any client would send it: an open-loop generator needs every
// request to be one independent POST, which the SDK clients do not offer.

// Protocol versions loadgen speaks.
const (
	initializeVersion = "2025-11-25" // asked for in initialize
	modernVersion     = "2026-07-28" // of every modern-era request
)

// Keys of the per-request _meta a 2026-07-28 request must carry (SEP-2575): the version and the client's
// capabilities (the go-sdk refuses a request without them); the client's name is recommended.
const (
	metaProtocolVersion    = "io.modelcontextprotocol/protocolVersion"
	metaClientCapabilities = "io.modelcontextprotocol/clientCapabilities"
	metaClientInfo         = "io.modelcontextprotocol/clientInfo"
)

// Error kinds of the gateway report (errors_by_kind); an HTTP status other than the expected one is
// "http_<status>".
const (
	errKindTransport = "transport"  // no answer: connection refused or reset, body cut off
	errKindTimeout   = "timeout"    // no complete answer within -timeout
	errKindProtocol  = "protocol"   // an answer that is not the JSON-RPC response MCP requires
	errKindRPC       = "rpc_error"  // a JSON-RPC error response
	errKindTool      = "tool_error" // a tools/call result with isError: true
	errKindDropped   = "dropped"    // not sent: -max-inflight requests were in flight
)

// maxErrorBodyBytes bounds what is read of an error answer.
const maxErrorBodyBytes = 64 << 10

// failure is a request that did not succeed: its kind and what came back.
type failure struct {
	kind string
	text string
}

func (f *failure) Error() string { return f.kind + ": " + f.text }

// clientInfo is the Implementation loadgen announces.
func clientInfo() map[string]string {
	return map[string]string{"name": "mcpbox-loadgen", "version": "1"}
}

// mcpClient sends MCP requests to one endpoint over one keep-alive http.Client.
type mcpClient struct {
	hc      *http.Client
	url     string
	era     string
	headers http.Header // -header values, read-only
}

// request is a prepared JSON-RPC request without its id.
type request struct {
	method string // the JSON-RPC method, sent as Mcp-Method in the modern era
	name   string // Mcp-Name of a tools/call in the modern era, else ""
	tail   []byte // the body after the id: `,"method":...,"params":...}`
}

// newRequest prepares method with params (nil: none); in the modern era params gain the _meta of 2026-07-28.
func (c *mcpClient) newRequest(method string, params map[string]any) (request, error) {
	r := request{method: method}
	if c.era == eraModern {
		if params == nil {
			params = map[string]any{}
		}
		params["_meta"] = map[string]any{
			metaProtocolVersion: modernVersion, metaClientCapabilities: map[string]any{}, metaClientInfo: clientInfo(),
		}
		if method == "tools/call" {
			r.name, _ = params["name"].(string)
		}
	}
	m := map[string]any{"method": method}
	if params != nil {
		m["params"] = params
	}
	b, err := json.Marshal(m)
	if err != nil {
		return request{}, fmt.Errorf("encode %s: %w", method, err)
	}
	r.tail = append([]byte{','}, b[1:]...)
	return r, nil
}

// rpcMessage is one JSON-RPC message of an answer.
type rpcMessage struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// session is one worker's MCP client: initialised once (initialize era: its negotiated version and session id,
// if the server issued one) or having discovered the server (modern era).
type session struct {
	c       *mcpClient
	extra   http.Header // the worker's own -worker-header values, after the -header ones
	version string      // MCP-Protocol-Version of its requests ("" before initialize)
	id      string      // Mcp-Session-Id ("" session-less)
	nextID  atomic.Int64
}

// openSession makes a worker's client, whose requests all carry extra (nil: nothing more): initialize and
// notifications/initialized in the initialize era, server/discover (checking that 2026-07-28 is supported) in the
// modern era.
func (c *mcpClient) openSession(ctx context.Context, extra http.Header) (*session, error) {
	s := &session{c: c, extra: extra}
	if c.era == eraModern {
		s.version = modernVersion
		r, err := c.newRequest("server/discover", nil)
		if err != nil {
			return nil, err
		}
		result, _, f := s.roundTrip(ctx, r)
		if f != nil {
			return nil, fmt.Errorf("server/discover: %w", f)
		}
		var d struct {
			SupportedVersions []string `json:"supportedVersions"`
		}
		if err := json.Unmarshal(result, &d); err != nil || !slices.Contains(d.SupportedVersions, modernVersion) {
			return nil, fmt.Errorf("server/discover: the server does not list %s among %q; use -era initialize", modernVersion, d.SupportedVersions)
		}
		return s, nil
	}
	r, err := c.newRequest("initialize", map[string]any{
		"protocolVersion": initializeVersion, "capabilities": map[string]any{}, "clientInfo": clientInfo(),
	})
	if err != nil {
		return nil, err
	}
	result, header, f := s.roundTrip(ctx, r)
	if f != nil {
		return nil, fmt.Errorf("initialize: %w", f)
	}
	var ir struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	if err := json.Unmarshal(result, &ir); err != nil || ir.ProtocolVersion == "" {
		return nil, fmt.Errorf("initialize: the result names no protocolVersion: %s", truncate(string(result), 200))
	}
	s.version, s.id = ir.ProtocolVersion, header.Get("Mcp-Session-Id")
	n, err := c.newRequest("notifications/initialized", nil)
	if err != nil {
		return nil, err
	}
	if f := s.notify(ctx, n); f != nil {
		return nil, fmt.Errorf("notifications/initialized: %w", f)
	}
	return s, nil
}

// roundTrip is exchange without the time the answer arrived.
func (s *session) roundTrip(ctx context.Context, r request) (json.RawMessage, http.Header, *failure) {
	result, header, _, f := s.exchange(ctx, r)
	return result, header, f
}

// maxResponseBytes bounds a whole answer: an event stream may carry progress notifications before the response.
const maxResponseBytes = 2 * maxEventBytes

// exchange sends r with the next id and returns the result of its JSON-RPC response, the answer's headers and when
// its body had been read (zero when no answer came). The body is read whole before it is decoded, so a request's
// latency ends at its last byte, not after loadgen's own decoding: a tools/list page is about 40 KB of JSON,
// decoded twice, which costs the client a millisecond or more.
func (s *session) exchange(ctx context.Context, r request) (json.RawMessage, http.Header, time.Time, *failure) {
	id := s.nextID.Add(1)
	body := make([]byte, 0, len(r.tail)+40)
	body = append(body, `{"jsonrpc":"2.0","id":`...)
	body = strconv.AppendInt(body, id, 10)
	body = append(body, r.tail...)
	resp, f := s.post(ctx, r, body)
	if f != nil {
		return nil, nil, time.Time{}, f
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	_ = resp.Body.Close()
	end := time.Now()
	switch {
	case err != nil:
		return nil, resp.Header, end, transportFailure(err)
	case len(raw) > maxResponseBytes:
		return nil, resp.Header, end, &failure{errKindProtocol, fmt.Sprintf("an answer longer than %d MiB", maxResponseBytes>>20)}
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	m, f := readResponse(resp, strconv.FormatInt(id, 10))
	if f != nil {
		return nil, resp.Header, end, f
	}
	if m.Error != nil {
		return nil, resp.Header, end, &failure{errKindRPC, fmt.Sprintf("JSON-RPC error %d: %s", m.Error.Code, truncate(m.Error.Message, 200))}
	}
	if len(m.Result) == 0 || m.Result[0] != '{' {
		return nil, resp.Header, end, &failure{errKindProtocol, "a response whose result is not an object"}
	}
	return m.Result, resp.Header, end, nil
}

// notify sends the notification r; the answer must be 202 (or another 2xx without a JSON-RPC error).
func (s *session) notify(ctx context.Context, r request) *failure {
	body := append([]byte(`{"jsonrpc":"2.0"`), r.tail...)
	resp, f := s.post(ctx, r, body)
	if f != nil {
		return f
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
	if err != nil {
		return transportFailure(err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return statusFailure(resp.StatusCode, b)
	}
	return nil
}

// post sends one MCP POST with the headers of the session and the era.
func (s *session) post(ctx context.Context, r request, body []byte) (*http.Response, *failure) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.c.url, bytes.NewReader(body))
	if err != nil {
		return nil, &failure{errKindTransport, err.Error()}
	}
	for k, vs := range s.c.headers {
		req.Header[k] = vs
	}
	for k, vs := range s.extra {
		req.Header[k] = slices.Concat(req.Header[k], vs) // a new slice: the -header values are shared
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if s.version != "" {
		req.Header.Set("Mcp-Protocol-Version", s.version)
	}
	if s.id != "" {
		req.Header.Set("Mcp-Session-Id", s.id)
	}
	if s.c.era == eraModern {
		req.Header.Set("Mcp-Method", r.method)
		if r.name != "" {
			req.Header.Set("Mcp-Name", r.name)
		}
	}
	resp, err := s.c.hc.Do(req)
	if err != nil {
		return nil, transportFailure(err)
	}
	return resp, nil
}

// readResponse reads the JSON-RPC response with id from a 200 answer: an SSE stream (the gateway's way, where
// notifications such as progress may come first) or one JSON body. The stream is read to its end so that the
// connection can be reused.
func readResponse(resp *http.Response, id string) (rpcMessage, *failure) {
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
		return rpcMessage{}, statusFailure(resp.StatusCode, b)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch mt {
	case "text/event-stream":
		var (
			found   *rpcMessage
			badData []byte
		)
		err := readEvents(resp.Body, func(data []byte) bool {
			if found != nil {
				return true // drain
			}
			var m rpcMessage
			if json.Unmarshal(data, &m) != nil {
				badData = bytes.Clone(data)
				return false
			}
			if m.Method == "" && string(bytes.TrimSpace(m.ID)) == id {
				found = &m
			}
			return true
		})
		switch {
		case badData != nil:
			return rpcMessage{}, &failure{errKindProtocol, "an event whose data is not JSON-RPC: " + truncate(string(badData), 200)}
		case found != nil:
			return *found, nil
		case err != nil:
			return rpcMessage{}, transportFailure(err)
		}
		return rpcMessage{}, &failure{errKindProtocol, "the event stream ended without the response"}
	case "application/json":
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxEventBytes+1))
		if err != nil {
			return rpcMessage{}, transportFailure(err)
		}
		var m rpcMessage
		if len(b) > maxEventBytes || json.Unmarshal(b, &m) != nil || m.Method != "" || string(bytes.TrimSpace(m.ID)) != id {
			return rpcMessage{}, &failure{errKindProtocol, "a JSON body that is not the response: " + truncate(string(b), 200)}
		}
		return m, nil
	}
	return rpcMessage{}, &failure{errKindProtocol, fmt.Sprintf("status 200 with Content-Type %q", resp.Header.Get("Content-Type"))}
}

// statusFailure is an unexpected HTTP status; the text carries the JSON-RPC error of a gateway refusal when the
// body has one.
func statusFailure(status int, body []byte) *failure {
	kind := "http_" + strconv.Itoa(status)
	var m rpcMessage
	if json.Unmarshal(body, &m) == nil && m.Error != nil {
		return &failure{kind, fmt.Sprintf("status %d, JSON-RPC error %d: %s", status, m.Error.Code, truncate(m.Error.Message, 200))}
	}
	return &failure{kind, fmt.Sprintf("status %d: %s", status, truncate(string(bytes.TrimSpace(body)), 200))}
}

// transportFailure is a request that got no complete answer.
func transportFailure(err error) *failure {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &failure{errKindTimeout, err.Error()}
	}
	return &failure{errKindTransport, err.Error()}
}

// checkResult checks a result the way a client relies on it: a modern-era result says it is complete; a
// tools/call result has content and no isError; a tools/list result has tools.
func checkResult(era, method string, result json.RawMessage) *failure {
	var r struct {
		ResultType *string           `json:"resultType"`
		IsError    bool              `json:"isError"`
		Content    []json.RawMessage `json:"content"`
		Tools      []json.RawMessage `json:"tools"`
	}
	if err := json.Unmarshal(result, &r); err != nil {
		return &failure{errKindProtocol, "an unreadable result: " + err.Error()}
	}
	if era == eraModern && (r.ResultType == nil || *r.ResultType != "complete") {
		return &failure{errKindProtocol, `a modern-era result without resultType "complete"`}
	}
	switch method {
	case methodCall:
		if r.IsError {
			return &failure{errKindTool, "isError: " + firstText(r.Content)}
		}
		if r.Content == nil {
			return &failure{errKindProtocol, "a tools/call result without content"}
		}
	case methodList:
		if r.Tools == nil {
			return &failure{errKindProtocol, "a tools/list result without tools"}
		}
	}
	return nil
}

// firstText is the text of the first text item of content, shortened.
func firstText(content []json.RawMessage) string {
	for _, c := range content {
		var item struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if json.Unmarshal(c, &item) == nil && item.Type == "text" {
			return truncate(item.Text, 200)
		}
	}
	return "(no text)"
}
