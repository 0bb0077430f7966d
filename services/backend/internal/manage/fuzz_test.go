package manage

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
)

// FuzzDecode feeds untrusted bodies to the request and argument decoders:
// they never panic, a decoded request is valid JSON, and decoded arguments
// hold only declared names, each getter failing with validation_failed
// rather than anything else.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"arguments": {"server_id": "7d0c8a52-8f6c-4d84-9a51-2d8fca3c7a11", "limit": 5}, "caller": {"kind": "local"}}`,
		`{"arguments": {"server_id": 42}, "caller": {"kind": "remote", "email": "a@b.io"}}`,
		`{"arguments": {"python_code": "x"}, "caller": {"kind": "local"}}`,
		`{"arguments": null, "caller": {}}`, `{"arguments": [1]}`, `{"a":1,"a":2}`, `{`, `[]`, ``,
		`{"arguments": {"limit": 1.5, "cursor": 3, "hosts": ["a", 1], "enabled": "yes"}, "caller": {"kind": "local"}}`,
	} {
		f.Add([]byte(seed))
	}
	allowed := []string{"server_id", "limit", "cursor", "hosts", "enabled", "name"}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, perr := decodeRequest(bytes.NewReader(body))
		if perr != nil {
			if perr.Code != proto.CodeInvalidJSON {
				t.Fatalf("decodeRequest code %q", perr.Code)
			}
			return
		}
		if len(req.Arguments) > 0 && !json.Valid(req.Arguments) {
			t.Fatalf("invalid arguments kept: %q", req.Arguments)
		}
		args, err := decodeArguments(proto.MgmtListServers, req.Arguments, allowed)
		if err != nil {
			wantValidation(t, err)
			return
		}
		for k := range args.values {
			if !contains(allowed, k) {
				t.Fatalf("undeclared argument %q kept", k)
			}
		}
		_, err1 := args.id("server_id")
		_, _, err2 := args.page()
		_, err3 := args.strings("hosts")
		_, err4 := args.bool("enabled")
		_, err5 := args.string("name")
		for _, err := range []error{err1, err2, err3, err4, err5} {
			if err != nil {
				wantValidation(t, err)
			}
		}
	})
}

func wantValidation(t *testing.T, err error) {
	t.Helper()
	o, ok := err.(*opError) //nolint:errorlint // the decoders return *opError unwrapped
	if !ok || o.e.Code != proto.CodeValidationFailed || o.e.Field == "" {
		t.Fatalf("want validation_failed naming a field, got %v", err)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
