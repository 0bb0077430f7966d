package canon_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/mcpbox/mcpbox/proto/canon"
)

// FuzzMarshalRoundTrip decodes arbitrary JSON and checks that Marshal
// produces valid UTF-8 JSON that decodes to the same value and is a fixed
// point of Marshal, with no HTML escaping.
func FuzzMarshalRoundTrip(f *testing.F) {
	seeds := []string{
		`null`, `true`, `0`, `-0`, `1e21`, `1E-7`, `333333333.33333329`, `9007199254740993`,
		`"<b>&amp;</b>"`, `"\u2028\u2029"`, `"\u0000\u001f\u007f"`, `"\ud83d\ude00"`, `"\ud800"`,
		`[]`, `{}`, `[1,[2,[3,{"a":[]}]]]`,
		`{"€":1,"\r":2,"דּ":3,"1":4,"😀":5,"\u0080":6,"ö":7}`,
		`{"code":"package tool\n","manifest":{"hosts":["api.example.com:443"],"memory_mb":128,"packages":[],"secrets":["API_KEY"],"timeout_ms":30000}}`,
		`{"a":1,"a":2}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Skip()
		}
		out, err := canon.Marshal(v)
		if err != nil {
			t.Fatalf("Marshal(%s): %v", data, err)
		}
		if !utf8.Valid(out) || !json.Valid(out) {
			t.Fatalf("Marshal(%s) = %q: not valid UTF-8 JSON", data, out)
		}
		if err := checkEscapes(out); err != nil {
			t.Fatalf("Marshal(%s) = %s: %v", data, out, err)
		}
		var back any
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("Unmarshal(%s): %v", out, err)
		}
		if !reflect.DeepEqual(v, back) {
			t.Fatalf("round trip changed the value: %s → %s", data, out)
		}
		again, err := canon.Marshal(json.RawMessage(out))
		if err != nil {
			t.Fatalf("Marshal(canonical %s): %v", out, err)
		}
		if !bytes.Equal(out, again) {
			t.Fatalf("not a fixed point: %s → %s", out, again)
		}
	})
}

// checkEscapes verifies the string escapes of canonical JSON (RFC 8785
// §3.2.2.2): only '"', '\\', \b \f \n \r \t and \u00xx (lowercase hex)
// for the other characters below U+0020; everything else is written raw.
func checkEscapes(out []byte) error {
	inString := false
	for i := 0; i < len(out); i++ {
		c := out[i]
		switch {
		case !inString:
			inString = c == '"'
		case c == '"':
			inString = false
		case c < 0x20:
			return fmt.Errorf("raw control character %#x at %d", c, i)
		case c == '\\':
			i++
			switch out[i] {
			case '"', '\\', 'b', 'f', 'n', 'r', 't':
			case 'u':
				hexDigits := string(out[i+1 : i+5])
				var v int
				if _, err := fmt.Sscanf(hexDigits, "%04x", &v); err != nil || v >= 0x20 ||
					hexDigits != fmt.Sprintf("%04x", v) || bytes.IndexByte([]byte("\b\f\n\r\t"), byte(v)) >= 0 {
					return fmt.Errorf("escape \\u%s at %d", hexDigits, i)
				}
				i += 4
			default:
				return fmt.Errorf("escape \\%c at %d", out[i], i)
			}
		}
	}
	return nil
}
