package policy

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/db/dbq"
)

// The allowlist rules of backend.md §6.6: everyone has no values; emails
// 0–100 lowercased addresses of at most 254 characters; email_domain 1–20
// lowercased domains under the host rules. Values are stored lowercased.
func TestAllowlistRules(t *testing.T) {
	t.Parallel()
	many := func(n int, f func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	email := func(i int) string {
		return "user" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + "@" + string(rune('a'+i/26)) + ".example.com"
	}
	domain := func(i int) string { return "d" + string(rune('a'+i)) + ".example.com" }
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + ".com" // 260
	cases := []struct {
		name      string
		in        any
		want      []string // the stored values when valid
		wantField string   // the first failing field when not
	}{
		{"everyone without values", map[string]any{"mode": "everyone", "values": []string{}}, []string{}, ""},
		{"everyone with values absent", map[string]any{"mode": "everyone"}, []string{}, ""},
		{"everyone with a value", map[string]any{"mode": "everyone", "values": []string{"a@example.com"}}, nil, "remote_email_allowlist.values"},
		{"no emails", map[string]any{"mode": "emails", "values": []string{}}, []string{}, ""},
		{
			"emails lowercased",
			map[string]any{"mode": "emails", "values": []string{"Alice@Example.COM", "bob+mcp@corp.example.org"}},
			[]string{"alice@example.com", "bob+mcp@corp.example.org"},
			"",
		},
		{"100 emails", map[string]any{"mode": "emails", "values": many(100, email)}, many(100, email), ""},
		{"101 emails", map[string]any{"mode": "emails", "values": many(101, email)}, nil, "remote_email_allowlist.values"},
		{"email without tld", map[string]any{"mode": "emails", "values": []string{"ok@example.com", "root@localhost"}}, nil, "remote_email_allowlist.values[1]"},
		{"email without local part", map[string]any{"mode": "emails", "values": []string{"@example.com"}}, nil, "remote_email_allowlist.values[0]"},
		{"email with two @", map[string]any{"mode": "emails", "values": []string{"a@b@example.com"}}, nil, "remote_email_allowlist.values[0]"},
		{"email with a space", map[string]any{"mode": "emails", "values": []string{" a@example.com"}}, nil, "remote_email_allowlist.values[0]"},
		{"email over 254 characters", map[string]any{"mode": "emails", "values": []string{long}}, nil, "remote_email_allowlist.values[0]"},
		{"email twice in other case", map[string]any{"mode": "emails", "values": []string{"a@example.com", "A@example.com"}}, nil, "remote_email_allowlist.values[1]"},
		{
			"domains lowercased",
			map[string]any{"mode": "email_domain", "values": []string{"Example.COM", "corp.example.org."}},
			[]string{"example.com", "corp.example.org"},
			"",
		},
		{"IDN domain as A-label", map[string]any{"mode": "email_domain", "values": []string{"bücher.example"}}, []string{"xn--bcher-kva.example"}, ""},
		{"20 domains", map[string]any{"mode": "email_domain", "values": many(20, domain)}, many(20, domain), ""},
		{"21 domains", map[string]any{"mode": "email_domain", "values": many(21, domain)}, nil, "remote_email_allowlist.values"},
		{"no domain", map[string]any{"mode": "email_domain", "values": []string{}}, nil, "remote_email_allowlist.values"},
		{"domain with @", map[string]any{"mode": "email_domain", "values": []string{"a@example.com"}}, nil, "remote_email_allowlist.values[0]"},
		{"domain with port", map[string]any{"mode": "email_domain", "values": []string{"example.com:443"}}, nil, "remote_email_allowlist.values[0]"},
		{"wildcard domain", map[string]any{"mode": "email_domain", "values": []string{"*.example.com"}}, nil, "remote_email_allowlist.values[0]"},
		{"single-label domain", map[string]any{"mode": "email_domain", "values": []string{"corp"}}, nil, "remote_email_allowlist.values[0]"},
		{"IP literal domain", map[string]any{"mode": "email_domain", "values": []string{"10.0.0.1"}}, nil, "remote_email_allowlist.values[0]"},
		{"unknown mode", map[string]any{"mode": "anyone", "values": []string{}}, nil, "remote_email_allowlist.mode"},
		{"missing mode", map[string]any{"values": []string{}}, nil, "remote_email_allowlist.mode"},
		{"unknown member", map[string]any{"mode": "emails", "values": []string{}, "extra": true}, nil, "remote_email_allowlist.extra"},
		{"null values", map[string]any{"mode": "emails", "values": nil}, nil, "remote_email_allowlist.values"},
		{"values not strings", map[string]any{"mode": "emails", "values": []int{1}}, nil, "remote_email_allowlist.values"},
		{"null", nil, nil, "remote_email_allowlist"},
		{"a string", "everyone", nil, "remote_email_allowlist"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			raw, err := json.Marshal(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			p := Defaults()
			errs := p.set("remote_email_allowlist", raw)
			if tc.wantField != "" {
				if len(errs) == 0 {
					t.Fatalf("accepted: %+v", p.RemoteEmailAllowlist)
				}
				if errs[0].Field != tc.wantField || !strings.HasPrefix(errs[0].Message, tc.wantField+": ") {
					t.Fatalf("first error %q %q, want field %q", errs[0].Field, errs[0].Message, tc.wantField)
				}
				if !slices.Equal(p.RemoteEmailAllowlist.Values, []string{}) || p.RemoteEmailAllowlist.Mode != "emails" {
					t.Fatalf("a refused value changed the policy: %+v", p.RemoteEmailAllowlist)
				}
				return
			}
			if len(errs) > 0 {
				t.Fatalf("refused: %v", errs[0])
			}
			if !slices.Equal(p.RemoteEmailAllowlist.Values, tc.want) || p.RemoteEmailAllowlist.Values == nil {
				t.Fatalf("values %q, want %q", p.RemoteEmailAllowlist.Values, tc.want)
			}
		})
	}
}

// Every rule names the key and the allowed values or range; unknown keys
// list the known ones; every failure is reported, in the order of Keys.
func TestCheckMessages(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		patch string
		want  []string // field: message, in order
	}{
		{"enum", `{"tool_approval_mode": "yolo"}`, []string{"tool_approval_mode: must be one of require_approval, auto_approve."}},
		{"enum as number", `{"remote_tool_editing": 1}`, []string{"remote_tool_editing: must be one of disabled, enabled."}},
		{"enum null", `{"redact_secrets_in_output": null}`, []string{"redact_secrets_in_output: must be one of enabled, disabled."}},
		{"rate limit low", `{"mcp_rate_limit_rpm": 5}`, []string{"mcp_rate_limit_rpm: must be an integer between 10 and 10000 (calls per minute per caller)."}},
		{"rate limit fraction", `{"mcp_rate_limit_rpm": 10.5}`, []string{"mcp_rate_limit_rpm: must be an integer between 10 and 10000 (calls per minute per caller)."}},
		{"retention high", `{"log_retention_days": 3651}`, []string{"log_retention_days: must be an integer between 1 and 3650 (days)."}},
		{"retention string", `{"log_retention_days": "30"}`, []string{"log_retention_days: must be an integer between 1 and 3650 (days)."}},
		{"retention null", `{"log_retention_days": null}`, []string{"log_retention_days: must be an integer between 1 and 3650 (days)."}},
		{"unknown", `{"onboarding_completed": true}`, []string{"onboarding_completed: unknown setting; the security policy's settings are " +
			"remote_tool_editing, tool_approval_mode, network_access_policy, package_approval_mode, redact_secrets_in_output, " +
			"log_retention_days, mcp_rate_limit_rpm, remote_email_allowlist (plus the optional revision)."}},
		{"several", `{"zzz": 1, "mcp_rate_limit_rpm": 0, "tool_approval_mode": "yolo", "aaa": 2}`, []string{
			"tool_approval_mode: must be one of require_approval, auto_approve.",
			"mcp_rate_limit_rpm: must be an integer between 10 and 10000 (calls per minute per caller).",
			"aaa: unknown setting", "zzz: unknown setting",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var patch map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tc.patch), &patch); err != nil {
				t.Fatal(err)
			}
			fes := FieldErrors(check(patch))
			if len(fes) != len(tc.want) {
				t.Fatalf("%d errors, want %d: %v", len(fes), len(tc.want), fes)
			}
			for i, fe := range fes {
				if !strings.HasPrefix(fe.Message, tc.want[i]) || !strings.HasPrefix(fe.Message, fe.Field+": ") {
					t.Errorf("error %d: field %q message %q, want %q", i, fe.Field, fe.Message, tc.want[i])
				}
			}
		})
	}
}

