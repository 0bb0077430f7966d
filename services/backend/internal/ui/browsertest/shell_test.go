//go:build browser

package browsertest

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Browser checks of admin-ui.md §16 "Shell": they hold for every page of
// the main navigation, built or still answering 501 inside the shell.

// mainNav is the main navigation of admin-ui.md §5, in order.
var mainNav = []struct{ label, href string }{
	{"Dashboard", "/"},
	{"Servers", "/servers"},
	{"Approvals", "/approvals"},
	{"Activity", "/activity"},
	{"Remote access", "/remote-access"},
	{"Settings", "/settings"},
}

// notFoundPath is a path the UI answers with its 404 page. (A path
// outside ui.Prefixes, such as /no-such-page, gets the main listener's
// JSON 404 instead: see the package report.)
const notFoundPath = "/ui/no-such-page"

// shellPages are the pages of the main navigation.
var shellPages = func() []string {
	out := make([]string, len(mainNav))
	for i, n := range mainNav {
		out[i] = n.href
	}
	return out
}()

// navLink is one link of the main navigation as the DOM has it.
type navLink struct {
	Label   string `json:"label"`
	Href    string `json:"href"`
	Current string `json:"current"`
}

const navLinksJS = `[...document.querySelectorAll('nav[aria-label="Main"] a')].map((a) => ({
  label: (a.querySelector("span") || a).textContent.trim(), href: a.getAttribute("href"), current: a.getAttribute("aria-current") || "",
}))`

func TestUI8_MainNavigationAndSkipLink(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	p := b.NewPage(t, Desktop)
	p.SignIn()
	links := Eval[[]navLink](p, navLinksJS)
	if len(links) != len(mainNav) {
		t.Fatalf("main navigation %+v, want %d links", links, len(mainNav))
	}
	for i, want := range mainNav {
		if links[i].Label != want.label || links[i].Href != want.href {
			t.Errorf("link %d: %q → %s, want %q → %s", i, links[i].Label, links[i].Href, want.label, want.href)
		}
	}
	titles := map[string]string{}
	for _, n := range mainNav {
		// From another page, so each click is a real navigation.
		if n.href == "/" {
			p.Open("/settings")
		}
		p.Submit(Click(`nav[aria-label="Main"] a[href="` + n.href + `"]`))
		if p.Path() != n.href {
			t.Errorf("%s opened %s", n.label, p.Path())
		}
		var current []string
		for _, l := range Eval[[]navLink](p, navLinksJS) {
			if l.Current != "" {
				current = append(current, l.Current+" on "+l.Href)
			}
		}
		if len(current) != 1 || current[0] != "page on "+n.href {
			t.Errorf("%s: aria-current %q, want page on %s only", n.label, current, n.href)
		}
		if h1 := p.Count("h1"); h1 != 1 {
			t.Errorf("%s: %d h1 elements", n.label, h1)
		}
		title := Eval[string](p, `document.title`)
		if prev, dup := titles[title]; dup {
			t.Errorf("%s and %s share the title %q", prev, n.label, title)
		}
		titles[title] = n.label
		if !strings.HasSuffix(title, " · MCPbox") {
			t.Errorf("%s: title %q, want \"<page> · MCPbox\"", n.label, title)
		}
	}

	// The skip link is the first stop of the keyboard and moves focus to
	// main.
	p.Open("/servers")
	p.Key(KeyTab)
	if f := Eval[string](p, `document.activeElement.classList.contains("skip-link") ? document.activeElement.textContent.trim() : document.activeElement.outerHTML.slice(0, 80)`); f != "Skip to main content" {
		t.Fatalf("first Tab focused %q, want the skip link", f)
	}
	p.Key(KeyEnter)
	p.WaitFor(`document.activeElement === document.querySelector("main")`, 5*time.Second, "focus on main after the skip link")
}

// palette is the page's colours as computed.
const paletteJS = `getComputedStyle(document.body).backgroundColor + " / " + getComputedStyle(document.body).color`

var htmlTheme = regexp.MustCompile(`<html[^>]*\sdata-theme="([a-z]+)"`)

