package analyze

import (
	"cmp"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/mcpbox/mcpbox/proto"
)

// maxTypeDepth bounds how deeply schema derivation follows nested types.
const maxTypeDepth = 64

// maxSchemaWork bounds the type expressions and fields one derivation may
// visit, so a hostile diamond of nested types cannot blow up exponentially.
const maxSchemaWork = 20_000

type schemaMode int

const (
	// modeInput derives the input schema (§5.3): problems are errors.
	modeInput schemaMode = iota
	// modeOutput derives the output schema (§5.4): every field without
	// omitempty/omitzero is required, values that encode as null (nil
	// pointers, slices, maps) allow null, and a problem only drops the
	// output schema, with a warning.
	modeOutput
)

// deriver turns a type expression into a JSON Schema from the AST alone.
type deriver struct {
	t      *file
	mode   schemaMode
	stack  []string
	failed bool
	work   int
}

// spend counts one unit of work and reports false once the budget is gone.
func (d *deriver) spend(node ast.Node) bool {
	d.work++
	if d.work == maxSchemaWork {
		d.fail(node, "the type is too large (more than %d nested fields and types): simplify it", maxSchemaWork)
	}
	return d.work < maxSchemaWork
}

// emptyInputSchema is the input schema of a Main without input.
func emptyInputSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "object", Properties: map[string]*jsonschema.Schema{}, AdditionalProperties: falseSchema()}
}

// falseSchema is the schema that allows nothing; it encodes as false.
func falseSchema() *jsonschema.Schema { return &jsonschema.Schema{Not: &jsonschema.Schema{}} }

func inputSchema(t *file, sig *mainSig) json.RawMessage {
	if sig.input == nil {
		return marshalSchema(emptyInputSchema())
	}
	d := &deriver{t: t, mode: modeInput}
	s := d.schema(sig.input, 0)
	if d.failed || s == nil {
		return nil
	}
	return marshalSchema(s)
}

// outputSchema derives the output schema when Main returns a named struct
// type declared in the file (not a pointer), else nil (§5.4).
func outputSchema(t *file, sig *mainSig) json.RawMessage {
	id, ok := sig.result.(*ast.Ident)
	if !ok || t.types[id.Name] == nil || t.types[id.Name].TypeParams != nil {
		return nil
	}
	if _, ok := t.underlying(id).(*ast.StructType); !ok {
		return nil
	}
	d := &deriver{t: t, mode: modeOutput}
	s := d.schema(id, 0)
	if d.failed || s == nil {
		return nil
	}
	return marshalSchema(s)
}

// fail reports why a type has no schema: an error for the input, a warning
// that drops the output schema for the output.
func (d *deriver) fail(node ast.Node, format string, args ...any) *jsonschema.Schema {
	d.failed = true
	msg := fmt.Sprintf(format, args...)
	if d.mode == modeInput {
		d.t.rep.errorf(node.Pos(), proto.ErrTypeValidationError, "input type: %s", msg)
	} else {
		d.t.rep.warnf(node.Pos(), proto.ErrTypeValidationError, "no output schema derived: %s", msg)
	}
	return nil
}

// nullable lets s also be null in output mode (a nil pointer, slice or map
// encodes as null).
func (d *deriver) nullable(s *jsonschema.Schema) *jsonschema.Schema {
	if d.mode != modeOutput || s == nil || s.Type == "" {
		return s
	}
	s.Types = []string{s.Type, "null"}
	s.Type = ""
	return s
}

