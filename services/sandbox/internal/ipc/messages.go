package ipc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
)

// ProtocolVersion is the `v` a worker sends in ready; the parent refuses any
// other value, so parent and worker always come from the same build.
const ProtocolVersion = 1

// Type is a message's `type` header field.
type Type string

// The message types of sandbox.md §11.
const (
	TypeReady        Type = "ready"
	TypeJob          Type = "job"
	TypeStdout       Type = "stdout"
	TypeHTTPRequest  Type = "http_request"
	TypeHTTPCancel   Type = "http_cancel"
	TypeHTTPResponse Type = "http_response"
	TypeResult       Type = "result"
)

// Size limits inside frames (sandbox.md §7, §11, §12.6).
const (
	// MaxStdoutChunk bounds one stdout frame's payload.
	MaxStdoutChunk = 64 << 10
	// MaxRequestBody bounds an http_request body.
	MaxRequestBody = 4 << 20
	// MaxResponseBody bounds an http_response body.
	MaxResponseBody = 10 << 20
	// MaxHTTPID is the largest http id (and HTTP budget) of one execution.
	MaxHTTPID = 100
	// MaxInFlight is how many http requests the parent performs at once.
	MaxInFlight = 4
)

// Job modes.
const (
	ModeRun     = "run"
	ModeCompile = "compile"
)

// Message is one decoded frame. The concrete types are pointers to the
// structs below.
type Message interface {
	// MessageType is the header's type field.
	MessageType() Type
	// Direction is the only direction the message may travel.
	Direction() Direction
	// payload and setPayload move the binary payload between the struct
	// and the frame.
	payload() []byte
	setPayload(p []byte)
}

// Ready is the worker's first frame, sent once it is locked down.
type Ready struct {
	V                int    `json:"v"`
	PID              int    `json:"pid"`
	VMSizeKB         int64  `json:"vm_size_kb"`
	CatalogueVersion string `json:"catalogue_version"`
}

// Job is the single job a worker runs; Code is the payload.
type Job struct {
	Mode      string          `json:"mode"`
	InputType string          `json:"input_type"`
	Arguments json.RawMessage `json:"arguments"`
	// Secrets maps names to values; nil is a declared secret with no value.
	Secrets         map[string]*string `json:"secrets"`
	WithheldSecrets []string           `json:"withheld_secrets"`
	ExtraPackages   []string           `json:"extra_packages"`
	TimeoutMS       int64              `json:"timeout_ms"`
	MemoryMB        int                `json:"memory_mb"`
	MaxHTTPRequests int                `json:"max_http_requests"`
	Code            []byte             `json:"-"`
}

// Stdout carries ≤ MaxStdoutChunk bytes of tool output.
type Stdout struct {
	Data []byte `json:"-"`
}

// HTTPRequest asks the parent to perform one HTTP request for tool code.
type HTTPRequest struct {
	ID        int                 `json:"id"`
	Method    string              `json:"method"`
	URL       string              `json:"url"`
	Header    map[string][]string `json:"header"`
	TimeoutMS int64               `json:"timeout_ms"`
	Body      []byte              `json:"-"`
}

// HTTPCancel withdraws a request the tool no longer waits for.
type HTTPCancel struct {
	ID int `json:"id"`
}

// HTTPError is http_response.error: why no (complete) response exists.
type HTTPError struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// HTTPResponse answers an HTTPRequest with the same ID.
type HTTPResponse struct {
	ID        int                 `json:"id"`
	Status    int                 `json:"status"`
	Header    map[string][]string `json:"header"`
	Truncated bool                `json:"truncated"`
	Error     *HTTPError          `json:"error,omitempty"`
	Body      []byte              `json:"-"`
}

// ResultError is result.error. Line and Column are 1-based positions in the
// tool file (0 when unknown); HTTPID names the call a returned HTTPError or
// EgressError came from (0 for none).
type ResultError struct {
	Type    proto.SandboxErrorType `json:"type"`
	Message string                 `json:"message"`
	Line    int                    `json:"line,omitempty"`
	Column  int                    `json:"column,omitempty"`
	HTTPID  int                    `json:"http_id,omitempty"`
}

