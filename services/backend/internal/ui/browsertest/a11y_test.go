//go:build browser

package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// UI-49 and UI-53 for the pages built so far: setup (both steps, and the
// relaxation dialog while open), login (blank and after a failure), the
// shell and the 404 page.

// EnvMatrix set to "full" adds dark at mobile width to the theme × width
// combinations (make test-ui, admin-ui.md §16 UI-49).
const EnvMatrix = "MCPBOX_UI_MATRIX"

// combo is one theme at one viewport.
type combo struct {
	theme string
	view  Viewport
}

// combos are the combinations UI-49 runs: light and dark at desktop width,
// light at mobile width, and dark at mobile width with MCPBOX_UI_MATRIX=full.
func combos() []combo {
	c := []combo{{"light", Desktop}, {"dark", Desktop}, {"light", Mobile}}
	if os.Getenv(EnvMatrix) == "full" {
		c = append(c, combo{"dark", Mobile})
	}
	return c
}

// review runs axe on the page as it is, saves its screenshot and, at
// mobile width, checks that no element's box passes the right edge of the
// viewport.
func review(t *testing.T, p *Page, name, theme string) {
	t.Helper()
	if got := Eval[string](p, `document.documentElement.dataset.theme`); got != theme {
		t.Errorf("%s: data-theme %q, want %q", name, got, theme)
	}
	what := fmt.Sprintf("%s %s %dpx", name, theme, p.Viewport().Width)
	p.Axe(what)
	p.Screenshot(name, theme)
	if p.Viewport().Width <= Mobile.Width {
		_, _, elements := p.Overflow()
		for _, e := range elements {
			t.Errorf("%s: passes the viewport's right edge: %s", what, e)
		}
	}
}

func TestUI49_UI53_SetupPages(t *testing.T) {
	t.Parallel()
	for _, c := range combos() {
		t.Run(fmt.Sprintf("%s-%d", c.theme, c.view.Width), func(t *testing.T) {
			t.Parallel()
			b := NewBackend(t)
			p := b.NewPage(t, c.view)
			p.SetThemeCookie(c.theme)
			p.Open("/setup")
			review(t, p, "setup", c.theme)

			// After a failed submit: the error summary and field errors.
			p.Fill("#setup-username", "ab")
			p.Click(setupSubmit)
			p.WaitFor(`!!document.querySelector("#error-summary")`, 5*time.Second, "the error summary")
			review(t, p, "setup-errors", c.theme)

			p.fillSetup(setupFields{code: b.SetupCode, username: AdminName, password: AdminPassword, confirm: AdminPassword})
			p.Submit(Click(setupSubmit))
			review(t, p, "setup-security", c.theme)

			// The relaxation dialog (§7), while open.
			p.Click(`label[for="profile-permissive"]`)
			p.Click(`#setup-security-form button[type="submit"]`)
			p.WaitFor(`document.getElementById("confirm-permissive").open`, 5*time.Second, "the Permissive dialog")
			review(t, p, "setup-confirm-permissive", c.theme)
			p.Key(KeyEscape)
			p.WaitFor(`!document.getElementById("confirm-permissive").open`, 5*time.Second, "Escape to close the dialog")
		})
	}
}

func TestUI49_UI53_LoginShellAndNotFound(t *testing.T) {
	t.Parallel()
	for _, c := range combos() {
		t.Run(fmt.Sprintf("%s-%d", c.theme, c.view.Width), func(t *testing.T) {
			t.Parallel()
			b := NewBackend(t)
			b.CreateAdmin(t)
			p := b.NewPage(t, c.view)
			p.SetThemeCookie(c.theme)
			p.Open("/login")
			review(t, p, "login", c.theme)

			p.Fill("#login-username", AdminName)
			p.Fill("#login-password", "not the password")
			p.Settle(Click(`#login-form button[type="submit"]`))
			review(t, p, "login-error", c.theme)

			p.Fill("#login-password", AdminPassword)
			p.Submit(Click(`#login-form button[type="submit"]`))
			review(t, p, "shell", c.theme)
			if c.view.Mobile {
				p.Click("#menu-button")
				p.WaitFor(`!`+drawerHiddenJS, 5*time.Second, "the drawer to open")
				review(t, p, "shell-menu", c.theme)
				p.Key(KeyEscape)
			}
			p.Open(notFoundPath)
			review(t, p, "404", c.theme)
		})
	}
}

// controlRoles are the roles Chromium gives the controls of UI-52 (button,
// a with href, input, select, textarea, summary).
var controlRoles = map[string]bool{
	"button": true, "link": true, "textbox": true, "searchbox": true, "checkbox": true, "radio": true, "spinbutton": true,
	"slider": true, "combobox": true, "listbox": true, "switch": true, "DisclosureTriangle": true,
}

