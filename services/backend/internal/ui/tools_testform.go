package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/catalog"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
	"github.com/mcpbox/mcpbox/services/backend/internal/testrun"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
)

// Controls of the schema-driven test form (admin-ui.md §11.6).
const (
	ctlText     = "text"
	ctlSelect   = "select"
	ctlRadio    = "radio"
	ctlNumber   = "number"
	ctlCheckbox = "checkbox"
	ctlLines    = "lines"
	ctlJSON     = "json"
)

// toolsTestMaxFields bounds the properties laid out as fields; a larger
// schema is edited as JSON.
const toolsTestMaxFields = 100

// toolsSafeName is a property name that can be part of an element id
// (others are numbered).
var toolsSafeName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)

// toolsOption is one value of an enum.
type toolsOption struct {
	Value, Label string // Value is the JSON text of the value
	Selected     bool
}

// toolsField is one property of the input schema as a form control.
type toolsField struct {
	Name, ID, Input string // property name, element id, form field name
	Control         string
	Type            string
	Required        bool
	Description     string
	Options         []toolsOption
	Min, Max, Step  string
	MaxLength       string
	Pattern         string
	DateTime        bool
	ItemType        string
	Schema          string // the sub-schema, pretty JSON (JSON controls)
	Value           string
	Checked         bool
	Error           string
}

// toolsTestForm is the Test section: the form, its errors and the result.
type toolsTestForm struct {
	Fields []toolsField
	// JSONMode shows the assembled object in one textarea.
	JSONMode   bool
	JSON       field
	UseSecrets bool
	// NoSchema: the version's schema has no properties the form can lay
	// out (or is not an object schema); the JSON textarea is the form.
	NoSchema bool
	formProblems
	Result *testrun.Result
	Pretty template.HTML
}

// schemaNode is what the form reads of a (sub-)schema.
type schemaNode struct {
	Type        json.RawMessage   `json:"type"`
	Enum        []json.RawMessage `json:"enum"`
	Description string            `json:"description"`
	Minimum     *float64          `json:"minimum"`
	Maximum     *float64          `json:"maximum"`
	MaxLength   *int              `json:"maxLength"`
	Pattern     string            `json:"pattern"`
	Format      string            `json:"format"`
	Items       json.RawMessage   `json:"items"`
	Required    []string          `json:"required"`
	Properties  json.RawMessage   `json:"properties"`
}

// typeOf is the schema's single type ("" when absent or a union other
// than T|null).
func (n schemaNode) typeOf() string {
	var one string
	if json.Unmarshal(n.Type, &one) == nil {
		return one
	}
	var many []string
	if json.Unmarshal(n.Type, &many) == nil {
		var kept []string
		for _, t := range many {
			if t != "null" {
				kept = append(kept, t)
			}
		}
		if len(kept) == 1 {
			return kept[0]
		}
	}
	return ""
}

// orderedKeys returns an object's keys in document order with their
// values.
func orderedKeys(raw json.RawMessage) ([]string, map[string]json.RawMessage, error) {
	vals := map[string]json.RawMessage{}
	if err := json.Unmarshal(raw, &vals); err != nil {
		return nil, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		return nil, nil, err
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		k, _ := tok.(string)
		keys = append(keys, k)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, nil, err
		}
	}
	return keys, vals, nil
}

// newToolsTestForm lays out the controls of an input schema (§11.6).
func newToolsTestForm(schema json.RawMessage) *toolsTestForm {
	f := &toolsTestForm{}
	var root schemaNode
	if len(bytes.TrimSpace(schema)) == 0 || json.Unmarshal(schema, &root) != nil || len(root.Properties) == 0 {
		f.NoSchema, f.JSONMode, f.JSON.Value = true, true, "{}"
		return f
	}
	keys, props, err := orderedKeys(root.Properties)
	if err != nil || len(keys) == 0 || len(keys) > toolsTestMaxFields {
		f.NoSchema, f.JSONMode, f.JSON.Value = true, true, "{}"
		return f
	}
	required := map[string]bool{}
	for _, r := range root.Required {
		required[r] = true
	}
	for i, k := range keys {
		f.Fields = append(f.Fields, toolsFieldOf(i, k, props[k], required[k]))
	}
	return f
}

