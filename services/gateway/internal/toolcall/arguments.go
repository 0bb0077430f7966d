package toolcall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/google/jsonschema-go/jsonschema"
)

// Limits of argument validation (gateway.md §8.2).
const (
	// MaxViolations is the most violations an invalid-arguments text lists.
	MaxViolations = 10
	// maxNodes bounds how many subschemas a Validator compiles on their
	// own, and maxDepth how deep it looks: beyond them a subtree is checked
	// as a whole and its violations are reported as one.
	maxNodes = 256
	maxDepth = 16
)

// Violation is one way a call's arguments break the input schema.
type Violation struct {
	// Pointer is the JSON pointer of the offending value; "" is the
	// arguments object itself.
	Pointer string
	// Rule says what the value must be, in words ("expected integer, got
	// string \"3\"", "required property is missing").
	Rule string
}

// Validator checks arguments against one input schema with
// github.com/google/jsonschema-go, the SDK's own schema library (gateway.md
// §8.2). Defaults are not applied and formats are not asserted (the
// library does neither).
//
// The library answers valid or not and stops at the first failure, naming
// the schema's path rather than the argument's. The verdict is always the
// library's, on the schema exactly as given; to list up to MaxViolations
// violations by JSON pointer, a failing document is then walked along the
// schema's structure (properties, required, additionalProperties, items),
// and each part is checked with the library against its own subschema. A
// subschema that uses applicators or references ($ref, allOf, anyOf, ...)
// is checked as a whole and yields one violation. A Validator is immutable
// and safe for concurrent use.
type Validator struct {
	schema json.RawMessage
	root   *node
}

// node is one place of the schema the walk knows how to descend.
type node struct {
	// schema is the subschema, for the wording of its rules.
	schema *jsonschema.Schema
	// whole checks the subschema alone; nil when it cannot be resolved on
	// its own (a reference outside the root's definitions).
	whole *jsonschema.Resolved
	// shallow checks the subschema without its properties, required,
	// additionalProperties and items; nil when the walk does not descend.
	shallow  *jsonschema.Resolved
	props    map[string]*node
	required []string
	// closed: additionalProperties is false; extra is its schema otherwise.
	closed bool
	extra  *node
	items  *node
}

// CompileSchema decodes and resolves an input schema. It fails when the
// library cannot use the schema; the caller then does not enforce it
// (gateway.md §8.2: the sandbox, or the external server, validates again).
func CompileSchema(schema json.RawMessage) (v *Validator, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("compile the input schema: the schema library panicked: %v", r)
		}
	}()
	var s jsonschema.Schema
	if err := json.Unmarshal(schema, &s); err != nil {
		return nil, fmt.Errorf("decode the input schema: %w", err)
	}
	rs, err := s.Resolve(nil)
	if err != nil {
		return nil, fmt.Errorf("compile the input schema: %w", err)
	}
	b := builder{root: &s, budget: maxNodes}
	return &Validator{schema: bytes.Clone(schema), root: b.node(&s, rs, 0)}, nil
}

// Schema returns the schema the Validator was compiled from, for the
// "Expected input schema" line.
func (v *Validator) Schema() json.RawMessage { return v.schema }

// Check validates decoded arguments (the result of json.Unmarshal into
// any) and returns at most MaxViolations violations, and whether more were
// left out. No violations means valid.
func (v *Validator) Check(args any) ([]Violation, bool) {
	err := validate(v.root.whole, args)
	if err == nil {
		return nil, false
	}
	var c collector
	c.descend(v.root, args, "")
	if len(c.out) == 0 { // the walk could not place it: report the library's own finding
		c.explain(v.root, args, "", err)
	}
	return c.out, c.more
}

// validate runs the library, treating a panic as valid: whoever runs the
// tool validates again, and a defect of the library must not fail calls.
func validate(rs *jsonschema.Resolved, inst any) (err error) {
	if rs == nil {
		return nil
	}
	defer func() {
		if recover() != nil {
			err = nil
		}
	}()
	return rs.Validate(inst)
}

// builder compiles the nodes of one schema.
type builder struct {
	root   *jsonschema.Schema
	budget int
}

// node compiles s; whole is its resolution when already known (the root).
func (b *builder) node(s *jsonschema.Schema, whole *jsonschema.Resolved, depth int) *node {
	n := &node{schema: s, whole: whole}
	if n.whole == nil {
		n.whole = b.alone(s, true)
	}
	if depth >= maxDepth || !decomposable(s) {
		return n
	}
	if n.shallow = b.alone(withoutStructure(s), false); n.shallow == nil {
		return n
	}
	if len(s.Properties) > 0 {
		n.props = make(map[string]*node, len(s.Properties))
		for name, sub := range s.Properties {
			n.props[name] = b.node(sub, nil, depth+1)
		}
	}
	n.required = s.Required
	if ap := s.AdditionalProperties; ap != nil {
		if isFalse(ap) {
			n.closed = true
		} else {
			n.extra = b.node(ap, nil, depth+1)
		}
	}
	if s.Items != nil {
		n.items = b.node(s.Items, nil, depth+1)
	}
	return n
}

