package ui

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/testrun"
)

// toolsTestSchema is UI-30's schema with an array of scalars and a
// date-time string added.
const toolsTestSchema = `{"type":"object","properties":{
"city":{"type":"string","minLength":1,"maxLength":40,"description":"City name"},
"days":{"type":"integer","minimum":1,"maximum":14},
"ratio":{"type":"number"},
"metric":{"type":"boolean"},
"unit":{"type":"string","enum":["c","f"]},
"zone":{"type":"string","enum":["a","b","c","d","e"]},
"tags":{"type":"array","items":{"type":"string"}},
"counts":{"type":"array","items":{"type":"integer"}},
"when":{"type":"string","format":"date-time"},
"options":{"type":"object","properties":{"lang":{"type":"string"}}}},
"required":["city","days"]}`

func toolsForm(t *testing.T, values url.Values) *toolsTestForm {
	t.Helper()
	f := newToolsTestForm(json.RawMessage(toolsTestSchema))
	r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/", strings.NewReader(values.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	f.read(r)
	return f
}

// UI-30 (below the browser): the controls of admin-ui.md §11.6, in the
// schema's order, with required marks.
func TestUI30_TestFormControls(t *testing.T) {
	t.Parallel()
	f := newToolsTestForm(json.RawMessage(toolsTestSchema))
	got := map[string]toolsField{}
	var order []string
	for _, fd := range f.Fields {
		got[fd.Name] = fd
		order = append(order, fd.Name)
	}
	if want := []string{"city", "days", "ratio", "metric", "unit", "zone", "tags", "counts", "when", "options"}; !reflect.DeepEqual(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
	for name, want := range map[string]string{
		"city": ctlText, "days": ctlNumber, "ratio": ctlNumber, "metric": ctlCheckbox, "unit": ctlRadio,
		"zone": ctlSelect, "tags": ctlLines, "counts": ctlLines, "when": ctlText, "options": ctlJSON,
	} {
		if got[name].Control != want {
			t.Errorf("%s: control %q, want %q", name, got[name].Control, want)
		}
	}
	if d := got["days"]; d.Step != "1" || d.Min != "1" || d.Max != "14" || !d.Required {
		t.Errorf("days: %+v", d)
	}
	if r := got["ratio"]; r.Step != "any" || r.Required {
		t.Errorf("ratio: %+v", r)
	}
	if c := got["city"]; c.MaxLength != "40" || !c.Required || c.Description != "City name" {
		t.Errorf("city: %+v", c)
	}
	if !got["when"].DateTime || got["counts"].ItemType != "integer" || !strings.Contains(got["options"].Schema, `"lang"`) {
		t.Errorf("when %+v counts %+v options %+v", got["when"], got["counts"], got["options"])
	}
	if got["city"].ID != "test-arg-city" {
		t.Errorf("id %q", got["city"].ID)
	}
	// No schema, or one without properties: the JSON textarea.
	for _, s := range []string{"", "null", `{"type":"object"}`, `[1]`} {
		if f := newToolsTestForm(json.RawMessage(s)); !f.NoSchema || !f.JSONMode {
			t.Errorf("schema %q: %+v", s, f)
		}
	}
}

// UI-30 (below the browser): the fields assemble the arguments (empty
// optional fields omitted, types converted) and "Edit as JSON" round-trips.
func TestUI30_TestFormAssembleAndRoundTrip(t *testing.T) {
	t.Parallel()
	f := toolsForm(t, url.Values{
		"arg-city": {"Oslo"}, "arg-days": {"3"}, "arg-ratio": {""}, "arg-metric": {"true"}, "arg-unit": {`"f"`},
		"arg-tags": {"a\n\n b \n"}, "arg-counts": {"1\n2"}, "arg-options": {`{"lang":"nb"}`},
	})
	args := f.assemble()
	if f.any() {
		t.Fatalf("errors: %+v", f.Summary)
	}
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"city":"Oslo","counts":[1,2],"days":3,"metric":true,"options":{"lang":"nb"},"tags":["a","b"],"unit":"f"}`
	if string(raw) != want {
		t.Errorf("arguments %s\nwant      %s", raw, want)
	}
	if d := testrun.CheckArguments(json.RawMessage(toolsTestSchema), raw); d != nil {
		t.Errorf("valid arguments refused: %+v", d)
	}
	// JSON → fields → JSON gives the same object.
	g := newToolsTestForm(json.RawMessage(toolsTestSchema))
	g.JSON.Value = string(raw)
	obj, ok := g.parseObject()
	if !ok || !g.split(obj) {
		t.Fatalf("split: %+v", g.Summary)
	}
	again, err := json.Marshal(g.assemble())
	if err != nil || string(again) != want {
		t.Errorf("round trip %s (%v)", again, err)
	}
	// A property the form does not know keeps the JSON view with an error.
	h := newToolsTestForm(json.RawMessage(toolsTestSchema))
	h.JSON.Value = `{"nope":1}`
	obj, ok = h.parseObject()
	if !ok || h.split(obj) || h.JSON.Error == "" {
		t.Errorf("unknown property accepted: %+v", h.JSON)
	}
	// Bad values are field errors under their fields.
	bad := toolsForm(t, url.Values{"arg-days": {"two"}, "arg-counts": {"1\nx"}, "arg-options": {"{"}, "arg-unit": {"f"}})
	bad.assemble()
	for _, fd := range bad.Fields {
		wantErr := fd.Name == "days" || fd.Name == "counts" || fd.Name == "options" || fd.Name == "unit"
		if (fd.Error != "") != wantErr {
			t.Errorf("%s: error %q", fd.Name, fd.Error)
		}
	}
	if len(bad.Summary) != 4 || bad.Summary[0].Href != "#test-arg-days" {
		t.Errorf("summary %+v", bad.Summary)
	}
}

// UI-30 (below the browser): the backend's errors (JSON pointers) land
// under their fields; an empty required string and 0 are both refused.
func TestUI30_TestFormMapsPointers(t *testing.T) {
	t.Parallel()
	f := toolsForm(t, url.Values{"arg-days": {"0"}, "arg-options": {`{"lang":3}`}})
	raw, err := json.Marshal(f.assemble())
	if err != nil {
		t.Fatal(err)
	}
	details := testrun.CheckArguments(json.RawMessage(toolsTestSchema), raw)
	f.mapErrors(details)
	errs := map[string]string{}
	for _, fd := range f.Fields {
		errs[fd.Name] = fd.Error
	}
	if !strings.HasPrefix(errs["city"], "city: ") || !strings.HasPrefix(errs["days"], "days: ") ||
		!strings.HasPrefix(errs["options"], "options/lang: ") {
		t.Errorf("errors %q (details %+v)", errs, details)
	}
	g := newToolsTestForm(json.RawMessage(toolsTestSchema))
	g.JSONMode = true
	g.mapErrors([]proto.FieldError{{Field: "", Message: "must be a JSON object."}, {Field: "/a~1b", Message: "x."}})
	if !strings.Contains(g.JSON.Error, "arguments/a~1b: x.") || len(g.Summary) != 2 {
		t.Errorf("JSON mode errors %q %+v", g.JSON.Error, g.Summary)
	}
	if head, rest := pointerHead("/a~1b~0/c"); head != "a/b~" || rest != "/c" {
		t.Errorf("pointerHead %q %q", head, rest)
	}
}

// FuzzToolsTestForm: any schema and any submitted values lay out,
// assemble and split without panicking, and whatever assembles encodes
// as a JSON object that splits back to the same object.
func FuzzToolsTestForm(f *testing.F) {
	f.Add(toolsTestSchema, "Oslo", "3", `{"a":1}`, "x\ny")
	f.Add(`{"properties":{"a/b":{"type":["string","null"]},"~":{"enum":[1,"x",null]}}}`, "", "1e309", "[", "")
	f.Add(`{"properties":{"n":{"type":"number","minimum":"x"}}}`, "\x00", "-0", "null", "true\nfalse")
	f.Fuzz(func(t *testing.T, schema, a, b, c, d string) {
		form := newToolsTestForm(json.RawMessage(schema))
		values := url.Values{}
		for i, fd := range form.Fields {
			values.Set(fd.Input, []string{a, b, c, d}[i%4])
		}
		r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/", strings.NewReader(values.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		form.read(r)
		args := form.assemble()
		raw, err := json.Marshal(args)
		if err != nil {
			t.Fatalf("assembled arguments do not encode: %v", err)
		}
		if form.any() {
			return
		}
		g := newToolsTestForm(json.RawMessage(schema))
		g.JSON.Value = string(raw)
		obj, ok := g.parseObject()
		if !ok {
			t.Fatalf("assembled %s does not parse back", raw)
		}
		if !g.split(obj) {
			t.Fatalf("assembled %s does not split: %+v", raw, g.Summary)
		}
		_, _ = pointerHead(a)
	})
}
