//go:build browser

package browsertest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Viewport is the size of a page's window in CSS pixels.
type Viewport struct {
	Width, Height int64
	// Mobile emulates a mobile device: the page's <meta name="viewport">
	// decides the layout width, as on a phone.
	Mobile bool
}

// The viewports of admin-ui.md §16.
var (
	Desktop = Viewport{Width: 1280, Height: 800}
	Mobile  = Viewport{Width: 375, Height: 812, Mobile: true}
)

// ActionTimeout bounds one browser action of a Page (a navigation, a click,
// an evaluation); waits have their own deadline.
const ActionTimeout = 30 * time.Second

// Keys for Page.Key.
const (
	KeyTab    = kb.Tab
	KeyEnter  = kb.Enter
	KeyEscape = kb.Escape
	KeySpace  = " "
)

// Page is one check's browser: a fresh browser context (its own cookies,
// storage and cache) with one tab. Every method fails the test on a browser
// error, so checks read as a list of steps. Create it with NewPage; it
// closes when the test ends.
type Page struct {
	t   testing.TB
	tab context.Context
	// Base is what Open resolves a path that starts with "/" against: the
	// backend's main listener (Backend.NewPage sets it).
	Base string
	view Viewport
	// media are the emulated media features (prefers-color-scheme,
	// prefers-reduced-motion); "" is the browser's default.
	scheme, motion string

	mu       sync.Mutex
	problems []string // CSP violations and console errors: fail the check
	statuses []string // HTTP error statuses the network layer logged
	expected []string // substrings of console errors the check causes on purpose
}

// bindingName is the Runtime binding the init script reports through, in
// its own isolated world.
const (
	bindingName = "__mcpboxHarnessReport"
	worldName   = "mcpbox-harness"
)

// initScript reports every securitypolicyviolation event of every document
// (admin-ui.md §15). It runs in an isolated world, so the page's CSP does
// not govern it and the page cannot see it; DOM events reach its listener.
const initScript = `document.addEventListener("securitypolicyviolation", (e) => {
  ` + bindingName + `(JSON.stringify({
    directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile,
    line: e.lineNumber, sample: e.sample, document: e.documentURI,
  }));
}, true);`

// NewPage opens a fresh browser context with one tab at the viewport.
func NewPage(t testing.TB, v Viewport) *Page {
	t.Helper()
	RequireBrowser(t)
	p := &Page{t: t, view: v}
	tab, cancel := chromedp.NewContext(browser.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(p.observe))
	p.tab = tab
	// The first Do creates the browser context and its tab; it must not
	// carry a timeout (the tab lives as long as its context).
	if err := chromedp.Do(tab); err != nil {
		cancel()
		t.Fatalf("browsertest: open a browser context: %v", err)
	}
	t.Cleanup(func() {
		p.finish()
		cancel()
	})
	p.Do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, runtime.AddBinding, runtime.AddBindingParams{Name: bindingName, ExecutionContextName: worldName}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: initScript, WorldName: worldName,
		})
		return err
	}))
	p.SetViewport(v)
	return p
}

// observe runs in the tab's read loop for every event: it only records.
func (p *Page) observe(ev any) {
	var problem, status string
	switch ev := ev.(type) {
	case *runtime.EventBindingCalled:
		if ev.Name == bindingName {
			problem = "securitypolicyviolation " + ev.Payload
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			problem = "console." + string(ev.Type) + ": " + consoleText(ev.Args)
		}
	case *runtime.EventExceptionThrown:
		problem = "uncaught exception: " + exceptionText(ev.ExceptionDetails)
	case *log.EventEntryAdded:
		e := ev.Entry
		if e == nil || e.Level != log.EntryLevelError {
			return
		}
		if e.Source == log.EntrySourceNetwork && statusError.MatchString(e.Text) {
			status = e.Text + " (" + e.URL + ")"
		} else {
			problem = "browser log [" + string(e.Source) + "]: " + e.Text + " (" + e.URL + ")"
		}
	default:
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if problem != "" {
		p.problems = append(p.problems, problem)
	}
	if status != "" {
		p.statuses = append(p.statuses, status)
	}
}

// statusError is the network layer's entry for a response with an error
// status: the server's answer, which the checks assert themselves.
var statusError = regexp.MustCompile(`^Failed to load resource: the server responded with a status of \d{3}\b`)

func consoleText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		switch {
		case a == nil:
		case len(a.Value) > 0:
			var s string
			if json.Unmarshal(a.Value, &s) == nil {
				parts = append(parts, s)
			} else {
				parts = append(parts, string(a.Value))
			}
		case a.Description != "":
			parts = append(parts, a.Description)
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, " ")
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "(no details)"
	}
	text := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		text += " " + d.Exception.Description
	}
	return fmt.Sprintf("%s at %s:%d:%d", text, d.URL, d.LineNumber+1, d.ColumnNumber+1)
}

