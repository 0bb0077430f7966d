package page_test

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/page"
)

func TestParseLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw  string
		want int
		ok   bool
	}{
		{"", page.DefaultLimit, true},
		{"1", 1, true},
		{"50", 50, true},
		{"200", 200, true},
		{"007", 7, true},
		{"0", 0, false},
		{"201", 0, false},
		{"-1", 0, false},
		{"+5", 0, false},
		{" 5", 0, false},
		{"5 ", 0, false},
		{"1.5", 0, false},
		{"1e2", 0, false},
		{"abc", 0, false},
		{"99999999999999999999999", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			t.Parallel()
			got, err := page.ParseLimit(tc.raw)
			if tc.ok {
				if err != nil || got != tc.want {
					t.Fatalf("ParseLimit(%q) = %d, %v; want %d", tc.raw, got, err, tc.want)
				}
				return
			}
			var re *proto.RuleError
			if !errors.As(err, &re) || re.Field != "limit" || !strings.Contains(re.Message, "1 to 200") {
				t.Fatalf("ParseLimit(%q) = %d, %v; want a rule error for limit", tc.raw, got, err)
			}
		})
	}
}

// Every key type survives the round trip, times in UTC.
func TestEncodeDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	filter := page.Filter("things", "q", "")
	id := uuid.New()
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("x", 3600))
	cur := page.Encode(filter, "weather_api", 7, int32(-3), int64(1)<<60, true, at, id)
	if strings.ContainsAny(cur, "+/=") {
		t.Fatalf("cursor %q is not unpadded base64url", cur)
	}
	var (
		s   string
		n   int
		n32 int32
		n64 int64
		b   bool
		tm  time.Time
		u   uuid.UUID
	)
	if err := page.Decode(cur, filter, &s, &n, &n32, &n64, &b, &tm, &u); err != nil {
		t.Fatal(err)
	}
	if s != "weather_api" || n != 7 || n32 != -3 || n64 != 1<<60 || !b || !tm.Equal(at) || tm.Location() != time.UTC || u != id {
		t.Fatalf("decoded %q %d %d %d %v %v %v", s, n, n32, n64, b, tm, u)
	}
}

// Strings with characters JSON escapes still decode (the canonical check
// compares with Encode's own escaping).
func TestDecodeEscapedStrings(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "a<b>&c", "quote\"back\\slash", "ünïcødé ☃", "line\nbreak\u2028"} {
		cur := page.Encode("f", s)
		var got string
		if err := page.Decode(cur, "f", &got); err != nil || got != s {
			t.Fatalf("%q: got %q, %v", s, got, err)
		}
	}
}

func TestFilterIsUnambiguous(t *testing.T) {
	t.Parallel()
	if page.Filter("l", "a,b", "") == page.Filter("l", "a", "b") || page.Filter("l", "") == page.Filter("l") {
		t.Fatal("different filters share an identity")
	}
}

// raw builds a cursor from JSON text, as a client tampering with one would.
func raw(json string) string { return base64.RawURLEncoding.EncodeToString([]byte(json)) }