// alone resolves a copy of s as a root of its own: with the root's
// dialect and, when withDefs, the root's definitions, so the usual
// "#/$defs/x" references still resolve. It returns nil when the budget is
// spent or the library refuses.
func (b *builder) alone(s *jsonschema.Schema, withDefs bool) (rs *jsonschema.Resolved) {
	if b.budget <= 0 {
		return nil
	}
	b.budget--
	c := *s
	if c.Schema == "" {
		c.Schema = b.root.Schema
	}
	if withDefs && c.Defs == nil && c.Definitions == nil && s != b.root {
		c.Defs, c.Definitions = b.root.Defs, b.root.Definitions
	}
	defer func() {
		if recover() != nil {
			rs = nil
		}
	}()
	rs, err := c.Resolve(nil)
	if err != nil {
		return nil
	}
	return rs
}

// decomposable reports whether the walk may check s's properties and items
// one by one: s has them, and no keyword whose meaning depends on how the
// others evaluated (applicators, references, unevaluated*, dependencies).
func decomposable(s *jsonschema.Schema) bool {
	structured := len(s.Properties) > 0 || len(s.Required) > 0 || s.AdditionalProperties != nil || s.Items != nil
	plain := s.Ref == "" && s.DynamicRef == "" && s.AllOf == nil && s.AnyOf == nil && s.OneOf == nil &&
		s.Not == nil && s.If == nil && s.Then == nil && s.Else == nil &&
		s.DependentSchemas == nil && s.DependencySchemas == nil && s.DependentRequired == nil &&
		s.DependencyStrings == nil && s.UnevaluatedProperties == nil && s.UnevaluatedItems == nil &&
		s.PatternProperties == nil && s.PropertyNames == nil && s.PrefixItems == nil &&
		s.ItemsArray == nil && s.AdditionalItems == nil
	return structured && plain
}

// withoutStructure is a copy of s without the keywords the walk checks
// itself.
func withoutStructure(s *jsonschema.Schema) *jsonschema.Schema {
	c := *s
	c.Properties, c.Required, c.AdditionalProperties, c.Items = nil, nil, nil, nil
	c.PropertyOrder, c.Defs, c.Definitions = nil, nil, nil
	return &c
}

// isFalse reports whether additionalProperties is "false", by the test the
// library itself uses (it decodes false as {"not": {}}).
func isFalse(s *jsonschema.Schema) bool {
	return s.Not != nil && reflect.ValueOf(*s.Not).IsZero()
}

// collector gathers violations in walk order.
type collector struct {
	out  []Violation
	more bool
}

// add appends v, or notes that more were left out.
func (c *collector) add(v Violation) {
	if len(c.out) >= MaxViolations {
		c.more = true
		return
	}
	c.out = append(c.out, v)
}

// walk checks inst at ptr against n.
func (c *collector) walk(n *node, inst any, ptr string) {
	if c.more || n.whole == nil && n.shallow == nil {
		return
	}
	if n.whole != nil && validate(n.whole, inst) == nil {
		return
	}
	c.descend(n, inst, ptr)
}

// descend reports the violations of an instance known to fail n: part by
// part when n is decomposable and inst an object or array, else as one.
func (c *collector) descend(n *node, inst any, ptr string) {
	if n.shallow != nil {
		switch v := inst.(type) {
		case map[string]any:
			c.object(n, v, ptr)
			return
		case []any:
			c.array(n, v, ptr)
			return
		}
	}
	if n.whole != nil {
		c.explain(n, inst, ptr, validate(n.whole, inst))
	}
}

// object checks an object part by part: its own keywords, each property
// in name order, unknown properties, then missing required ones.
func (c *collector) object(n *node, obj map[string]any, ptr string) {
	if err := validate(n.shallow, obj); err != nil {
		c.explain(n, obj, ptr, err)
		if isTypeError(err) {
			return
		}
	}
	for _, k := range sortedKeys(obj) {
		p := ptr + "/" + escapePointer(k)
		sub, known := n.props[k]
		switch {
		case known:
			c.walk(sub, obj[k], p)
		case n.closed:
			c.add(Violation{Pointer: p, Rule: unknownPropertyRule(n.schema)})
		case n.extra != nil:
			c.walk(n.extra, obj[k], p)
		}
	}
	for _, r := range n.required {
		if _, ok := obj[r]; !ok {
			c.add(Violation{Pointer: ptr + "/" + escapePointer(r), Rule: "required property is missing"})
		}
	}
}

// array checks an array's own keywords, then each item.
func (c *collector) array(n *node, arr []any, ptr string) {
	if err := validate(n.shallow, arr); err != nil {
		c.explain(n, arr, ptr, err)
		if isTypeError(err) {
			return
		}
	}
	if n.items == nil {
		return
	}
	for i, x := range arr {
		if c.more {
			return
		}
		c.walk(n.items, x, fmt.Sprintf("%s/%d", ptr, i))
	}
}

// isTypeError reports whether the library's failure is the type keyword,
// after which the parts of the value are not worth checking.
func isTypeError(err error) bool {
	msg, _ := innermost(err)
	return keyword(msg) == "type"
}