// ExpectConsoleError declares a console error the check causes on purpose
// (a substring of its text); it does not fail the check.
func (p *Page) ExpectConsoleError(substring string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expected = append(p.expected, substring)
}

// TakeProblems returns the CSP violations and console errors recorded so
// far and forgets them (the harness self-test checks the capture itself).
func (p *Page) TakeProblems() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.problems
	p.problems = nil
	return out
}

// Statuses returns the HTTP error statuses the network layer logged.
func (p *Page) Statuses() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.statuses...)
}

// finish fails the check on a recorded problem, then saves the failure
// artifacts when the check failed.
func (p *Page) finish() {
	p.mu.Lock()
	var unexpected []string
	for _, pr := range p.problems {
		if !p.isExpected(pr) {
			unexpected = append(unexpected, pr)
		}
	}
	statuses := p.statuses
	p.mu.Unlock()
	for _, pr := range unexpected {
		p.t.Errorf("browsertest: %s", pr)
	}
	if p.t.Failed() {
		for _, s := range statuses {
			p.t.Logf("browsertest: network: %s", s)
		}
		p.saveFailure()
	}
}

func (p *Page) isExpected(problem string) bool {
	for _, e := range p.expected {
		if strings.Contains(problem, e) {
			return true
		}
	}
	return false
}

// ctx returns a context for one action.
func (p *Page) ctx(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(p.tab, d)
}

// Context is the tab's chromedp context, for actions the harness lacks
// (derive a timeout from it for each call).
func (p *Page) Context() context.Context { return p.tab }

// Do runs the actions in order with ActionTimeout; an error fails the test.
func (p *Page) Do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := p.ctx(ActionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("browsertest: %v", err)
	}
}

// Run runs one action that returns a value, with ActionTimeout; an error
// fails the test.
func Run[T any](p *Page, a chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := p.ctx(ActionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.t.Fatalf("browsertest: %v", err)
	}
	return v
}

// Eval evaluates a JavaScript expression in the page (a promise is
// awaited) and decodes its value into T.
func Eval[T any](p *Page, expression string) T {
	p.t.Helper()
	ctx, cancel := p.ctx(ActionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expression, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("browsertest: evaluate %.200s: %v", expression, err)
	}
	return v
}

// Exec evaluates a JavaScript expression for its effect.
func (p *Page) Exec(expression string) {
	p.t.Helper()
	Eval[chromedp.Void](p, expression)
}

// URL returns the page's current location.
func (p *Page) URL() string {
	p.t.Helper()
	return Run(p, chromedp.Location())
}

// resolve makes a path absolute against Base.
func (p *Page) resolve(target string) string {
	if strings.HasPrefix(target, "/") && p.Base != "" {
		return strings.TrimSuffix(p.Base, "/") + target
	}
	return target
}

