package proto

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEventSSE(t *testing.T) {
	t.Parallel()
	tests := []struct {
		event Event
		want  string
	}{
		{Event{Type: EventHello}, "event: hello\ndata: {\"catalog_revision\":0,\"policy_revision\":0}\n\n"},
		{Event{Type: EventHello, CatalogRevision: 42, PolicyRevision: 7}, "event: hello\ndata: {\"catalog_revision\":42,\"policy_revision\":7}\n\n"},
		{Event{Type: EventCatalogChanged, Revision: 43}, "event: catalog_changed\ndata: {\"revision\":43}\n\n"},
		{Event{Type: EventPolicyChanged, Revision: 8}, "event: policy_changed\ndata: {\"revision\":8}\n\n"},
		{
			Event{Type: EventSecretsChanged, ServerID: "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f"},
			"event: secrets_changed\ndata: {\"server_id\":\"9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f\"}\n\n",
		},
	}
	for _, tt := range tests {
		got, err := tt.event.MarshalSSE()
		if err != nil {
			t.Errorf("MarshalSSE(%+v): %v", tt.event, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("MarshalSSE(%+v) = %q, want %q", tt.event, got, tt.want)
		}
		data, err := tt.event.Data()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseEvent(string(tt.event.Type), data)
		if err != nil {
			t.Errorf("ParseEvent(%s, %s): %v", tt.event.Type, data, err)
			continue
		}
		if diff := cmp.Diff(tt.event, back); diff != "" {
			t.Errorf("ParseEvent round trip mismatch (-want +got):\n%s", diff)
		}
	}
}

func TestEventOnlyTypeFields(t *testing.T) {
	t.Parallel()
	// Fields of other types are not sent.
	got, err := Event{Type: EventCatalogChanged, Revision: 3, ServerID: "x", PolicyRevision: 9}.Data()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"revision":3}` {
		t.Errorf("Data = %s, want {\"revision\":3}", got)
	}
}

func TestParseEventTolerance(t *testing.T) {
	t.Parallel()
	// A newer backend may add fields: they are ignored.
	e, err := ParseEvent("catalog_changed", []byte(`{"revision":5,"added_later":true}`))
	if err != nil || e.Revision != 5 {
		t.Errorf("ParseEvent with an extra field = %+v, %v", e, err)
	}
	for name, data := range map[string]string{
		"unknown_event":   `{}`,
		"hello":           `{"catalog_revision":"x"}`,
		"policy_changed":  `not json`,
		"secrets_changed": `[]`,
	} {
		if e, err := ParseEvent(name, []byte(data)); err == nil {
			t.Errorf("ParseEvent(%s, %s) = %+v, want an error", name, data, e)
		}
	}
	if _, err := (Event{Type: "nope"}).MarshalSSE(); err == nil {
		t.Error("MarshalSSE of an unknown type succeeded")
	}
}