func (d *deriver) schema(e ast.Expr, depth int) *jsonschema.Schema {
	if !d.spend(e) {
		return nil
	}
	if depth > maxTypeDepth {
		return d.fail(e, "types are nested too deeply; flatten the structure")
	}
	switch x := e.(type) {
	case *ast.ParenExpr:
		return d.schema(x.X, depth+1)
	case *ast.Ident:
		return d.ident(x, depth)
	case *ast.StarExpr:
		return d.nullable(d.schema(x.X, depth+1))
	case *ast.ArrayType:
		return d.array(x, depth)
	case *ast.MapType:
		key, ok := d.t.underlying(x.Key).(*ast.Ident)
		if !ok || key.Name != "string" || d.t.types["string"] != nil {
			return d.fail(x.Key, "map keys must be strings: use map[string]%s (JSON object keys are strings)", types.ExprString(x.Value))
		}
		v := d.schema(x.Value, depth+1)
		if v == nil {
			return nil
		}
		return d.nullable(&jsonschema.Schema{Type: "object", AdditionalProperties: v})
	case *ast.StructType:
		return d.object(x, depth)
	case *ast.SelectorExpr:
		switch {
		case d.t.isSelector(x, "time", "Time"):
			return &jsonschema.Schema{Type: "string", Format: "date-time"}
		case d.t.isSelector(x, "encoding/json", "RawMessage"):
			return &jsonschema.Schema{}
		case d.mode == modeOutput:
			return &jsonschema.Schema{} // encodes as whatever the package type encodes to
		}
		return d.fail(x, "%s comes from another package; only time.Time and json.RawMessage are supported: use basic types, slices, maps and structs declared in the file", types.ExprString(x))
	case *ast.InterfaceType:
		if (x.Methods == nil || len(x.Methods.List) == 0) || d.mode == modeOutput {
			return &jsonschema.Schema{}
		}
		return d.fail(x, "interface types cannot be decoded from JSON: use a concrete type, or any")
	case *ast.ChanType:
		return d.fail(x, "channels cannot be encoded as JSON: remove the field or tag it `json:\"-\"`")
	case *ast.FuncType:
		return d.fail(x, "functions cannot be encoded as JSON: remove the field or tag it `json:\"-\"`")
	case *ast.IndexExpr, *ast.IndexListExpr:
		return d.fail(x, "generic type %s is not supported in schemas: declare a concrete struct type", types.ExprString(x))
	}
	return d.fail(e, "the type %s is not supported in schemas", types.ExprString(e))
}

func (d *deriver) ident(x *ast.Ident, depth int) *jsonschema.Schema {
	if spec := d.t.types[x.Name]; spec != nil {
		if spec.TypeParams != nil {
			return d.fail(x, "generic type %s is not supported in schemas: declare a concrete struct type", x.Name)
		}
		if slices.Contains(d.stack, x.Name) {
			return d.fail(x, "type %s refers to itself; recursive types have no finite schema: flatten the structure, or use a map or json.RawMessage for the nested part", x.Name)
		}
		d.stack = append(d.stack, x.Name)
		defer func() { d.stack = d.stack[:len(d.stack)-1] }()
		return d.schema(spec.Type, depth+1)
	}
	zero := 0.0
	switch x.Name {
	case "string":
		return &jsonschema.Schema{Type: "string"}
	case "bool":
		return &jsonschema.Schema{Type: "boolean"}
	case "int", "int8", "int16", "int32", "int64", "rune":
		return &jsonschema.Schema{Type: "integer"}
	case "uint", "uint8", "uint16", "uint32", "uint64", "uintptr", "byte":
		return &jsonschema.Schema{Type: "integer", Minimum: &zero}
	case "float32", "float64":
		return &jsonschema.Schema{Type: "number"}
	case "any":
		return &jsonschema.Schema{}
	case "error":
		if d.mode == modeOutput {
			return &jsonschema.Schema{}
		}
		return d.fail(x, "error values cannot be decoded from JSON: use a string")
	case "complex64", "complex128":
		return d.fail(x, "complex numbers cannot be encoded as JSON: use two float64 fields")
	}
	return d.fail(x, "unknown type %s: declare it in the file", x.Name)
}

// isByte reports whether e is byte or uint8 (or a file type based on them).
func (d *deriver) isByte(e ast.Expr) bool {
	id, ok := d.t.underlying(e).(*ast.Ident)
	return ok && (id.Name == "byte" || id.Name == "uint8") && d.t.types[id.Name] == nil
}

func (d *deriver) array(x *ast.ArrayType, depth int) *jsonschema.Schema {
	if x.Len == nil {
		if d.isByte(x.Elt) { // encoding/json writes []byte as base64
			return d.nullable(&jsonschema.Schema{Type: "string", ContentEncoding: "base64"})
		}
		items := d.schema(x.Elt, depth+1)
		if items == nil {
			return nil
		}
		return d.nullable(&jsonschema.Schema{Type: "array", Items: items})
	}
	lit, ok := x.Len.(*ast.BasicLit)
	if !ok || lit.Kind != token.INT {
		return d.fail(x.Len, "array lengths must be integer literals ([3]string); use a slice otherwise")
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(lit.Value, "_", ""), 0, 32)
	if err != nil || n < 0 {
		return d.fail(x.Len, "array length %s is too large; use a slice", lit.Value)
	}
	items := d.schema(x.Elt, depth+1)
	if items == nil {
		return nil
	}
	size := int(n)
	return &jsonschema.Schema{Type: "array", Items: items, MinItems: &size, MaxItems: &size}
}