// A valid patch of every key passes check.
func TestCheckAcceptsEveryKey(t *testing.T) {
	t.Parallel()
	patch := map[string]json.RawMessage{
		"remote_tool_editing": json.RawMessage(`"enabled"`), "tool_approval_mode": json.RawMessage(`"auto_approve"`),
		"network_access_policy": json.RawMessage(`"allow_all_public"`), "package_approval_mode": json.RawMessage(`"auto_approve"`),
		"redact_secrets_in_output": json.RawMessage(`"disabled"`), "log_retention_days": json.RawMessage(`3650`),
		"mcp_rate_limit_rpm": json.RawMessage(`10`), "remote_email_allowlist": json.RawMessage(`{"mode":"email_domain","values":["example.com"]}`),
	}
	if err := check(patch); err != nil {
		t.Fatal(err)
	}
}

// Stored values that break their rule leave the default in place.
func TestFromRowsIgnoresBrokenValues(t *testing.T) {
	t.Parallel()
	p := fromRows(nil)
	if p.ToolApprovalMode != "require_approval" {
		t.Fatalf("defaults: %+v", p)
	}
	p = fromRowsOf(t, map[string]string{
		"tool_approval_mode": `"auto_approve"`, "mcp_rate_limit_rpm": `"lots"`,
		"remote_email_allowlist": `{"mode": "everyone", "values": ["x@example.com"]}`,
		"onboarding_completed":   `true`,
	})
	want := Defaults()
	want.ToolApprovalMode = "auto_approve"
	if got, _ := json.Marshal(p); string(got) != string(mustJSON(t, want)) {
		t.Fatalf("got %s, want %s", got, mustJSON(t, want))
	}
}