// Navigate loads a URL (a path is resolved against Base), waits for the
// load event and returns the document's HTTP status (0 for a URL without
// one, such as about:blank and data: URLs). It does not wait for app.js.
func (p *Page) Navigate(target string) int {
	p.t.Helper()
	resp := Run(p, chromedp.NavigateResponse(p.resolve(target)))
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// Open loads a UI page (a path is resolved against Base), waits until it
// is ready (WaitReady) and returns its HTTP status.
func (p *Page) Open(target string) int {
	p.t.Helper()
	status := p.Navigate(target)
	p.WaitReady()
	return status
}

// readyExpr is true once the document has loaded and app.js has finished
// initialising (it sets data-ready on <body>).
const readyExpr = `document.readyState === "complete" && !!document.body && document.body.hasAttribute("data-ready")`

// WaitReady waits until app.js has initialised the current document.
func (p *Page) WaitReady() {
	p.t.Helper()
	p.WaitFor(readyExpr, 10*time.Second, "the page to be ready (data-ready on <body>, set by app.js)")
}

// WaitFor polls a JavaScript expression in the page until it is truthy, at
// most within; what says what is awaited in the failure message. A
// navigation meanwhile (the document the poll ran in went away) does not
// end the wait: the poll starts again in the new document.
func (p *Page) WaitFor(expression string, within time.Duration, what string) {
	p.t.Helper()
	// Evaluated in the page's own world (runtime.Evaluate without a
	// context id), not through chromedp.Poll, which runs in the frame's
	// newest execution context: an isolated world there (the harness's
	// own) sees the DOM but not the page's window variables. An exception
	// (an element not there yet) counts as false.
	check := "(() => { try { return !!(" + expression + "); } catch { return false; } })()"
	deadline := time.Now().Add(within)
	var lastErr error
	for {
		ctx, cancel := p.ctx(ActionTimeout)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](check))
		cancel()
		switch {
		case err == nil && ok:
			return
		case err != nil && (p.tab.Err() != nil || !navigatedAway(err)):
			lastErr = err
		}
		if !time.Now().Before(deadline) {
			p.t.Fatalf("browsertest: waited %s for %s (%s): %v", within, what, expression, cmp.Or(lastErr, errors.New("still false")))
		}
		time.Sleep(25 * time.Millisecond) // polling the page, not asserting on time
	}
}