// field is one JSON property of a struct after encoding/json's rules.
type field struct {
	name     string
	expr     ast.Expr
	node     *ast.Field
	tagged   bool
	optional bool // omitempty, omitzero, or reached through an embedded pointer
	asString bool // the ",string" option
	tag      reflect.StructTag
	depth    int
}

func (d *deriver) object(st *ast.StructType, depth int) *jsonschema.Schema {
	fields := d.fields(st, 0, depth)
	s := &jsonschema.Schema{Type: "object", Properties: map[string]*jsonschema.Schema{}, AdditionalProperties: falseSchema()}
	for _, f := range dominant(fields) {
		fs := d.schema(f.expr, depth+1)
		if fs == nil {
			continue
		}
		if f.asString && slices.Contains([]string{"integer", "number", "boolean", "string"}, fs.Type) {
			fs.Type, fs.Minimum = "string", nil
		}
		if desc := fieldDescription(f); desc != "" {
			fs.Description = desc
		}
		if enum, ok := f.tag.Lookup("enum"); ok {
			d.enum(fs, enum, f)
		}
		s.Properties[f.name] = fs
		s.PropertyOrder = append(s.PropertyOrder, f.name)
		required := !f.optional
		if d.mode == modeInput && isPointer(d.t, f.expr) {
			required = false
		}
		if required {
			s.Required = append(s.Required, f.name)
		}
	}
	return s
}

// fields lists the JSON fields of a struct in encoding/json's order,
// flattening embedded structs declared in the file.
func (d *deriver) fields(st *ast.StructType, embedDepth, depth int) []field {
	if depth > maxTypeDepth || st.Fields == nil {
		return nil
	}
	var out []field
	for _, f := range st.Fields.List {
		if !d.spend(f) {
			return out
		}
		tag := fieldTag(f)
		jsonTag, hasTag := tag.Lookup("json")
		if jsonTag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(jsonTag, ",")
		if !validTagName(name) {
			name = ""
		}
		optional := hasOption(opts, "omitempty") || hasOption(opts, "omitzero")
		asString := hasOption(opts, "string")
		if len(f.Names) == 0 {
			out = append(out, d.embedded(f, tag, name, optional, asString, embedDepth, depth)...)
			continue
		}
		for _, id := range f.Names {
			if !ast.IsExported(id.Name) {
				continue
			}
			if !hasTag {
				d.t.rep.warnf(id.Pos(), proto.ErrTypeValidationError,
					"field %s has no json tag, so its JSON name is %q: add a json tag, e.g. `json:\"%s\"`", id.Name, id.Name, snake(id.Name))
			}
			out = append(out, field{
				name: cmp.Or(name, id.Name), expr: f.Type, node: f, tagged: name != "",
				optional: optional, asString: asString, tag: tag, depth: embedDepth,
			})
		}
	}
	return out
}

// embedded handles an embedded field: a struct declared in the file without
// a json name is flattened; anything else is a field named after its type.
func (d *deriver) embedded(f *ast.Field, tag reflect.StructTag, name string, optional, asString bool, embedDepth, depth int) []field {
	typ, ptr := f.Type, false
	if star, ok := typ.(*ast.StarExpr); ok {
		typ, ptr = star.X, true
	}
	var typeName string
	switch x := typ.(type) {
	case *ast.Ident:
		typeName = x.Name
	case *ast.SelectorExpr:
		if d.mode == modeInput {
			d.fail(x, "embedded %s comes from another package: declare the fields in the file instead", types.ExprString(x))
			return nil
		}
		typeName = x.Sel.Name
	default:
		d.fail(f.Type, "unsupported embedded field %s", types.ExprString(f.Type))
		return nil
	}
	if spec := d.t.types[typeName]; name == "" && spec != nil {
		if st, ok := d.t.underlying(typ).(*ast.StructType); ok {
			if slices.Contains(d.stack, typeName) {
				return nil // encoding/json ignores a struct embedded in itself
			}
			d.stack = append(d.stack, typeName)
			inner := d.fields(st, embedDepth+1, depth+1)
			d.stack = d.stack[:len(d.stack)-1]
			for i := range inner {
				inner[i].optional = inner[i].optional || ptr // a nil embedded pointer omits its fields
			}
			return inner
		}
	}
	if name == "" && !ast.IsExported(typeName) {
		return nil
	}
	return []field{{
		name: cmp.Or(name, typeName), expr: f.Type, node: f, tagged: name != "",
		optional: optional, asString: asString, tag: tag, depth: embedDepth,
	}}
}