// accessibleNames lists the controls of the current page that Chromium's
// accessibility tree exposes without a name. Controls the tree ignores
// (hidden, in a closed dialog) are not perceivable and not listed. (The
// DOM is described only for a control without a name: DOM.getDocument
// would reset the node ids chromedp tracks.)
func accessibleNames(p *Page) []string {
	p.t.Helper()
	var out []string
	p.Do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		tree, err := cdp.Call(ctx, t, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
		if err != nil {
			return err
		}
		for _, n := range tree.Nodes {
			role := axString(n.Role)
			if n.Ignored || !controlRoles[role] || axString(n.Name) != "" {
				continue
			}
			desc := "(no DOM node)"
			if n.BackendDOMNodeID != 0 {
				d, err := cdp.Call(ctx, t, dom.DescribeNode, dom.DescribeNodeParams{BackendNodeID: n.BackendDOMNodeID})
				if err != nil {
					return err
				}
				desc = "<" + d.Node.LocalName
				for i := 0; i+1 < len(d.Node.Attributes); i += 2 {
					if k := d.Node.Attributes[i]; k == "id" || k == "name" || k == "class" || k == "href" || k == "type" {
						desc += fmt.Sprintf(" %s=%q", k, d.Node.Attributes[i+1])
					}
				}
				desc += ">"
			}
			out = append(out, desc+" (role "+role+")")
		}
		return nil
	}))
	return out
}

// axString is an accessibility value's text.
func axString(v *accessibility.Value) string {
	if v == nil {
		return ""
	}
	var s string
	if json.Unmarshal([]byte(v.Value), &s) != nil {
		return ""
	}
	return strings.TrimSpace(s)
}

// failedSubmit checks the state after a failed submit (UI-52): the error
// summary has focus and links to each invalid field of the form; each
// linked field has aria-invalid="true" and an aria-describedby naming its
// visible, non-empty error element (#<id>-error).
func failedSubmit(t *testing.T, p *Page, what, form string) {
	t.Helper()
	p.WaitFor(`document.activeElement?.id === "error-summary"`, 5*time.Second, what+": focus on the error summary")
	for _, problem := range Eval[[]string](p, `(() => {
  const f = document.querySelector(`+jsString(form)+`), s = document.getElementById("error-summary"), out = [];
  const links = Array.from(s.querySelectorAll('a[href^="#"]'), (a) => a.getAttribute("href").slice(1));
  if (!links.length) out.push("the summary links to no field");
  for (const e of f.querySelectorAll('[aria-invalid="true"]')) if (!links.includes(e.id)) out.push("#" + e.id + " is invalid, the summary has no link to it");
  for (const id of links) {
    const e = document.getElementById(id), err = document.getElementById(id + "-error");
    if (!e) { out.push("a link to a missing #" + id); continue; }
    if (e.getAttribute("aria-invalid") !== "true") out.push("#" + id + " lacks aria-invalid=true");
    if (!err || !(e.getAttribute("aria-describedby") || "").split(/\s+/).includes(err.id)) out.push("#" + id + ": aria-describedby lacks its error #" + id + "-error");
    else if (err.hidden || !err.textContent.trim()) out.push("#" + id + "-error is hidden or empty");
  }
  return out;
})()`) {
		t.Errorf("%s: %s", what, problem)
	}
}

