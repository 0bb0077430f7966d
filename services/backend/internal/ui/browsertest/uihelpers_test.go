//go:build browser

package browsertest

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Helpers that know the UI's pages (the DOM hooks of internal/ui's
// templates): sign-in, theme, navigation history, page scans.

// SignIn signs in through the login form at /login as AdminName and
// returns the status of the page it lands on.
func (p *Page) SignIn() int {
	p.t.Helper()
	p.Open("/login")
	return p.SignInHere(AdminName, AdminPassword)
}

// SignInHere fills the login form of the current page and submits it,
// expecting a navigation (a successful sign-in), and returns the status of
// the page it lands on.
func (p *Page) SignInHere(username, pw string) int {
	p.t.Helper()
	p.Fill("#login-username", username)
	p.Fill("#login-password", pw)
	return p.Submit(Click(`#login-form button[type="submit"]`))
}

// SignOut clicks "Sign out" and returns the status of the page it lands on.
func (p *Page) SignOut() int {
	p.t.Helper()
	return p.Submit(Click("#logout-button"))
}

// Reload reloads the page, waits until it is ready and returns its status.
func (p *Page) Reload() int {
	p.t.Helper()
	return p.Submit(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.Reload, page.ReloadParams{})
		return err
	}))
}

// Back goes one entry back in the tab's history without waiting for a load
// (a page restored from the back-forward cache fires none); the caller
// waits for what it expects to see.
func (p *Page) Back() {
	p.t.Helper()
	p.Do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		h, err := cdp.Call(ctx, t, page.GetNavigationHistory, cdp.Empty{})
		if err != nil {
			return err
		}
		if h.CurrentIndex < 1 {
			return errBackAtStart
		}
		_, err = cdp.Call(ctx, t, page.NavigateToHistoryEntry, page.NavigateToHistoryEntryParams{EntryID: h.Entries[h.CurrentIndex-1].ID})
		return err
	}))
}

type harnessError string

func (e harnessError) Error() string { return string(e) }

const errBackAtStart = harnessError("no history entry to go back to")

// Path returns the path and query of the page's location.
func (p *Page) Path() string {
	p.t.Helper()
	u, err := url.Parse(p.URL())
	if err != nil {
		p.t.Fatalf("browsertest: location %v", err)
	}
	return u.RequestURI()
}

// CSRFToken returns the page's <meta name="csrf-token"> ("" without one).
func (p *Page) CSRFToken() string {
	p.t.Helper()
	v, _ := p.Attr(`meta[name="csrf-token"]`, "content")
	return v
}

// ChooseTheme selects Light, Dark or System ("light", "dark", "system") in
// the navigation's theme switch, opening the mobile drawer first when the
// switch is hidden behind it.
func (p *Page) ChooseTheme(theme string) {
	p.t.Helper()
	drawer := Eval[bool](p, `(() => {
  const b = document.getElementById("menu-button");
  return !!b && b.getClientRects().length > 0 && b.getAttribute("aria-expanded") !== "true";
})()`)
	if drawer {
		p.Click("#menu-button")
	}
	p.Click(`label[for="theme-` + theme + `"]`)
	p.WaitFor(`document.documentElement.dataset.theme === `+jsString(theme), 5*time.Second, "data-theme="+theme)
	if drawer {
		p.Key(KeyEscape)
	}
}

// SetThemeCookie stores the theme the server renders (the mcpbox_theme
// cookie app.js writes) without the theme switch, for pages that have none
// (setup, login); reload or open a page to see it.
func (p *Page) SetThemeCookie(theme string) {
	p.t.Helper()
	p.SetCookie(&network.Cookie{Name: "mcpbox_theme", Value: theme, Path: "/", SameSite: network.CookieSameSiteLax})
}

// InlineCode lists what U5 forbids in the current DOM: inline <script>
// elements, style attributes, on* attributes and javascript: URLs.
func (p *Page) InlineCode() []string {
	p.t.Helper()
	return Eval[[]string](p, `(() => {
  const out = [];
  const describe = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "");
  for (const s of document.querySelectorAll("script:not([src])")) out.push("inline <script> " + s.textContent.slice(0, 60));
  for (const e of document.querySelectorAll("*")) {
    for (const a of e.attributes) {
      const n = a.name.toLowerCase();
      if (n === "style") out.push(describe(e) + " has style=" + a.value);
      if (n.startsWith("on")) out.push(describe(e) + " has " + n);
      if (/^\s*javascript:/i.test(a.value) && (n === "href" || n === "src" || n === "action" || n === "formaction")) out.push(describe(e) + " " + n + "=" + a.value);
    }
  }
  return out;
})()`)
}

// Overflow reports the page's horizontal overflow at its viewport: the
// document's scrollWidth and innerWidth (UI-10), and each visible element
// whose box passes the right edge of the viewport (UI-53), except inside a
// horizontally scrolling region.
func (p *Page) Overflow() (scrollWidth, viewport int, elements []string) {
	p.t.Helper()
	res := Eval[overflow](p, `(() => {
  const vw = document.documentElement.clientWidth;
  const scrolls = (e) => {
    for (let a = e.parentElement; a; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX;
      if (o === "auto" || o === "scroll" || o === "hidden" || o === "clip") return true;
    }
    return false;
  };
  const out = [];
  for (const e of document.body.querySelectorAll("*")) {
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const cs = getComputedStyle(e);
    if (cs.visibility === "hidden" || cs.position === "fixed" && r.left >= vw) continue;
    if (r.right > vw + 0.5 && !scrolls(e)) {
      out.push(e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && typeof e.className === "string" ? "." + e.className.trim().split(/\s+/).join(".") : "") + " right=" + Math.round(r.right));
    }
  }
  return { scrollWidth: document.documentElement.scrollWidth, viewport: window.innerWidth, elements: out };
})()`)
	return res.ScrollWidth, res.Viewport, res.Elements
}

type overflow struct {
	ScrollWidth int      `json:"scrollWidth"`
	Viewport    int      `json:"viewport"`
	Elements    []string `json:"elements"`
}

// OverrideRequestHeader rewrites a header of every request whose URL
// matches pattern (DevTools Fetch wildcards: "*/logout") until the
// returned func is called or the test ends: what a page cannot do itself
// (a forged Origin, UI-5).
func (p *Page) OverrideRequestHeader(pattern, name, value string) (stop func()) {
	p.t.Helper()
	ctx, cancel := context.WithCancel(p.tab)
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	p.Do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: pattern}}})
		return err
	}))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range paused {
			if err != nil {
				return
			}
			headers := []*fetch.HeaderEntry{{Name: name, Value: value}}
			for k, v := range ev.Request.Headers {
				if s, ok := v.(string); ok && !strings.EqualFold(k, name) {
					headers = append(headers, &fetch.HeaderEntry{Name: k, Value: s})
				}
			}
			cctx, ccancel := context.WithTimeout(p.tab, ActionTimeout)
			_, _ = chromedp.Call(cctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID, Headers: headers})
			ccancel()
		}
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		dctx, dcancel := context.WithTimeout(p.tab, ActionTimeout)
		_, _ = chromedp.Call(dctx, fetch.Disable, cdp.Empty{})
		dcancel()
		cancel()
		<-done
	}
	p.t.Cleanup(stop)
	return stop
}
