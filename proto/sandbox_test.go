package proto

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAllowedHostsJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		v    AllowedHosts
		want string
	}{
		{"any public host", AnyPublicHost(), `null`},
		{"no network", OnlyHosts(), `[]`},
		{"list", OnlyHosts("api.example.com", "[::1]:443"), `["api.example.com","[::1]:443"]`},
		{"zero value fails closed", AllowedHosts{}, `[]`},
		{"any wins over hosts", AllowedHosts{Any: true, Hosts: []string{"x"}}, `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Marshal = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestAllowedHostsPresence: the sandbox can tell a missing key from null.
func TestAllowedHostsPresence(t *testing.T) {
	t.Parallel()
	decode := func(body string) FetchRequest {
		t.Helper()
		var r FetchRequest
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("Unmarshal(%s): %v", body, err)
		}
		return r
	}
	tests := []struct {
		body string
		want AllowedHosts
	}{
		{`{"url":"https://x"}`, AllowedHosts{}},
		{`{"url":"https://x","allowed_hosts":null}`, AllowedHosts{Any: true, Set: true}},
		{`{"url":"https://x","allowed_hosts":[]}`, AllowedHosts{Hosts: []string{}, Set: true}},
		{`{"url":"https://x","allowed_hosts":["a.example"]}`, AllowedHosts{Hosts: []string{"a.example"}, Set: true}},
	}
	for _, tt := range tests {
		got := decode(tt.body).AllowedHosts
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: allowed_hosts mismatch (-want +got):\n%s", tt.body, diff)
		}
	}
	var r FetchRequest
	if err := json.Unmarshal([]byte(`{"allowed_hosts":"api.example.com"}`), &r); err == nil {
		t.Error("a string allowed_hosts decoded without error")
	}
}

func TestSandboxErrorTypeSnakeCase(t *testing.T) {
	t.Parallel()
	tests := map[SandboxErrorType]string{
		ErrTypeSyntaxError:         "syntax_error",
		ErrTypeEgressDenied:        "egress_denied",
		ErrTypeTimeout:             "timeout",
		ErrTypePanic:               "panic",
		ErrTypeCPULimitExceeded:    "cpu_limit_exceeded",
		ErrTypeHTTPError:           "http_error",
		ErrTypeRPCError:            "rpc_error",
		ErrTypeMemoryLimitExceeded: "memory_limit_exceeded",
		ErrTypeCloudflareChallenge: "cloudflare_challenge",
		ErrTypeDefinitionChanged:   "definition_changed",
		ErrTypeWorkerCrashed:       "worker_crashed",
	}
	for in, want := range tests {
		if got := in.SnakeCase(); got != want {
			t.Errorf("%s.SnakeCase() = %q, want %q", in, got, want)
		}
	}
}

func TestExecuteRequestRedactOutput(t *testing.T) {
	t.Parallel()
	var r ExecuteRequest
	if err := json.Unmarshal([]byte(`{"code":"package tool\n"}`), &r); err != nil {
		t.Fatal(err)
	}
	if !r.RedactOutput() {
		t.Error("absent redact: RedactOutput = false, want true")
	}
	if err := json.Unmarshal([]byte(`{"redact":false}`), &r); err != nil {
		t.Fatal(err)
	}
	if r.RedactOutput() {
		t.Error("redact false: RedactOutput = true, want false")
	}
}