func toolsFieldOf(i int, name string, raw json.RawMessage, required bool) toolsField {
	key := strconv.Itoa(i)
	if toolsSafeName.MatchString(name) {
		key = name
	}
	fd := toolsField{Name: name, ID: "test-arg-" + key, Input: "arg-" + key, Required: required, Control: ctlJSON}
	var n schemaNode
	if json.Unmarshal(raw, &n) != nil {
		fd.Schema = string(raw)
		return fd
	}
	fd.Description, fd.Type = n.Description, n.typeOf()
	switch {
	case len(n.Enum) > 0:
		fd.Control = ctlSelect
		if len(n.Enum) <= 4 {
			fd.Control = ctlRadio
		}
		for _, e := range n.Enum {
			label := string(e)
			var s string
			if json.Unmarshal(e, &s) == nil {
				label = s
			}
			fd.Options = append(fd.Options, toolsOption{Value: string(e), Label: label})
		}
	case fd.Type == "string":
		fd.Control, fd.Pattern, fd.DateTime = ctlText, n.Pattern, n.Format == "date-time"
		if n.MaxLength != nil {
			fd.MaxLength = strconv.Itoa(*n.MaxLength)
		}
	case fd.Type == "integer" || fd.Type == "number":
		fd.Control, fd.Step = ctlNumber, "any"
		if fd.Type == "integer" {
			fd.Step = "1"
		}
		if n.Minimum != nil {
			fd.Min = strconv.FormatFloat(*n.Minimum, 'g', -1, 64)
		}
		if n.Maximum != nil {
			fd.Max = strconv.FormatFloat(*n.Maximum, 'g', -1, 64)
		}
	case fd.Type == "boolean":
		fd.Control = ctlCheckbox
	case fd.Type == "array":
		var item schemaNode
		if json.Unmarshal(n.Items, &item) == nil {
			switch t := item.typeOf(); t {
			case "string", "integer", "number", "boolean":
				if len(item.Enum) == 0 {
					fd.Control, fd.ItemType = ctlLines, t
				}
			}
		}
	}
	if fd.Control == ctlJSON {
		var buf bytes.Buffer
		if json.Indent(&buf, raw, "", "  ") == nil {
			fd.Schema = buf.String()
		} else {
			fd.Schema = string(raw)
		}
	}
	return fd
}

// read fills the controls from a submitted form.
func (f *toolsTestForm) read(r *http.Request) {
	for i := range f.Fields {
		fd := &f.Fields[i]
		switch fd.Control {
		case ctlCheckbox:
			fd.Checked = r.PostFormValue(fd.Input) == "true"
		default:
			fd.Value = r.PostFormValue(fd.Input)
		}
		for j := range fd.Options {
			fd.Options[j].Selected = fd.Options[j].Value == fd.Value
		}
	}
	f.JSON.Value = r.PostFormValue("arguments")
	f.UseSecrets = r.PostFormValue("use_secrets") == "true"
}

// assemble builds the arguments object from the fields; a value that is
// not of its control's type is a field error. Empty fields are omitted;
// a checkbox always gives true or false.
func (f *toolsTestForm) assemble() map[string]any {
	out := map[string]any{}
	for i := range f.Fields {
		fd := &f.Fields[i]
		if fd.Control == ctlCheckbox {
			out[fd.Name] = fd.Checked
			continue
		}
		v := fd.Value
		if strings.TrimSpace(v) == "" {
			continue
		}
		switch fd.Control {
		case ctlText:
			out[fd.Name] = v
		case ctlSelect, ctlRadio:
			var x any
			if json.Unmarshal([]byte(v), &x) != nil {
				f.add(&fd.Error, fd.ID, fd.Name+": choose one of the listed values.")
				continue
			}
			out[fd.Name] = x
		case ctlNumber:
			x, err := scalar(fd.Type, strings.TrimSpace(v))
			if err != nil {
				f.add(&fd.Error, fd.ID, fd.Name+": "+err.Error()+".")
				continue
			}
			out[fd.Name] = x
		case ctlLines:
			items := []any{}
			for line := range strings.Lines(v) {
				line = strings.TrimSpace(line)
				if line == "" {
					continue
				}
				x, err := scalar(fd.ItemType, line)
				if err != nil {
					f.add(&fd.Error, fd.ID, fd.Name+": line "+strconv.Quote(line)+": "+err.Error()+".")
					break
				}
				items = append(items, x)
			}
			out[fd.Name] = items
		default:
			var x any
			if err := json.Unmarshal([]byte(v), &x); err != nil {
				f.add(&fd.Error, fd.ID, fd.Name+": must be JSON ("+err.Error()+").")
				continue
			}
			out[fd.Name] = x
		}
	}
	return out
}