func TestUI52_AccessibleNamesAndFailedSubmits(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	p := b.NewPage(t, Desktop)
	named := func(what string) {
		t.Helper()
		for _, c := range accessibleNames(p) {
			t.Errorf("%s: %s has no accessible name", what, c)
		}
	}
	// Setup, before any admin: a client-side and a server-side failure.
	p.Open("/setup")
	named("setup")
	p.Fill("#setup-username", "ab")
	p.Click(setupSubmit)
	failedSubmit(t, p, "setup (in the page)", "#setup-account-form")
	p.stripValidation("#setup-account-form")
	p.fillSetup(setupFields{code: "AAAA-BBBB-CCCC-DDDD", username: AdminName, password: AdminPassword, confirm: AdminPassword})
	p.Settle(Click(setupSubmit))
	failedSubmit(t, p, "setup (the server's 422)", "#setup-account-form")

	b.CreateAdmin(t)
	p.Open("/login")
	named("login")
	p.Click(`#login-form button[type="submit"]`)
	failedSubmit(t, p, "login", "#login-form")
	p.SignIn()

	srv := approvalsServer(t, b, "names")
	tool, _ := approvalsTool(t, b, srv, "first", approvalsCode("does one thing.", ""), []string{"api.example.com"})
	b.Manage(t, "mcpbox_request_package", map[string]any{"tool_id": tool, "package": "archive/zip", "justification": "reads zip archives"}, nil)
	b.Manage(t, "mcpbox_request_network_access", map[string]any{"tool_id": tool, "host": "api.example.com", "justification": "calls the API"}, nil)
	serversPost(t, b, "/api/v1/servers/"+srv+"/secrets", map[string]any{"name": "API_KEY", "value": "a-long-enough-value"}, http.StatusCreated)
	b.PostExecutions(t, dashboardExec("names__first", false))
	pages := append([]string{}, shellPages...)
	for _, tab := range []string{"overview", "tools", "secrets", "hosts", "packages", "settings"} {
		pages = append(pages, "/servers/"+srv+"?tab="+tab)
	}
	for _, tab := range []string{"code", "manifest", "versions", "logs", "test"} {
		pages = append(pages, "/tools/"+tool+"?tab="+tab)
	}
	for _, kind := range []string{"tools", "packages", "network", "sources"} {
		pages = append(pages, "/approvals?kind="+kind)
	}
	pages = append(pages, "/activity?view=audit", "/settings?tab=account", "/settings?tab=sessions", "/settings?tab=backup", notFoundPath)
	for _, path := range pages {
		p.Open(path)
		named(path)
	}

	// Change password with the wrong current password (the server's 422).
	p.Open("/settings?tab=account")
	p.Fill("#account-current", "not the password at all")
	p.Fill("#account-new", "a brand new password")
	p.Fill("#account-confirm", "a brand new password")
	p.Settle(Click(`#account-confirm ~ button[type="submit"], form:has(#account-current) button[type="submit"]`))
	failedSubmit(t, p, "password change", "form:has(#account-current)")
	// Rename a server to a name the rules refuse (the server's 422).
	p.Open("/servers/" + srv + "?tab=settings")
	p.Fill("#server-name", "Not A Valid Name!")
	p.Settle(Click(`#server-settings-form button[type="submit"]`))
	failedSubmit(t, p, "server name", "#server-settings-form")
}

// UI-54: under prefers-reduced-motion no transition or animation of any
// element (or its ::before, ::after) lasts more than 0.01 s; with the
// browser's text size doubled (DevTools Page.setFontSizes: 32 px instead
// of 16, as the text-size setting does) a 1280 px window shows the
// dashboard and approvals without horizontal scrolling.
func TestUI54_ReducedMotionAndTextZoom(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	srv := approvalsServer(t, b, "zoom")
	approvalsTool(t, b, srv, "wide", approvalsCode("has a long line.", "\t_ = \""+strings.Repeat("long ", 40)+"\"\n"), []string{"api.example.com"})
	b.PostExecutions(t, dashboardExec("zoom__wide", true), dashboardExec("zoom__wide", false))
	p := b.NewPage(t, Desktop)
	p.SignIn()

	p.EmulateReducedMotion(true)
	for _, path := range append(append([]string{}, shellPages...), "/login") {
		p.Open(path)
		if !Eval[bool](p, `matchMedia("(prefers-reduced-motion: reduce)").matches`) {
			t.Fatalf("%s: reduced motion is not emulated", path)
		}
		for _, e := range Eval[[]string](p, `(() => {
  const secs = (v) => Math.max(0, ...v.split(",").map((x) => x.trim().endsWith("ms") ? parseFloat(x) / 1000 : parseFloat(x) || 0));
  const out = [];
  for (const e of document.querySelectorAll("*")) for (const pseudo of [null, "::before", "::after"]) {
    const s = getComputedStyle(e, pseudo), tr = secs(s.transitionDuration), an = s.animationName === "none" ? 0 : secs(s.animationDuration);
    if (tr > 0.0105 || an > 0.0105) out.push(e.localName + (e.id ? "#" + e.id : "") + (pseudo || "") + " transition " + s.transitionDuration + " animation " + s.animationDuration);
  }
  return out.slice(0, 20);
})()`) {
			t.Errorf("%s: %s", path, e)
		}
	}
	p.EmulateReducedMotion(false)

	p.Do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.SetFontSizes, page.SetFontSizesParams{FontSizes: &page.FontSizes{Standard: 32, Fixed: 26}})
		return err
	}))
	for path, name := range map[string]string{"/": "dashboard", "/approvals": "approvals"} {
		p.Open(path)
		if fs := Eval[string](p, `getComputedStyle(document.documentElement).fontSize`); fs != "32px" {
			t.Fatalf("%s: root font size %s, want 32px (200 %%)", path, fs)
		}
		sw, cw := Eval[int](p, `document.scrollingElement.scrollWidth`), Eval[int](p, `document.scrollingElement.clientWidth`)
		if sw > cw {
			_, _, wide := p.Overflow()
			t.Errorf("%s at 200 %% text: scrollWidth %d > clientWidth %d; past the edge: %v", path, sw, cw, wide)
		}
		p.Screenshot(name+"-text200", "light")
	}
}
