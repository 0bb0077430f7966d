package ipc

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
)

func strp(s string) *string { return &s }

func TestMessagesRoundTrip(t *testing.T) {
	t.Parallel()
	msgs := []Message{
		&Ready{V: ProtocolVersion, PID: 42, VMSizeKB: 1 << 20, CatalogueVersion: "c1"},
		&Job{
			Mode: ModeRun, InputType: "Input", Arguments: []byte(`{"a":1}`),
			Secrets:         map[string]*string{"API_KEY": strp("s3cr3t-value"), "EMPTY": nil},
			WithheldSecrets: []string{"W"}, ExtraPackages: []string{"compress/gzip"},
			TimeoutMS: 30000, MemoryMB: 256, MaxHTTPRequests: 10, Code: []byte("package tool\n"),
		},
		&Stdout{Data: []byte("hello\n")},
		&HTTPRequest{ID: 1, Method: "GET", URL: "https://example.com/", Header: map[string][]string{"A": {"1", "2"}}, TimeoutMS: 5000, Body: []byte("b")},
		&HTTPCancel{ID: 1},
		&HTTPResponse{ID: 1, Status: 200, Header: map[string][]string{"Content-Type": {"text/plain"}}, Truncated: true, Body: []byte("x")},
		&HTTPResponse{ID: 2, Error: &HTTPError{Kind: "blocked", Message: "no"}},
		&Result{OK: true, JSON: []byte(`{"x":1}`)},
		&Result{Error: &ResultError{Type: proto.ErrTypePanic, Message: "boom", Line: 3, Column: 2, HTTPID: 1}, StdoutDropped: 7},
	}
	for _, m := range msgs {
		var buf bytes.Buffer
		if err := NewWriter(&buf, m.Direction()).WriteMessage(m); err != nil {
			t.Fatalf("write %s: %v", m.MessageType(), err)
		}
		got, err := NewReader(&buf, m.Direction()).ReadMessage()
		if err != nil {
			t.Fatalf("read %s: %v", m.MessageType(), err)
		}
		if !reflect.DeepEqual(m, got) {
			t.Fatalf("%s round trip:\nsent %+v\n got %+v", m.MessageType(), m, got)
		}
	}
}

func TestDecodeRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		f    Frame
		dir  Direction
		want error
	}{
		{"unknown type", Frame{Header: []byte(`{"type":"shell"}`)}, WorkerToParent, ErrUnknownMessage},
		{"no type", Frame{Header: []byte(`{"v":1}`)}, WorkerToParent, ErrMalformed},
		{"type not first", Frame{Header: []byte(`{"v":1,"type":"ready"}`)}, WorkerToParent, ErrMalformed},
		{"type twice", Frame{Header: []byte(`{"type":"ready","type":"ready","v":1}`)}, WorkerToParent, ErrMalformed},
		{"dangling comma", Frame{Header: []byte(`{"type":"ready",}`)}, WorkerToParent, ErrMalformed},
		{"spaced type", Frame{Header: []byte(`{ "type":"ready"}`)}, WorkerToParent, ErrMalformed},
		{"escaped type", Frame{Header: []byte(`{"type":"re\u0061dy"}`)}, WorkerToParent, ErrMalformed},
		{"empty type", Frame{Header: []byte(`{"type":""}`)}, WorkerToParent, ErrMalformed},
		{"job from worker", Frame{Header: []byte(`{"type":"job"}`)}, WorkerToParent, ErrUnknownMessage},
		{"result from parent", Frame{Header: []byte(`{"type":"result","ok":true}`)}, ParentToWorker, ErrUnknownMessage},
		{"header array", Frame{Header: []byte(`[1]`)}, WorkerToParent, ErrMalformed},
		{"unknown field", Frame{Header: []byte(`{"type":"ready","v":1,"evil":true}`)}, WorkerToParent, ErrMalformed},
		{"wrong field type", Frame{Header: []byte(`{"type":"http_cancel","id":"1"}`)}, WorkerToParent, ErrMalformed},
		{"stdout chunk over 64 KiB", Frame{Header: []byte(`{"type":"stdout"}`), Payload: make([]byte, MaxStdoutChunk+1)}, WorkerToParent, ErrFrameTooLarge},
		{"request body over 4 MiB", Frame{Header: []byte(`{"type":"http_request","id":1}`), Payload: make([]byte, MaxRequestBody+1)}, WorkerToParent, ErrFrameTooLarge},
		{"payload on ready", Frame{Header: []byte(`{"type":"ready","v":1}`), Payload: []byte("x")}, WorkerToParent, ErrFrameTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := Decode(tc.f, tc.dir); !errors.Is(err, tc.want) || !errors.Is(err, ErrViolation) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestWriterRefusesWrongDirection(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := NewWriter(&buf, WorkerToParent).WriteMessage(&Job{}); !errors.Is(err, ErrUnknownMessage) {
		t.Fatalf("err = %v", err)
	}
	if buf.Len() != 0 {
		t.Fatal("bytes written")
	}
}

// Warm succeeds in both directions: the zero message of every type survives
// Encode and Decode.
func TestWarm(t *testing.T) {
	t.Parallel()
	for _, dir := range []Direction{ParentToWorker, WorkerToParent} {
		if err := Warm(dir); err != nil {
			t.Errorf("%s: %v", dir, err)
		}
	}
}