// add records a field error (the field's Error and the summary).
func (f *toolsTestForm) add(dst *string, id, msg string) {
	*dst = msg
	f.Summary = append(f.Summary, summaryItem{Href: "#" + id, Message: msg})
}

// scalar converts one text value to a JSON scalar of type t.
func scalar(t, v string) (any, error) {
	switch t {
	case "integer":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, errors.New("must be a whole number")
		}
		return n, nil
	case "number":
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
			return nil, errors.New("must be a number")
		}
		return x, nil
	case "boolean":
		switch v {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, errors.New("must be true or false")
	}
	return v, nil
}

// split fills the fields from a JSON object (Edit as fields); a value the
// form has no field for keeps the JSON view with an error.
func (f *toolsTestForm) split(obj map[string]any) bool {
	known := map[string]*toolsField{}
	for i := range f.Fields {
		known[f.Fields[i].Name] = &f.Fields[i]
	}
	for k := range obj {
		if known[k] == nil {
			f.add(&f.JSON.Error, "test-json", fmt.Sprintf("arguments: %q is not a property of the input schema; remove it to edit as fields.", k))
			return false
		}
	}
	for i := range f.Fields {
		fd := &f.Fields[i]
		v, ok := obj[fd.Name]
		fd.Value, fd.Checked = "", false
		if !ok {
			continue
		}
		switch fd.Control {
		case ctlCheckbox:
			b, isBool := v.(bool)
			fd.Checked = isBool && b
		case ctlText:
			if s, isString := v.(string); isString {
				fd.Value = s
			} else {
				fd.Value = compactJSON(v)
			}
		case ctlLines:
			list, _ := v.([]any)
			lines := make([]string, 0, len(list))
			for _, x := range list {
				if s, isString := x.(string); isString {
					lines = append(lines, s)
				} else {
					lines = append(lines, compactJSON(x))
				}
			}
			fd.Value = strings.Join(lines, "\n")
		case ctlJSON:
			raw, _ := json.MarshalIndent(v, "", "  ") //nolint:errchkjson // decoded JSON always encodes
			fd.Value = string(raw)
		default: // number, select, radio
			fd.Value = compactJSON(v)
		}
		for j := range fd.Options {
			fd.Options[j].Selected = fd.Options[j].Value == fd.Value
		}
	}
	return true
}

func compactJSON(v any) string {
	raw, _ := json.Marshal(v) //nolint:errchkjson // decoded JSON always encodes
	return string(raw)
}