// Result is the worker's last frame; JSON (the payload) is Main's result
// when OK.
type Result struct {
	OK            bool         `json:"ok"`
	Error         *ResultError `json:"error,omitempty"`
	StdoutDropped int64        `json:"stdout_dropped"`
	JSON          []byte       `json:"-"`
}

// MessageType implements Message.
func (*Ready) MessageType() Type { return TypeReady }

// MessageType implements Message.
func (*Job) MessageType() Type { return TypeJob }

// MessageType implements Message.
func (*Stdout) MessageType() Type { return TypeStdout }

// MessageType implements Message.
func (*HTTPRequest) MessageType() Type { return TypeHTTPRequest }

// MessageType implements Message.
func (*HTTPCancel) MessageType() Type { return TypeHTTPCancel }

// MessageType implements Message.
func (*HTTPResponse) MessageType() Type { return TypeHTTPResponse }

// MessageType implements Message.
func (*Result) MessageType() Type { return TypeResult }

// Direction implements Message.
func (*Ready) Direction() Direction { return WorkerToParent }

// Direction implements Message.
func (*Job) Direction() Direction { return ParentToWorker }

// Direction implements Message.
func (*Stdout) Direction() Direction { return WorkerToParent }

// Direction implements Message.
func (*HTTPRequest) Direction() Direction { return WorkerToParent }

// Direction implements Message.
func (*HTTPCancel) Direction() Direction { return WorkerToParent }

// Direction implements Message.
func (*HTTPResponse) Direction() Direction { return ParentToWorker }

// Direction implements Message.
func (*Result) Direction() Direction { return WorkerToParent }

func (*Ready) payload() []byte          { return nil }
func (m *Job) payload() []byte          { return m.Code }
func (m *Stdout) payload() []byte       { return m.Data }
func (m *HTTPRequest) payload() []byte  { return m.Body }
func (*HTTPCancel) payload() []byte     { return nil }
func (m *HTTPResponse) payload() []byte { return m.Body }
func (m *Result) payload() []byte       { return m.JSON }

func (*Ready) setPayload([]byte)            {}
func (m *Job) setPayload(p []byte)          { m.Code = p }
func (m *Stdout) setPayload(p []byte)       { m.Data = p }
func (m *HTTPRequest) setPayload(p []byte)  { m.Body = p }
func (*HTTPCancel) setPayload([]byte)       {}
func (m *HTTPResponse) setPayload(p []byte) { m.Body = p }
func (m *Result) setPayload(p []byte)       { m.JSON = p }

// newMessage returns an empty message of type t, or nil.
func newMessage(t Type) Message {
	switch t {
	case TypeReady:
		return &Ready{}
	case TypeJob:
		return &Job{}
	case TypeStdout:
		return &Stdout{}
	case TypeHTTPRequest:
		return &HTTPRequest{}
	case TypeHTTPCancel:
		return &HTTPCancel{}
	case TypeHTTPResponse:
		return &HTTPResponse{}
	case TypeResult:
		return &Result{}
	}
	return nil
}

// payloadCap is the largest payload a message type may carry.
func payloadCap(t Type) int {
	switch t {
	case TypeJob:
		return MaxParentFrame
	case TypeStdout:
		return MaxStdoutChunk
	case TypeHTTPRequest:
		return MaxRequestBody
	case TypeHTTPResponse:
		return MaxResponseBody
	case TypeResult:
		return MaxWorkerFrame
	}
	return 0
}