func TestUI9_ThemeSwitch(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	p := b.NewPage(t, Desktop)
	p.SignIn()
	p.EmulateColorScheme("light")
	p.ChooseTheme("light")
	light := Eval[string](p, paletteJS)
	p.ChooseTheme("dark")
	p.WaitFor(paletteJS+` !== `+jsString(light), 5*time.Second, "the dark palette")
	dark := Eval[string](p, paletteJS)

	// Dark survives a reload, in the HTML the server sends.
	rec := p.Record()
	if status := p.Reload(); status != http.StatusOK {
		t.Fatalf("reload: %d", status)
	}
	var raw string
	for _, r := range rec.Responses() {
		if r.URL == p.URL() && strings.HasPrefix(r.MIME, "text/html") {
			raw = r.Body
		}
	}
	if m := htmlTheme.FindStringSubmatch(raw); m == nil || m[1] != "dark" {
		t.Errorf("raw HTML after reload: <html> data-theme %v, want dark", m)
	}
	if got := Eval[string](p, paletteJS); got != dark {
		t.Errorf("palette after reload %q, want dark %q", got, dark)
	}
	if checked := Eval[string](p, `document.querySelector('input[name="theme"]:checked')?.value || ""`); checked != "dark" {
		t.Errorf("theme switch shows %q after reload", checked)
	}

	// System follows the emulated prefers-color-scheme.
	p.ChooseTheme("system")
	p.EmulateColorScheme("dark")
	p.WaitFor(paletteJS+` === `+jsString(dark), 5*time.Second, "system + prefers dark = the dark palette")
	p.EmulateColorScheme("light")
	p.WaitFor(paletteJS+` === `+jsString(light), 5*time.Second, "system + prefers light = the light palette")
}

// drawerHiddenJS: the navigation drawer cannot be seen (off-screen, not
// displayed, or invisible).
const drawerHiddenJS = `(() => {
  const n = document.getElementById("nav-drawer");
  if (!n) return false;
  const cs = getComputedStyle(n), r = n.getBoundingClientRect();
  return cs.display === "none" || cs.visibility === "hidden" || r.right <= 0 || r.left >= innerWidth || r.width === 0;
})()`

func TestUI10_MobileDrawerAndReflow(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	p := b.NewPage(t, Mobile)
	reflow := func(what string) {
		t.Helper()
		if sw, vw, _ := p.Overflow(); sw > vw {
			t.Errorf("%s at %d px: scrollWidth %d", what, vw, sw)
		}
	}
	p.Open("/setup")
	reflow("setup")
	b.CreateAdmin(t)
	p.Open("/login")
	reflow("login")
	p.SignInHere(AdminName, AdminPassword)

	if !Eval[bool](p, drawerHiddenJS) {
		t.Error("the navigation shows at 375 px before Menu is pressed")
	}
	if v, _ := p.Attr("#menu-button", "aria-expanded"); v != "false" {
		t.Errorf("Menu aria-expanded=%q before opening", v)
	}
	if c, _ := p.Attr("#menu-button", "aria-controls"); c != "nav-drawer" {
		t.Errorf("Menu aria-controls=%q", c)
	}
	p.Click("#menu-button")
	p.WaitFor(`!`+drawerHiddenJS, 5*time.Second, "the drawer to open")
	if v, _ := p.Attr("#menu-button", "aria-expanded"); v != "true" {
		t.Errorf("Menu aria-expanded=%q after opening", v)
	}
	p.Key(KeyEscape)
	p.WaitFor(drawerHiddenJS, 5*time.Second, "Escape to close the drawer")
	if v, _ := p.Attr("#menu-button", "aria-expanded"); v != "false" {
		t.Errorf("Menu aria-expanded=%q after Escape", v)
	}
	if f := p.Focused(); f != "button#menu-button" {
		t.Errorf("focus after Escape on %q, want Menu", f)
	}
	for _, path := range append(append([]string(nil), shellPages...), notFoundPath) {
		p.Open(path)
		reflow(path)
	}
}
