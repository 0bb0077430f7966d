package ui_test

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/mcpbox/mcpbox/services/backend/internal/ui"
)

// checkHeaders asserts the headers of admin-ui.md §4 on a UI page,
// fragment, redirect or error.
func checkHeaders(t *testing.T, name string, p page) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy":      ui.CSP,
		"X-Frame-Options":              "DENY",
		"X-Content-Type-Options":       "nosniff",
		"Referrer-Policy":              "same-origin",
		"Permissions-Policy":           "camera=(), microphone=(), geolocation=(), payment=()",
		"Cache-Control":                "no-store",
		"Cross-Origin-Opener-Policy":   "same-origin",
		"Cross-Origin-Resource-Policy": "same-origin",
	}
	for k, v := range want {
		if got := p.header.Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q", name, k, got, v)
		}
	}
	if !slices.Contains(p.header.Values("Vary"), "HX-Request") {
		t.Errorf("%s: Vary = %q, want HX-Request", name, p.header.Values("Vary"))
	}
	if p.header.Get("X-Request-Id") == "" {
		t.Errorf("%s: no X-Request-Id", name)
	}
	if p.header.Get("Strict-Transport-Security") != "" {
		t.Errorf("%s: HSTS over plain HTTP", name)
	}
	if strings.Contains(strings.ToLower(p.header.Get("Access-Control-Allow-Origin")), "*") {
		t.Errorf("%s: CORS header", name)
	}
}

// checkDOM asserts the rules of admin-ui.md §13 on an HTML document: U5
// (no inline script or style, no on*= attribute, no javascript: URL), a
// label for every control, a name for every button, one h1 on a full page
// (at most one in a fragment), unique ids and references to existing ids.
func checkDOM(t *testing.T, name string, p page, full bool) {
	t.Helper()
	if p.doc == nil {
		t.Fatalf("%s: not HTML (%s)", name, p.header.Get("Content-Type"))
	}
	ids := map[string]int{}
	for _, n := range findAll(p.doc, func(n *html.Node) bool { return hasAttr(n, "id") }) {
		ids[attr(n, "id")]++
	}
	for id, c := range ids {
		if c > 1 {
			t.Errorf("%s: id %q used %d times", name, id, c)
		}
	}
	for _, n := range findAll(p.doc, func(*html.Node) bool { return true }) {
		// U5.
		switch n.Data {
		case "script":
			if attr(n, "src") == "" || strings.TrimSpace(textOf(n)) != "" {
				t.Errorf("%s: inline <script>", name)
			}
			if !strings.HasPrefix(attr(n, "src"), "/static/") {
				t.Errorf("%s: script from %q", name, attr(n, "src"))
			}
		case "style":
			t.Errorf("%s: <style> element", name)
		case "link":
			if href := attr(n, "href"); !strings.HasPrefix(href, "/static/") {
				t.Errorf("%s: <link href=%q> is not a local static file", name, href)
			}
		}
		for _, a := range n.Attr {
			k := strings.ToLower(a.Key)
			if k == "style" || strings.HasPrefix(k, "on") {
				t.Errorf("%s: <%s %s=%q>", name, n.Data, a.Key, a.Val)
			}
			if v := strings.ToLower(strings.Join(strings.Fields(a.Val), "")); strings.HasPrefix(v, "javascript:") {
				t.Errorf("%s: javascript: URL in <%s %s>", name, n.Data, a.Key)
			}
			if strings.HasPrefix(k, "hx-on") {
				t.Errorf("%s: hx-on attribute (eval)", name)
			}
		}
		// References to ids.
		for _, k := range []string{"for", "aria-describedby", "aria-labelledby", "aria-controls"} {
			for _, ref := range strings.Fields(attr(n, k)) {
				if ids[ref] == 0 {
					t.Errorf("%s: <%s %s> names missing id %q", name, n.Data, k, ref)
				}
			}
		}
		// A label for every control.
		if isControl(n) && !labelled(p.doc, n) {
			t.Errorf("%s: <%s name=%q id=%q> has no label", name, n.Data, attr(n, "name"), attr(n, "id"))
		}
		// Buttons and links need a name; icon-only ones an aria-label.
		if (n.Data == "button" || n.Data == "a") && visibleText(n) == "" && attr(n, "aria-label") == "" && attr(n, "aria-labelledby") == "" {
			t.Errorf("%s: <%s id=%q> has no accessible name", name, n.Data, attr(n, "id"))
		}
		// Icons are decorative.
		if n.Data == "svg" && (attr(n, "aria-hidden") != "true" || attr(n, "focusable") != "false") {
			t.Errorf("%s: <svg> without aria-hidden=true focusable=false", name)
		}
	}
	h1 := len(findAll(p.doc, func(n *html.Node) bool { return n.Data == "h1" }))
	if full && h1 != 1 || !full && h1 > 1 {
		t.Errorf("%s: %d h1 elements", name, h1)
	}
	if !full {
		return
	}
	root := find(p.doc, func(n *html.Node) bool { return n.Data == "html" })
	if attr(root, "lang") != "en" || !slices.Contains([]string{"light", "dark", "system"}, attr(root, "data-theme")) {
		t.Errorf("%s: <html lang=%q data-theme=%q>", name, attr(root, "lang"), attr(root, "data-theme"))
	}
	title := find(p.doc, func(n *html.Node) bool { return n.Data == "title" })
	if title == nil || !strings.HasSuffix(textOf(title), " · MCPbox") || strings.TrimSuffix(textOf(title), " · MCPbox") == "" {
		t.Errorf("%s: title %q", name, textOf(title))
	}
	if m := p.byID("main"); m == nil || m.Data != "main" {
		t.Errorf("%s: no main#main", name)
	}
	skip := find(p.doc, func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == "#main" })
	if skip == nil || strings.TrimSpace(textOf(skip)) != "Skip to main content" {
		t.Errorf("%s: no skip link", name)
	}
	scheme := find(p.doc, func(n *html.Node) bool { return n.Data == "meta" && attr(n, "name") == "color-scheme" })
	if scheme == nil || attr(scheme, "content") != "light dark" {
		t.Errorf("%s: no color-scheme meta", name)
	}
	cfg := find(p.doc, func(n *html.Node) bool { return n.Data == "meta" && attr(n, "name") == "htmx-config" })
	for _, want := range []string{`"allowEval":false`, `"allowScriptTags":false`, `"selfRequestsOnly":true`, `"historyCacheSize":0`, `"includeIndicatorStyles":false`, `{"code":"422","swap":true}`, `{"code":"409","swap":true}`} {
		if cfg == nil || !strings.Contains(attr(cfg, "content"), want) {
			t.Errorf("%s: htmx-config lacks %s", name, want)
		}
	}
	for _, id := range []string{"toasts-status", "toasts-alert", "site-footer"} {
		if p.byID(id) == nil {
			t.Errorf("%s: no #%s", name, id)
		}
	}
	if st := p.byID("toasts-status"); st != nil && (attr(st, "role") != "status" || attr(st, "aria-live") != "polite") {
		t.Errorf("%s: status toasts region role=%q aria-live=%q", name, attr(st, "role"), attr(st, "aria-live"))
	}
	if al := p.byID("toasts-alert"); al != nil && attr(al, "role") != "alert" {
		t.Errorf("%s: alert toasts region role=%q", name, attr(al, "role"))
	}
}