// FuzzSet feeds arbitrary bytes to the one parser of request values and
// stored rows: it never panics, a refused value leaves the policy unchanged
// and names the key, and an accepted one is valid for the gateway
// (proto.Policy.Validate) and survives its stored form unchanged.
func FuzzSet(f *testing.F) {
	for _, seed := range []string{
		`"enabled"`, `"yolo"`, `null`, `30`, `10.5`, `-1`, `1e3`, `99999999999999999999`, `{}`, `[]`, `"`,
		`{"mode":"emails","values":["A@Example.com"]}`, `{"mode":"email_domain","values":["Bücher.example."]}`,
		`{"mode":"everyone","values":[]}`, `{"mode":"everyone"}`, `{"mode":"emails","values":null}`,
		`{"mode":"emails","mode":"everyone"}`, `{"mode":"email_domain","values":["a.com","A.COM"]}`,
	} {
		for i := range Keys() {
			f.Add(uint8(i), []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, k uint8, raw []byte) {
		keys := Keys()
		key := keys[int(k)%len(keys)]
		p := Defaults()
		before := mustJSON(t, p)
		errs := p.set(key, raw)
		if len(errs) > 0 {
			if after := mustJSON(t, p); string(after) != string(before) {
				t.Fatalf("refused %q changed the policy: %s", raw, after)
			}
			for _, fe := range errs {
				if !strings.HasPrefix(fe.Field, key) || !strings.HasPrefix(fe.Message, fe.Field+": ") {
					t.Fatalf("error %q %q does not name %s", fe.Field, fe.Message, key)
				}
			}
			return
		}
		if err := p.Proto(1).Validate(); err != nil {
			t.Fatalf("accepted %q but the gateway would refuse it: %v", raw, err)
		}
		stored := p.value(key)
		again := Defaults()
		if errs := again.set(key, stored); len(errs) > 0 {
			t.Fatalf("stored form %s of %q refused: %v", stored, raw, errs[0])
		}
		if string(mustJSON(t, again)) != string(mustJSON(t, p)) {
			t.Fatalf("stored form %s of %q reads back differently", stored, raw)
		}
	})
}

func fromRowsOf(t *testing.T, stored map[string]string) Policy {
	t.Helper()
	var rows []dbq.Setting
	for k, v := range stored {
		rows = append(rows, dbq.Setting{Key: k, Value: []byte(v)})
	}
	return fromRows(rows)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
