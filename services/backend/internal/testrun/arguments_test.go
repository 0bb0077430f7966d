package testrun

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const schema = `{"type":"object","properties":{` +
	`"city":{"type":"string"},` +
	`"days":{"type":"integer","minimum":1},` +
	`"tags":{"type":"array","items":{"type":"string"}},` +
	`"opts":{"type":"object","properties":{"a/b":{"type":"boolean"}},"additionalProperties":false},` +
	`"extra":{"type":"object","additionalProperties":{"type":"integer"}}},` +
	`"required":["city"],"additionalProperties":false}`

func TestCheckArgumentsNamesEveryPointer(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, args string
		want       []string // pointers
	}{
		{"valid", `{"city":"Paris","days":2,"tags":["a"],"opts":{"a/b":true},"extra":{"x":1}}`, nil},
		{"empty means {}", ``, []string{"/city"}},
		{
			"missing and wrong", `{"days":0,"tags":["a",3],"opts":{"a/b":1,"z":1},"extra":{"x":"y"},"more":1}`,
			[]string{"/city", "/days", "/extra/x", "/more", "/opts/a~1b", "/opts/z", "/tags/1"},
		},
		{"not an object", `[1]`, []string{""}},
		{"not JSON", `{`, []string{""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := CheckArguments(json.RawMessage(schema), json.RawMessage(tc.args))
			var ptrs []string
			for _, d := range got {
				ptrs = append(ptrs, d.Field)
				if d.Message == "" {
					t.Fatalf("%s: empty message", d.Field)
				}
			}
			if diff := cmp.Diff(tc.want, ptrs); diff != "" {
				t.Fatalf("pointers (-want +got):\n%s\n%+v", diff, got)
			}
		})
	}
}

func TestCheckArgumentsMessages(t *testing.T) {
	t.Parallel()
	got := CheckArguments(json.RawMessage(schema), json.RawMessage(`{"city":3,"zzz":1}`))
	if len(got) != 2 || !strings.Contains(got[0].Message, "string") || !strings.Contains(got[1].Message, "allowed: city, days, extra, opts, tags") {
		t.Fatalf("%+v", got)
	}
	if got := CheckArguments(json.RawMessage("null"), json.RawMessage(`{"any":1}`)); got != nil {
		t.Fatalf("no schema: %+v", got)
	}
	deep := strings.Repeat(`{"a":`, 70) + "1" + strings.Repeat("}", 70)
	tooDeep := CheckArguments(nil, json.RawMessage(deep))
	if len(tooDeep) != 1 || !strings.Contains(tooDeep[0].Message, "deeper") {
		t.Fatalf("deep: %+v", tooDeep)
	}
	e := &ArgumentsError{Version: 3, Details: tooDeep}
	if !strings.HasPrefix(e.Error(), "arguments: do not match the input schema of version 3: (the arguments object)") {
		t.Fatal(e.Error())
	}
}

func FuzzCheckArguments(f *testing.F) {
	f.Add(schema, `{"city":"x"}`)
	f.Add(schema, `{"days":"x","tags":[1,{}],"opts":{"q":[]}}`)
	f.Add(`{"type":"array","items":{"type":"object","required":["a"]}}`, `[{}]`)
	f.Add(`true`, `{}`)
	f.Add(`{"properties":{"a":{"$ref":"#/nope"}}}`, `{"a":1}`)
	f.Add(`not json`, `{"a":"\"}"}`)
	f.Fuzz(func(t *testing.T, schema, args string) {
		got := CheckArguments(json.RawMessage(schema), json.RawMessage(args))
		if len(got) > maxDetails {
			t.Fatalf("%d details", len(got))
		}
		for _, d := range got {
			if d.Field != "" && d.Field[0] != '/' {
				t.Fatalf("not a JSON pointer: %q", d.Field)
			}
		}
	})
}