// navigatedAway reports whether a page-side call failed because its
// document went away (a navigation).
func navigatedAway(err error) bool {
	if errors.Is(err, chromedp.ErrPollingTimeout) {
		return false
	}
	msg := err.Error()
	for _, s := range []string{"Cannot find context with specified id", "Execution context was destroyed", "Inspected target navigated or closed"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// Settle runs the trigger (a click, a key) and waits for the htmx swap it
// causes to settle (the htmx:afterSettle event), at most 10 s. Swaps of
// background refreshes (requests with X-Background-Refresh, such as the
// approvals badge) do not count: one settling first would end the wait
// before the trigger's own response arrived.
func (p *Page) Settle(trigger ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	p.Exec(`window.__mcpboxSettled = new Promise((resolve) => {
  const settled = (e) => {
    if (e.detail?.requestConfig?.headers?.["X-Background-Refresh"]) return;
    document.removeEventListener("htmx:afterSettle", settled, true);
    resolve(true);
  };
  document.addEventListener("htmx:afterSettle", settled, true);
}); true`)
	p.Do(trigger...)
	ctx, cancel := p.ctx(10 * time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__mcpboxSettled`, chromedp.EvalAwaitPromise)); err != nil {
		p.t.Fatalf("browsertest: waited 10s for htmx:afterSettle: %v", err)
	}
}

// Submit runs the trigger (a click on a submit button, Enter in a field),
// waits for the navigation it causes, then for the new document to be
// ready, and returns the HTTP status of the resulting document (after any
// redirect). When another navigation overtakes the one the trigger started
// (app.js leaving on a live event), Submit still waits for the document
// the tab ends on, and returns 0: the status of the trigger's navigation
// is unknown then.
func (p *Page) Submit(trigger ...chromedp.Action[chromedp.Void]) int {
	p.t.Helper()
	marker := fmt.Sprintf("%d", time.Now().UnixNano())
	p.Exec(`window.__mcpboxDocument = ` + jsString(marker))
	ctx, cancel := p.ctx(ActionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, trigger...)
	var loadErr *chromedp.LoadError
	switch {
	case errors.As(err, &loadErr) && strings.Contains(loadErr.ErrorText, "ERR_ABORTED"):
		resp = nil
	case err != nil:
		p.t.Fatalf("browsertest: submit: %v", err)
	}
	p.WaitFor(`window.__mcpboxDocument !== `+jsString(marker)+` && `+readyExpr, 10*time.Second, "the new page to be ready")
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// Click clicks the first element matching the CSS selector with the
// mouse, as a user would: it scrolls the element to the middle of the
// viewport, checks that nothing covers its centre (an overlay that would
// take the click is a defect; the click fails and says what covers it),
// and clicks there.
func Click(selector string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		// Content htmx has swapped in is processed when it settles (20 ms
		// later): a click before that does nothing, where a person could
		// not have clicked yet. Wait for the page to settle first (2 s at
		// most; a region that keeps swapping is clicked anyway).
		for range 100 {
			swapping, err := chromedp.Evaluate[bool](`!!document.querySelector(".htmx-swapping, .htmx-settling")`)(ctx, t)
			if err != nil {
				return err
			}
			if !swapping {
				break
			}
			time.Sleep(20 * time.Millisecond) // polling the page, not asserting on time
		}
		covered, err := chromedp.Evaluate[string](`((e) => {
  if (!e) return "no element matches";
  e.scrollIntoView({ block: "center", inline: "center" });
  const r = e.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) return "";
  const at = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  if (!at || at === e || e.contains(at) || at.contains(e) && at.tagName === "LABEL") return "";
  return "covered by " + at.tagName.toLowerCase() + (at.id ? "#" + at.id : "") + (typeof at.className === "string" && at.className ? "." + at.className.trim().split(/\s+/).join(".") : "");
})(document.querySelector(`+jsString(selector)+`))`)(ctx, t)
		if err != nil {
			return err
		}
		if covered != "" {
			return fmt.Errorf("click %s: %s", selector, covered)
		}
		_, err = chromedp.Click(chromedp.CSS(selector))(ctx, t)
		return err
	})
}

// Click clicks the first element matching the CSS selector (see Click).
func (p *Page) Click(selector string) {
	p.t.Helper()
	p.Do(Click(selector))
}

// Fill replaces the value of the field matching the CSS selector: it
// empties the field, then types value into it (key events, as a user
// would).
func (p *Page) Fill(selector, value string) {
	p.t.Helper()
	// A live refresh may swap the field between finding it and typing
	// (DevTools: "Could not find node with given id"); the field is found
	// again, a few times at most.
	for attempt := 0; ; attempt++ {
		if !Eval[bool](p, `((e) => {
  if (!e) return false;
  e.focus();
  e.value = "";
  e.dispatchEvent(new Event("input", { bubbles: true }));
  return true;
})(document.querySelector(`+jsString(selector)+`))`) {
			p.t.Fatalf("browsertest: no field %s", selector)
		}
		ctx, cancel := p.ctx(ActionTimeout)
		err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(selector), value))
		cancel()
		if err == nil {
			return
		}
		if attempt == 3 || !strings.Contains(err.Error(), "Could not find node") {
			p.t.Fatalf("browsertest: fill %s: %v", selector, err)
		}
	}
}

// Key sends key events to the focused element: a kb key (KeyTab,
// KeyEnter, KeyEscape, KeySpace) or text, with optional modifiers.
func Key(keys string, modifiers ...chromedp.Modifier) chromedp.Action[chromedp.Void] {
	if len(modifiers) == 0 {
		return chromedp.KeyEvent(keys)
	}
	return chromedp.KeyEvent(keys, chromedp.KeyModifiers(modifiers...))
}

// Key sends key events to the focused element.
func (p *Page) Key(keys string, modifiers ...chromedp.Modifier) {
	p.t.Helper()
	p.Do(Key(keys, modifiers...))
}

// ShiftTab moves focus backwards.
func (p *Page) ShiftTab() {
	p.t.Helper()
	p.Key(KeyTab, chromedp.ModifierShift)
}

// Focused describes the focused element ("tag#id.class[name]"), "" for
// none (the body).
func (p *Page) Focused() string {
	p.t.Helper()
	return Eval[string](p, `(() => {
  const e = document.activeElement;
  if (!e || e === document.body) return "";
  let s = e.tagName.toLowerCase();
  if (e.id) s += "#" + e.id;
  if (e.getAttribute("name")) s += "[name=" + e.getAttribute("name") + "]";
  return s;
})()`)
}

// Count returns how many elements match the CSS selector.
func (p *Page) Count(selector string) int {
	p.t.Helper()
	return Eval[int](p, `document.querySelectorAll(`+jsString(selector)+`).length`)
}

// Text returns the trimmed text content of the first element matching the
// CSS selector, "" when none matches.
func (p *Page) Text(selector string) string {
	p.t.Helper()
	return Eval[string](p, `((e) => e ? e.textContent.trim().replace(/\s+/g, " ") : "")(document.querySelector(`+jsString(selector)+`))`)
}

// Attr returns an attribute of the first element matching the CSS
// selector and whether it is present.
func (p *Page) Attr(selector, name string) (string, bool) {
	p.t.Helper()
	v := Eval[*string](p, `((e) => e && e.hasAttribute(`+jsString(name)+`) ? e.getAttribute(`+jsString(name)+`) : null)(document.querySelector(`+jsString(selector)+`))`)
	if v == nil {
		return "", false
	}
	return *v, true
}

// HTML returns the serialised DOM of the page.
func (p *Page) HTML() string {
	p.t.Helper()
	return Eval[string](p, `document.documentElement ? document.documentElement.outerHTML : ""`)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// SetViewport resizes the page's window (Desktop, Mobile).
func (p *Page) SetViewport(v Viewport) {
	p.t.Helper()
	p.view = v
	opts := []chromedp.EmulateViewportOption{}
	if v.Mobile {
		opts = append(opts, chromedp.EmulateMobile)
	}
	p.Do(chromedp.EmulateViewport(v.Width, v.Height, opts...))
}

// Viewport returns the page's window size.
func (p *Page) Viewport() Viewport { return p.view }

// EmulateColorScheme sets prefers-color-scheme ("light", "dark", or "" for
// the browser's default).
func (p *Page) EmulateColorScheme(scheme string) {
	p.t.Helper()
	p.scheme = scheme
	p.emulateMedia()
}

// EmulateReducedMotion sets prefers-reduced-motion to reduce (or back to
// the default).
func (p *Page) EmulateReducedMotion(reduce bool) {
	p.t.Helper()
	p.motion = ""
	if reduce {
		p.motion = "reduce"
	}
	p.emulateMedia()
}

func (p *Page) emulateMedia() {
	p.t.Helper()
	features := []*emulation.MediaFeature{
		{Name: "prefers-color-scheme", Value: p.scheme},
		{Name: "prefers-reduced-motion", Value: p.motion},
	}
	p.Do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: features})
		return err
	}))
}

// Cookies returns the browser's cookies for Base (or the current page
// when Base is empty), read through DevTools: HttpOnly ones included.
func (p *Page) Cookies() []*network.Cookie {
	p.t.Helper()
	params := network.GetCookiesParams{}
	if p.Base != "" {
		params.URLs = []string{p.Base + "/"}
	}
	var cookies []*network.Cookie
	p.Do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		res, err := cdp.Call(ctx, t, network.GetCookies, params)
		cookies = res.Cookies
		return err
	}))
	return cookies
}

// Cookie returns the named cookie (nil when absent).
func (p *Page) Cookie(name string) *network.Cookie {
	p.t.Helper()
	for _, c := range p.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// SetCookie puts a cookie for Base into the browser (e.g. an old session
// cookie after sign-out).
func (p *Page) SetCookie(c *network.Cookie) {
	p.t.Helper()
	params := network.SetCookieParams{
		Name: c.Name, Value: c.Value, URL: p.Base + "/", Path: c.Path,
		HTTPOnly: &c.HTTPOnly, SameSite: c.SameSite, Secure: &c.Secure,
	}
	p.Do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.SetCookie, params)
		return err
	}))
}