func isControl(n *html.Node) bool {
	switch n.Data {
	case "select", "textarea":
		return true
	case "input":
		return attr(n, "type") != "hidden"
	}
	return false
}

// labelled reports a control named by <label for>, an enclosing <label>,
// aria-label or aria-labelledby.
func labelled(doc, n *html.Node) bool {
	if attr(n, "aria-label") != "" || attr(n, "aria-labelledby") != "" {
		return true
	}
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Data == "label" {
			return true
		}
	}
	id := attr(n, "id")
	return id != "" && find(doc, func(l *html.Node) bool {
		return l.Data == "label" && attr(l, "for") == id && strings.TrimSpace(textOf(l)) != ""
	}) != nil
}

// visibleText is the text of n without aria-hidden descendants.
func visibleText(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && attr(n, "aria-hidden") == "true" {
			return
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

// checkHTML is checkHeaders and checkDOM.
func checkHTML(t *testing.T, name string, p page, full bool) {
	t.Helper()
	checkHeaders(t, name, p)
	checkDOM(t, name, p, full)
}

// isFullPage reports a whole document (the layout), not a fragment.
func isFullPage(p page) bool { return strings.HasPrefix(strings.TrimSpace(p.body), "<!DOCTYPE html>") }

// wantStatus fails unless p has status.
func wantStatus(t *testing.T, name string, p page, status int) {
	t.Helper()
	if p.status != status {
		t.Fatalf("%s: status %d, want %d; body: %.300s", name, p.status, status, p.body)
	}
}
