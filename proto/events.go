package proto

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// EventType is the SSE event name of a message on GET /internal/v1/events
// (backend.md §9.2).
type EventType string

// Event types.
const (
	// EventHello is always the first event: the current revisions.
	EventHello EventType = "hello"
	// EventCatalogChanged carries the new catalog revision.
	EventCatalogChanged EventType = "catalog_changed"
	// EventPolicyChanged carries the new policy revision.
	EventPolicyChanged EventType = "policy_changed"
	// EventSecretsChanged names the server whose secrets changed.
	EventSecretsChanged EventType = "secrets_changed"
)

// SSEPing is the keepalive comment the backend writes every 15 s, framed.
const SSEPing = ": ping\n\n"

// HelloData is the data of a hello event.
type HelloData struct {
	CatalogRevision int64 `json:"catalog_revision"`
	PolicyRevision  int64 `json:"policy_revision"`
}

// RevisionData is the data of catalog_changed and policy_changed.
type RevisionData struct {
	Revision int64 `json:"revision"`
}

// SecretsChangedData is the data of secrets_changed.
type SecretsChangedData struct {
	// ServerID is the lowercase UUID of the server.
	ServerID string `json:"server_id"`
}

// Event is one message of the events stream. Type is the SSE "event:" name;
// the data line is the JSON of the fields that belong to the type (HelloData,
// RevisionData or SecretsChangedData), so a zero revision is still sent.
type Event struct {
	Type EventType
	// CatalogRevision and PolicyRevision are set for hello.
	CatalogRevision int64
	PolicyRevision  int64
	// Revision is set for catalog_changed and policy_changed.
	Revision int64
	// ServerID is set for secrets_changed.
	ServerID string
}

// Data returns the JSON of the event's "data:" line.
func (e Event) Data() ([]byte, error) {
	var v any
	switch e.Type {
	case EventHello:
		v = HelloData{CatalogRevision: e.CatalogRevision, PolicyRevision: e.PolicyRevision}
	case EventCatalogChanged, EventPolicyChanged:
		v = RevisionData{Revision: e.Revision}
	case EventSecretsChanged:
		v = SecretsChangedData{ServerID: e.ServerID}
	default:
		return nil, fmt.Errorf("event data: unknown event type %q", e.Type)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("event data %s: %w", e.Type, err)
	}
	return b, nil
}

// MarshalSSE returns the event framed for a text/event-stream body:
// "event: <type>\ndata: <json>\n\n".
func (e Event) MarshalSSE() ([]byte, error) {
	data, err := e.Data()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(len(data) + len(e.Type) + 16)
	b.WriteString("event: ")
	b.WriteString(string(e.Type))
	b.WriteString("\ndata: ")
	b.Write(data)
	b.WriteString("\n\n")
	return b.Bytes(), nil
}

// ParseEvent builds an Event from an SSE event name and its data, decoded
// into the type's data struct. Unknown fields are ignored, as the
// rolling-upgrade rule requires (operations.md §6.3); an unknown event name
// is an error the reader may skip.
func ParseEvent(name string, data []byte) (Event, error) {
	e := Event{Type: EventType(name)}
	var err error
	switch e.Type {
	case EventHello:
		var d HelloData
		err = json.Unmarshal(data, &d)
		e.CatalogRevision, e.PolicyRevision = d.CatalogRevision, d.PolicyRevision
	case EventCatalogChanged, EventPolicyChanged:
		var d RevisionData
		err = json.Unmarshal(data, &d)
		e.Revision = d.Revision
	case EventSecretsChanged:
		var d SecretsChangedData
		err = json.Unmarshal(data, &d)
		e.ServerID = d.ServerID
	default:
		return Event{}, fmt.Errorf("parse event: unknown event type %q", name)
	}
	if err != nil {
		return Event{}, fmt.Errorf("parse event %s: %w", name, err)
	}
	return e, nil
}