// parseObject reads the JSON textarea: a JSON object.
func (f *toolsTestForm) parseObject() (map[string]any, bool) {
	text := strings.TrimSpace(f.JSON.Value)
	if text == "" {
		text = "{}"
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || dec.More() || obj == nil {
		f.add(&f.JSON.Error, "test-json", "arguments: must be one JSON object, such as {\"city\": \"Oslo\"}.")
		return nil, false
	}
	return obj, true
}

// mapErrors puts the backend's argument errors (JSON pointers) under
// their fields; a pointer the form has no field for goes to the JSON
// textarea or the summary.
func (f *toolsTestForm) mapErrors(details []proto.FieldError) {
	for _, d := range details {
		name, rest := pointerHead(d.Field)
		var target *toolsField
		for i := range f.Fields {
			if f.Fields[i].Name == name && name != "" {
				target = &f.Fields[i]
			}
		}
		msg := d.Message
		switch {
		case f.JSONMode || target == nil:
			where := "arguments"
			if d.Field != "" {
				where = "arguments" + d.Field
			}
			if f.JSONMode {
				f.add(&f.JSON.Error, "test-json", where+": "+msg)
			} else {
				f.Problem = strings.TrimSpace(f.Problem + " " + where + ": " + msg)
			}
		case rest != "":
			f.add(&target.Error, target.ID, name+rest+": "+msg)
		default:
			f.add(&target.Error, target.ID, name+": "+msg)
		}
	}
}

// pointerHead splits a JSON pointer into its first token (unescaped) and
// the rest.
func pointerHead(p string) (string, string) {
	if !strings.HasPrefix(p, "/") {
		return "", ""
	}
	head, rest, found := strings.Cut(p[1:], "/")
	head = strings.ReplaceAll(strings.ReplaceAll(head, "~1", "/"), "~0", "~")
	if found {
		rest = "/" + rest
	}
	return head, rest
}

// toolTest is POST /tools/{id}/test (twin: POST /api/v1/tools/{id}/test
// {arguments, version, use_secrets}). action=json and action=fields switch
// the form between fields and one JSON textarea without running anything;
// action=run (the default) assembles the arguments, runs the test through
// the testrun service (which checks them against the schema before any
// sandbox call) and shows the result or the field errors (422).
func (h *handler) toolTest(w http.ResponseWriter, r *http.Request, st *state) error {
	id, ok := toolIDOf(r)
	if !ok {
		return h.notFound(w, r, st)
	}
	pg, err := h.toolsLoad(r, id, toolsTabTest, positive(r.PostFormValue("version")))
	if errors.Is(err, tools.ErrNotFound) {
		return h.notFound(w, r, st)
	}
	if err != nil {
		return err
	}
	form := newToolsTestForm(pg.Shown.InputSchema)
	pg.Test = form
	form.read(r)
	jsonMode := r.PostFormValue("mode") == "json" || form.NoSchema
	status := http.StatusOK
	switch action := r.PostFormValue("action"); action {
	case "json":
		obj := form.assemble()
		if form.any() {
			status = http.StatusUnprocessableEntity
			break
		}
		raw, _ := json.MarshalIndent(obj, "", "  ") //nolint:errchkjson // built from JSON values
		form.JSONMode, form.JSON.Value = true, string(raw)
	case "fields":
		form.JSONMode = true
		obj, ok := form.parseObject()
		if ok && form.split(obj) {
			form.JSONMode = form.NoSchema
		} else {
			status = http.StatusUnprocessableEntity
		}
	default:
		form.JSONMode = jsonMode
		var args map[string]any
		if jsonMode {
			obj, ok := form.parseObject()
			if !ok {
				status = http.StatusUnprocessableEntity
				break
			}
			args = obj
		} else if args = form.assemble(); form.any() {
			status = http.StatusUnprocessableEntity
			break
		}
		raw, err := json.Marshal(args)
		if err != nil {
			return err
		}
		status, err = h.toolsRun(r, st, pg, raw)
		if err != nil {
			return err
		}
	}
	if form.any() && status < http.StatusBadRequest {
		status = http.StatusUnprocessableEntity
	}
	if st.htmx && status >= http.StatusInternalServerError {
		// htmx swaps 2xx, 409, 422 and 429 only: the busy sandbox or its
		// failure is shown inline in the section, as a failed fragment must
		// be (admin-ui.md §12).
		status = http.StatusConflict
	}
	return h.render(w, r, st, page{Status: status, Name: "tools", Title: "Tool " + pg.Exposed, Nav: navServers, Data: pg, Fragment: "tools-test"})
}

// toolsRun runs the test and records the result or the refusal on the
// form; it returns the response status.
func (h *handler) toolsRun(r *http.Request, st *state, pg *toolsPage, args json.RawMessage) (int, error) {
	form := pg.Test
	res, err := h.d.TestRuns.Run(r.Context(), testrun.Request{
		ToolID: pg.Tool.ID, Version: pg.Shown.Version, Arguments: args, UseSecrets: form.UseSecrets,
		Caller: proto.Caller{Kind: proto.CallerAdmin}, Actor: st.p.Actor(), RequestID: st.reqID,
	})
	var (
		argErr  *testrun.ArgumentsError
		noCode  *testrun.NoCodeError
		refused *catalog.RefusedError
		sandbox *sandboxclient.Error
		rule    *proto.RuleError
		version *tools.VersionNotFoundError
	)
	switch {
	case err == nil:
		form.Result = &res
		form.Pretty = toolsPretty(res.Result)
		return http.StatusOK, nil
	case errors.As(err, &argErr):
		form.mapErrors(argErr.Details)
		return http.StatusUnprocessableEntity, nil
	case errors.Is(err, testrun.ErrBusy):
		form.Problem = "Too many test runs in progress; try again in a few seconds."
		return http.StatusTooManyRequests, nil
	case errors.As(err, &noCode):
		form.Problem = noCode.Error()
		return http.StatusConflict, nil
	case errors.As(err, &refused):
		form.Problem = refused.Message
		return http.StatusConflict, nil
	case errors.As(err, &sandbox):
		form.Problem = "The sandbox could not run the test: " + sandbox.Message()
		return http.StatusBadGateway, nil
	case errors.As(err, &rule):
		form.Problem = rule.Field + ": " + rule.Message
		return http.StatusUnprocessableEntity, nil
	case errors.As(err, &version):
		form.Problem = version.Error()
		return http.StatusConflict, nil
	}
	return 0, err
}