// dominant applies encoding/json's rule for duplicate names: the shallowest
// field wins, then the only tagged one; otherwise all are dropped. The order
// of first appearance is kept.
func dominant(fields []field) []field {
	byName := map[string][]field{}
	var order []string
	for _, f := range fields {
		if _, ok := byName[f.name]; !ok {
			order = append(order, f.name)
		}
		byName[f.name] = append(byName[f.name], f)
	}
	var out []field
	for _, name := range order {
		fs := byName[name]
		minDepth := slices.MinFunc(fs, func(a, b field) int { return a.depth - b.depth }).depth
		var top []field
		for _, f := range fs {
			if f.depth == minDepth {
				top = append(top, f)
			}
		}
		if len(top) == 1 {
			out = append(out, top[0])
			continue
		}
		var tagged []field
		for _, f := range top {
			if f.tagged {
				tagged = append(tagged, f)
			}
		}
		if len(tagged) == 1 {
			out = append(out, tagged[0])
		}
	}
	return out
}

func (d *deriver) enum(s *jsonschema.Schema, raw string, f field) {
	target := s
	if target.Items != nil {
		target = target.Items
	}
	typ := target.Type
	if typ == "" && len(target.Types) > 0 {
		typ = target.Types[0]
	}
	var vals []any
	for v := range strings.SplitSeq(raw, ",") {
		v = strings.TrimSpace(v)
		var (
			val any
			err error
		)
		switch typ {
		case "string":
			val = v
		case "integer":
			if target.Minimum != nil {
				val, err = strconv.ParseUint(v, 10, 64)
			} else {
				val, err = strconv.ParseInt(v, 10, 64)
			}
		case "number":
			val, err = strconv.ParseFloat(v, 64)
		case "boolean":
			val, err = strconv.ParseBool(v)
		default:
			d.fail(f.node, "field %s: enum is only supported on string, integer, number and boolean fields (or slices of them)", f.name)
			return
		}
		if err != nil {
			d.fail(f.node, "field %s: enum value %q is not a valid %s", f.name, v, typ)
			return
		}
		vals = append(vals, val)
	}
	target.Enum = vals
}

// isPointer reports whether a field's type is a pointer (directly or
// through a named type), which makes it optional in the input.
func isPointer(t *file, e ast.Expr) bool {
	_, ok := t.underlying(e).(*ast.StarExpr)
	return ok
}

func fieldTag(f *ast.Field) reflect.StructTag {
	if f.Tag == nil {
		return ""
	}
	s, err := strconv.Unquote(f.Tag.Value)
	if err != nil {
		return ""
	}
	return reflect.StructTag(s)
}

// fieldDescription is the jsonschema tag (whole value), else the field's
// doc or line comment.
func fieldDescription(f field) string {
	if v, ok := f.tag.Lookup("jsonschema"); ok {
		return v
	}
	for _, g := range []*ast.CommentGroup{f.node.Doc, f.node.Comment} {
		if g != nil {
			if text := strings.Join(strings.Fields(g.Text()), " "); text != "" {
				return text
			}
		}
	}
	return ""
}

func hasOption(opts, name string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == name {
			return true
		}
	}
	return false
}

// validTagName is encoding/json's rule for a usable json tag name.
func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// snake suggests a json name for a Go field name ("UserID" → "user_id").
func snake(name string) string {
	r := []rune(name)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) {
			if i > 0 && (unicode.IsLower(r[i-1]) || (i+1 < len(r) && unicode.IsLower(r[i+1]))) {
				b.WriteByte('_')
			}
			c = unicode.ToLower(c)
		}
		b.WriteRune(c)
	}
	return b.String()
}
