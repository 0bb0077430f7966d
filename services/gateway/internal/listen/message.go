package listen

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/mcpbox/mcpbox/services/gateway/internal/rpcerr"
)

// Texts of the -32600 refusals of a body that is not one JSON-RPC message.
const (
	MsgBatch     = "Batch requests are not supported; send one JSON-RPC message per POST"
	MsgNotObject = "Invalid Request: the body must be one JSON-RPC message, a JSON object"
	MsgNoMethod  = "Invalid Request: the message has no method"
	MsgBadMethod = "Invalid Request: method must be a non-empty string"
	MsgBadID     = "Invalid Request: id must be a string, a number or null"
)

// Message is what the gateway peeks at in the JSON-RPC message of a POST
// (gateway.md §5.1): the method, the id and the params (for the version of
// a modern-era ping). The body itself goes to the SDK unchanged.
type Message struct {
	// Method is the method; empty for a client's response.
	Method string
	// ID is the raw JSON of the id (42 stays a number, "a-1" a string); nil
	// when absent (a notification).
	ID json.RawMessage
	// Params is the raw params, nil when absent.
	Params json.RawMessage
	// Response is true for a client's response to a server request: no
	// method, an id, and a result or an error.
	Response bool
}

// ParseMessage reads body as exactly one JSON-RPC message: invalid JSON is
// 400 -32700; a batch (an array), another non-object, a method that is not
// a non-empty string, an id that is not a string, number or null, or a message with
// neither a method nor a result/error is 400 -32600. Keys match case
// sensitively, as the SDK reads them. A refusal after the id was read
// carries it.
func ParseMessage(body []byte) (Message, *rpcerr.Refusal) {
	if !json.Valid(body) {
		return Message{}, rpcerr.ParseError()
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	switch trimmed[0] {
	case '{':
	case '[':
		return Message{}, rpcerr.InvalidRequest(http.StatusBadRequest, MsgBatch)
	default:
		return Message{}, rpcerr.InvalidRequest(http.StatusBadRequest, MsgNotObject)
	}
	var (
		m                    Message
		method               json.RawMessage
		hasMethod, hasResult bool
	)
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if _, err := dec.Token(); err != nil { // the '{' of a valid object
		return Message{}, rpcerr.ParseError()
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Message{}, rpcerr.ParseError()
		}
		key, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return Message{}, rpcerr.ParseError()
		}
		switch key {
		case "method":
			method, hasMethod = val, true
		case "id":
			m.ID = val
		case "params":
			m.Params = val
		case "result", "error":
			hasResult = true
		}
	}
	if m.ID != nil && !validID(m.ID) {
		return Message{}, rpcerr.InvalidRequest(http.StatusBadRequest, MsgBadID)
	}
	switch {
	case hasMethod:
		if err := json.Unmarshal(method, &m.Method); err != nil || method[0] != '"' || m.Method == "" {
			return m, rpcerr.InvalidRequest(http.StatusBadRequest, MsgBadMethod)
		}
	case hasResult && m.ID != nil:
		m.Response = true
	default:
		return m, rpcerr.InvalidRequest(http.StatusBadRequest, MsgNoMethod)
	}
	return m, nil
}

// validID reports whether raw is a JSON string, number or null.
func validID(raw json.RawMessage) bool {
	switch c := raw[0]; {
	case c == '"', c == '-', c >= '0' && c <= '9':
		return true
	default:
		return string(raw) == "null"
	}
}

// IsCall reports whether m is a request that expects an answer.
func (m Message) IsCall() bool { return m.Method != "" && m.ID != nil && string(m.ID) != "null" }

// metaVersion returns params._meta["io.modelcontextprotocol/protocolVersion"]
// when it is a string.
func (m Message) metaVersion() string {
	if m.Params == nil {
		return ""
	}
	var p struct {
		Meta map[string]json.RawMessage `json:"_meta"`
	}
	if json.Unmarshal(m.Params, &p) != nil {
		return ""
	}
	var v string
	if json.Unmarshal(p.Meta[metaKeyProtocolVersion], &v) != nil {
		return ""
	}
	return v
}