// check is the "f" of a cursor, computed as the package doc says.
func check(filter, keys string) string {
	sum := sha256.Sum256([]byte(filter + "\x00" + keys))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// BE-38: a tampered cursor, one of another list or filter, and every
// non-canonical rewrite are refused naming the cursor field.
func TestDecodeRefuses(t *testing.T) {
	t.Parallel()
	const filter = `["servers","",""]`
	id := uuid.MustParse("0d4a1c6e-3f2b-4c1d-9e8f-a1b2c3d4e5f6")
	good := page.Encode(filter, "alpha", id)
	f := check(filter, `["alpha","`+id.String()+`"]`)
	if raw(`{"v":1,"k":["alpha","`+id.String()+`"],"f":"`+f+`"}`) != good {
		t.Fatal("the format is not the one the package documents")
	}
	tests := map[string]string{
		"empty":             "",
		"not base64":        "!!!",
		"padded":            good + "==",
		"standard alphabet": strings.NewReplacer("-", "+", "_", "/").Replace(good) + "+/",
		"truncated":         good[:len(good)-3],
		"flipped char":      flip(good, len(good)/2),
		"not json":          raw("not json"),
		"array":             raw(`["alpha"]`),
		"wrong version":     raw(`{"v":2,"k":["alpha","` + id.String() + `"],"f":"` + f + `"}`),
		"missing version":   raw(`{"k":["alpha","` + id.String() + `"],"f":"` + f + `"}`),
		"too few keys":      raw(`{"v":1,"k":["alpha"],"f":"` + f + `"}`),
		"too many keys":     raw(`{"v":1,"k":["alpha","` + id.String() + `",1],"f":"` + f + `"}`),
		"null key":          raw(`{"v":1,"k":[null,"` + id.String() + `"],"f":"` + f + `"}`),
		"number for string": raw(`{"v":1,"k":[1,"` + id.String() + `"],"f":"` + f + `"}`),
		"bad uuid":          raw(`{"v":1,"k":["alpha","not-a-uuid"],"f":"` + f + `"}`),
		"uppercase uuid":    raw(`{"v":1,"k":["alpha","` + strings.ToUpper(id.String()) + `"],"f":"` + f + `"}`),
		"braced uuid":       raw(`{"v":1,"k":["alpha","{` + id.String() + `}"],"f":"` + f + `"}`),
		"whitespace":        raw(`{"v":1, "k":["alpha","` + id.String() + `"],"f":"` + f + `"}`),
		"reordered fields":  raw(`{"k":["alpha","` + id.String() + `"],"v":1,"f":"` + f + `"}`),
		"duplicate field":   raw(`{"v":1,"k":["zzz","` + id.String() + `"],"k":["alpha","` + id.String() + `"],"f":"` + f + `"}`),
		"cased field":       raw(`{"V":1,"k":["alpha","` + id.String() + `"],"f":"` + f + `"}`),
		"unknown field":     raw(`{"v":1,"k":["alpha","` + id.String() + `"],"f":"` + f + `","x":1}`),
		"escaped string":    raw(`{"v":1,"k":["\u0061lpha","` + id.String() + `"],"f":"` + f + `"}`),
		"trailing data":     raw(`{"v":1,"k":["alpha","` + id.String() + `"],"f":"` + f + `"}x`),
		"other filter":      page.Encode(`["servers","weather",""]`, "alpha", id),
		"other list":        page.Encode(`["tools","",""]`, "alpha", id),
		"edited value":      raw(`{"v":1,"k":["alphb","` + id.String() + `"],"f":"` + f + `"}`),
		"edited check":      raw(`{"v":1,"k":["alpha","` + id.String() + `"],"f":"` + check(filter, `["alphb"]`) + `"}`),
		"no check":          raw(`{"v":1,"k":["alpha","` + id.String() + `"]}`),
		"too long":          good + strings.Repeat("A", page.MaxCursorLen),
		"trailing space":    raw(`{"v":1,"k":["alpha","` + id.String() + `"],"f":"` + f + `"} `),
	}
	for name, cur := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var s string
			var u uuid.UUID
			err := page.Decode(cur, filter, &s, &u)
			var re *proto.RuleError
			if !errors.As(err, &re) || re.Field != "cursor" || re.Message == "" {
				t.Fatalf("Decode(%q) = %v (%q %v); want a rule error for cursor", cur, err, s, u)
			}
		})
	}
	var s string
	var u uuid.UUID
	if err := page.Decode(good, filter, &s, &u); err != nil || s != "alpha" || u != id {
		t.Fatalf("the untampered cursor: %q %v %v", s, u, err)
	}
}

// The refusal says what to do, so a client knows to restart.
func TestDecodeMessage(t *testing.T) {
	t.Parallel()
	cur := page.Encode(page.Filter("servers", "a", ""), "x")
	var s string
	err := page.Decode(cur, page.Filter("servers", "b", ""), &s)
	if err == nil || err.Error() != "cursor: is not a cursor of this list and filter; pass the next_cursor of the previous "+
		"page unchanged with the same filter and sort parameters, or start again without cursor." {
		t.Fatalf("got %v", err)
	}
}

// A time decoded into an int, or an int into a time, is refused.
func TestDecodeTypeMismatch(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	var n int64
	if err := page.Decode(page.Encode("f", at), "f", &n); err == nil {
		t.Fatal("time decoded as int64")
	}
	var tm time.Time
	if err := page.Decode(page.Encode("f", int64(5)), "f", &tm); err == nil {
		t.Fatal("int64 decoded as time")
	}
	var n32 int32
	if err := page.Decode(page.Encode("f", int64(1)<<40), "f", &n32); err == nil {
		t.Fatal("int64 overflowing int32 decoded")
	}
	var b bool
	if err := page.Decode(page.Encode("f", "true"), "f", &b); err == nil {
		t.Fatal("string decoded as bool")
	}
}

func TestEncodeDecodePanicOnProgrammingErrors(t *testing.T) {
	t.Parallel()
	mustPanic := func(name string, fn func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		fn()
	}
	mustPanic("float key", func() { page.Encode("f", 1.5) })
	mustPanic("pointer key", func() { s := "x"; page.Encode("f", &s) })
	mustPanic("value destination", func() { _ = page.Decode(page.Encode("f", "x"), "f", "x") })
	mustPanic("nil destination", func() { _ = page.Decode(page.Encode("f", "x"), "f", (*string)(nil)) })
}

func TestCut(t *testing.T) {
	t.Parallel()
	keys := func(n int) []any { return []any{n} }
	rows, next := page.Cut([]int{1, 2, 3}, 3, "f", keys)
	if len(rows) != 3 || next != "" {
		t.Fatalf("a full last page: %v %q", rows, next)
	}
	rows, next = page.Cut([]int{1, 2, 3, 4}, 3, "f", keys)
	if len(rows) != 3 || next == "" {
		t.Fatalf("a page with more: %v %q", rows, next)
	}
	var after int
	if err := page.Decode(next, "f", &after); err != nil || after != 3 {
		t.Fatalf("next cursor decodes to %d, %v; want 3", after, err)
	}
	rows, next = page.Cut([]int(nil), 50, "f", keys)
	if len(rows) != 0 || next != "" {
		t.Fatalf("empty: %v %q", rows, next)
	}
}

func flip(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
