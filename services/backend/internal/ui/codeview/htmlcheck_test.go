package codeview

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/alecthomas/chroma/v2"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// attrRule validates an attribute's value.
type attrRule func(string) bool

func exactly(v string) attrRule { return func(s string) bool { return s == v } }

func matches(re *regexp.Regexp) attrRule { return re.MatchString }

// allowlist is every element and attribute a renderer may emit, with the
// class names it may use.
type allowlist struct {
	elements map[string]map[string]attrRule
	classes  map[string]bool
}

var (
	codePointRe = regexp.MustCompile(`^U\+[0-9A-F]{4,6}$`)
	lineIDRe    = regexp.MustCompile(`^L-[0-9]+$`) // the prefix the tests use
)

// classRule accepts a class attribute whose every class is allowed.
func (a allowlist) classRule(v string) bool {
	fields := strings.Fields(v)
	if len(fields) == 0 {
		return false
	}
	for _, c := range fields {
		if !a.classes[c] {
			return false
		}
	}
	return true
}

// highlightAllowlist is what Highlight and HighlightJSON emit.
func highlightAllowlist() allowlist {
	a := allowlist{classes: map[string]bool{
		"code-view": true, "code-plain": true, "code-ln": true, "code": true, "code-ctl": true,
	}}
	for _, c := range chroma.StandardTypes {
		if c != "" {
			a.classes[ClassPrefix+c] = true
		}
	}
	class := attrRule(a.classRule)
	a.elements = map[string]map[string]attrRule{
		"div":  {"class": class},
		"pre":  {"class": class, "aria-hidden": exactly("true")},
		"code": {},
		"span": {"class": class, "id": matches(lineIDRe), "tabindex": exactly("-1")},
		"bdi":  {"class": exactly("code-ctl"), "data-cp": matches(codePointRe)},
	}
	return a
}

// diffAllowlist is what RenderDiff emits.
func diffAllowlist() allowlist {
	a := allowlist{classes: map[string]bool{
		"diff": true, "diff-nested": true, "diff-notice": true, "diff-caption": true, "diff-ln": true,
		"diff-marker": true, "diff-code": true, "diff-gap": true, "diff-hunk": true, "diff-hunk-header": true,
		"diff-context": true, "diff-added": true, "diff-removed": true, "diff-nonl": true,
		"visually-hidden": true, "code-ctl": true,
	}}
	class := attrRule(a.classRule)
	a.elements = map[string]map[string]attrRule{
		"p":       {"class": class},
		"table":   {"class": class, "role": exactly("presentation")},
		"caption": {"class": class},
		"thead":   {},
		"tbody":   {"class": class},
		"tr":      {"class": class},
		"th":      {"class": class, "scope": exactly("col")},
		"td":      {"class": class, "colspan": exactly("4")},
		"span":    {"class": class, "aria-hidden": exactly("true")},
		"details": {},
		"summary": {},
		"bdi":     {"class": exactly("code-ctl"), "data-cp": matches(codePointRe)},
	}
	return a
}

// checkAttrs applies the allowlist to one element's attributes, and the
// rules that hold whatever the list says: no event handler, no style.
func (a allowlist) checkAttrs(tag string, attrs []html.Attribute) error {
	rules, ok := a.elements[tag]
	if !ok {
		return fmt.Errorf("element <%s> is not on the allowlist", tag)
	}
	seen := map[string]bool{}
	for _, at := range attrs {
		name := strings.ToLower(at.Key)
		switch {
		case at.Namespace != "":
			return fmt.Errorf("<%s> has a namespaced attribute %s:%s", tag, at.Namespace, at.Key)
		case strings.HasPrefix(name, "on"):
			return fmt.Errorf("<%s> has an event handler attribute %s", tag, at.Key)
		case name == "style":
			return fmt.Errorf("<%s> has a style attribute", tag)
		case seen[name]:
			return fmt.Errorf("<%s> repeats attribute %s", tag, name)
		}
		seen[name] = true
		rule, ok := rules[name]
		if !ok {
			return fmt.Errorf("<%s> has attribute %s, not on the allowlist", tag, at.Key)
		}
		if !rule(at.Val) {
			return fmt.Errorf("<%s %s=%q>: value not allowed", tag, at.Key, at.Val)
		}
	}
	return nil
}

// check parses s twice, as a token stream and as a fragment of <body>,
// and returns the fragment's nodes once both show only allowed elements
// and attributes, text, and no comment or doctype.
func (a allowlist) check(s string) ([]*html.Node, error) {
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if !errors.Is(z.Err(), io.EOF) {
				return nil, z.Err()
			}
			break
		}
		tok := z.Token()
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			if err := a.checkAttrs(tok.Data, tok.Attr); err != nil {
				return nil, fmt.Errorf("token stream: %w", err)
			}
		case html.EndTagToken:
			if _, ok := a.elements[tok.Data]; !ok {
				return nil, fmt.Errorf("token stream: end tag </%s> not on the allowlist", tok.Data)
			}
		case html.CommentToken, html.DoctypeToken:
			return nil, fmt.Errorf("token stream: unexpected %v %q", tt, tok.Data)
		}
	}
	nodes, err := html.ParseFragment(strings.NewReader(s), &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body})
	if err != nil {
		return nil, err
	}
	var walk func(n *html.Node) error
	walk = func(n *html.Node) error {
		switch n.Type {
		case html.TextNode:
		case html.ElementNode:
			if err := a.checkAttrs(n.Data, n.Attr); err != nil {
				return fmt.Errorf("tree: %w", err)
			}
		default:
			return fmt.Errorf("tree: unexpected node type %v (%q)", n.Type, n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	for _, n := range nodes {
		if err := walk(n); err != nil {
			return nil, err
		}
	}
	return nodes, nil
}

// hasClass reports whether n's class attribute lists c.
func hasClass(n *html.Node, c string) bool {
	for _, at := range n.Attr {
		if at.Key == "class" && slices.Contains(strings.Fields(at.Val), c) {
			return true
		}
	}
	return false
}

// attr returns n's attribute key, "" when absent.
func attr(n *html.Node, key string) string {
	for _, at := range n.Attr {
		if at.Key == key {
			return at.Val
		}
	}
	return ""
}

// find returns the nodes under roots (and roots) that match, in document
// order.
func find(roots []*html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for _, r := range roots {
		walk(r)
	}
	return out
}

// element matches elements by tag and, optionally, class.
func element(tag, class string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		return n.Type == html.ElementNode && n.Data == tag && (class == "" || hasClass(n, class))
	}
}

// text is the text content of n, skipping elements for which skip is true.
func text(n *html.Node, skip func(*html.Node) bool) string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			return
		}
		if skip != nil && skip(n) {
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}