// Encode turns m into a frame: a JSON header with a leading "type" field,
// and m's binary part as the payload.
func Encode(m Message) (Frame, error) {
	if m == nil {
		return Frame{}, fmt.Errorf("%w: nil message", ErrUnknownMessage)
	}
	p := m.payload()
	if len(p) > payloadCap(m.MessageType()) {
		return Frame{}, fmt.Errorf("%w: %s payload of %d bytes, cap %d", ErrFrameTooLarge, m.MessageType(), len(p), payloadCap(m.MessageType()))
	}
	body, err := json.Marshal(m)
	if err != nil {
		return Frame{}, fmt.Errorf("ipc: encode %s: %w", m.MessageType(), err)
	}
	// body is a JSON object ("{...}" or "{}"): splice the type in first.
	h := make([]byte, 0, len(body)+32)
	h = append(h, `{"type":"`...)
	h = append(h, m.MessageType()...)
	h = append(h, '"')
	if len(body) > 2 {
		h = append(h, ',')
	}
	h = append(h, body[1:]...)
	return Frame{Header: h, Payload: p}, nil
}

// Decode parses a frame that travelled in dir. The header must be what
// Encode writes: a JSON object whose first member is "type", naming a type
// that belongs to dir; the rest must be that message's fields, unknown ones
// refused, and so is a payload on a message that has none or one over the
// type's cap.
//
// The "type" member is read from the prefix Encode writes and cut off, so
// the fields are decoded in one strict pass (decoding into a map, deleting
// "type" and encoding the rest again cost a tenth of the parent's CPU per
// execution). A header laid out any other way is refused; a second "type"
// member is an unknown field.
func Decode(f Frame, dir Direction) (Message, error) {
	name, rest, err := cutType(f.Header)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrMalformed, err)
	}
	m := newMessage(name)
	if m == nil || m.Direction() != dir {
		return nil, fmt.Errorf("%w: %q %s", ErrUnknownMessage, name, dir)
	}
	dec := json.NewDecoder(io.MultiReader(strings.NewReader("{"), bytes.NewReader(rest)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		return nil, fmt.Errorf("%w: %s header: %w", ErrMalformed, name, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: %s header: trailing data", ErrMalformed, name)
	}
	if len(f.Payload) > payloadCap(name) {
		return nil, fmt.Errorf("%w: %s payload of %d bytes, cap %d", ErrFrameTooLarge, name, len(f.Payload), payloadCap(name))
	}
	m.setPayload(f.Payload)
	return m, nil
}

// typePrefix starts every header Encode writes.
const typePrefix = `{"type":"`

// cutType reads the type from a header that starts `{"type":"<name>"` and
// returns what follows the object's opening brace once that member is cut:
// `}` or the other members and `}`.
func cutType(h []byte) (Type, []byte, error) {
	rest, ok := bytes.CutPrefix(h, []byte(typePrefix))
	if !ok {
		return "", nil, errors.New(`not an object starting with its "type" member`)
	}
	end := bytes.IndexByte(rest, '"')
	if end <= 0 {
		return "", nil, errors.New(`no message type`)
	}
	name := rest[:end]
	for _, c := range name {
		if (c < 'a' || c > 'z') && c != '_' {
			return "", nil, fmt.Errorf("message type %q is not lower-case letters and underscores", name)
		}
	}
	rest = rest[end+1:]
	switch {
	case len(rest) > 0 && rest[0] == '}':
		return Type(name), rest, nil
	case len(rest) > 1 && rest[0] == ',' && rest[1] != '}':
		return Type(name), rest[1:], nil
	}
	return "", nil, errors.New(`the "type" member is not followed by "," and a member, or by "}"`)
}

// Warm decodes one message of each type that travels in dir. encoding/json
// builds its decoder for a type on first use, which in a fresh worker
// process took a few hundred microseconds of the job's critical path; a
// worker calls Warm before it reports ready, while it waits anyway.
func Warm(dir Direction) error {
	for _, t := range []Type{TypeReady, TypeJob, TypeStdout, TypeHTTPRequest, TypeHTTPCancel, TypeHTTPResponse, TypeResult} {
		m := newMessage(t)
		if m.Direction() != dir {
			continue
		}
		f, err := Encode(m)
		if err == nil {
			_, err = Decode(f, dir)
		}
		if err != nil {
			return fmt.Errorf("ipc: warm %s: %w", t, err)
		}
	}
	return nil
}
