//go:build browser

package browsertest

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mcpbox/mcpbox/proto"
)

// Keyboard checks of admin-ui.md §16 (UI-50, UI-51): every step is a
// DevTools key event (Input.dispatchKeyEvent), never a mouse click.
//
// Focus order follows visual order, checked on each Tab between two
// elements of the same landmark (the outermost header, nav, main, footer or
// aside around an element, or an open dialog). The reading order is top to
// bottom inside a column, columns and items of a row left to right; so a
// Tab goes BACKWARDS when the next element's box
//   - shares a row with the previous one (their vertical extents overlap
//     by at least half of the lower one's height) and lies entirely to its
//     left, or
//   - lies entirely above the previous one without starting a new column
//     to its right (its left edge is left of the previous one's right
//     edge).
//
// Anything else is forward: below (whatever the column), to the right on
// the same row, or up into a column to the right (cards of a grid, a
// sidebar's neighbour). The skip link is the first stop of every page.
// Boxes are in document coordinates, so scrolling does not matter.
//
// The focus indicator: when an element loses focus its computed outline
// and box-shadow are compared with those it had while focused; they must
// differ, and the focused one must draw something (an outline of at least
// 1 px or a box-shadow).

// focusStep is the focused element after a key press, and the verdict on
// the element focused before it.
type focusStep struct {
	Desc   string  `json:"desc"` // "" when focus is on <body> (it left the page)
	Region string  `json:"region"`
	Top    float64 `json:"top"`
	Left   float64 `json:"left"`
	Bottom float64 `json:"bottom"`
	Right  float64 `json:"right"`
	// Draws: the focused element's style draws an outline or a shadow.
	Draws bool `json:"draws"`
	// PrevDesc, PrevSame: the element focused before, and whether its
	// style unfocused is the same as while focused (no indicator). Empty
	// when that element is gone or still focused.
	PrevDesc string `json:"prevDesc"`
	PrevSame bool   `json:"prevSame"`
}

// focusProbeJS describes document.activeElement and remembers it, with its
// focused style, for the next probe.
const focusProbeJS = `(() => {
  const st = window.__kbProbe || (window.__kbProbe = {});
  const sig = (e) => {
    const s = getComputedStyle(e);
    return (s.outlineStyle === "none" ? "none" : [s.outlineStyle, s.outlineWidth, s.outlineColor, s.outlineOffset].join(" ")) + "|" + s.boxShadow;
  };
  const e = document.activeElement, out = { desc: "", region: "", prevDesc: "", prevSame: false };
  if (st.prev && st.prev !== e && st.prev.isConnected) { out.prevDesc = st.desc; out.prevSame = sig(st.prev) === st.sig; }
  st.prev = null;
  if (!e || e === document.body || e === document.documentElement) return out;
  for (let a = e; a; a = a.parentElement) {
    if (a.matches("header, nav, main, footer, aside")) out.region = a.localName + (a.id ? "#" + a.id : "");
  }
  if (e.closest("dialog[open]")) out.region = "dialog";
  const r = e.getBoundingClientRect(), s = getComputedStyle(e);
  Object.assign(out, { top: r.top + scrollY, bottom: r.bottom + scrollY, left: r.left + scrollX, right: r.right + scrollX });
  out.draws = (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 1) || s.boxShadow !== "none";
  const name = (e.getAttribute("aria-label") || e.textContent || e.value || "").trim().replace(/\s+/g, " ").slice(0, 40);
  out.desc = e.localName + (e.id ? "#" + e.id : "") + (e.getAttribute("href") ? "[href=" + e.getAttribute("href") + "]" : "") + (name ? " “" + name + "”" : "");
  Object.assign(st, { prev: e, sig: sig(e), desc: out.desc });
  return out;
})()`

// backwards reports whether moving focus from a to b goes against the
// reading order (see the file comment).
func backwards(a, b focusStep) bool {
	overlap := min(a.Bottom, b.Bottom) - max(a.Top, b.Top)
	if overlap >= (b.Bottom-b.Top)/2 && overlap > 0 {
		return b.Right <= a.Left+1
	}
	return b.Bottom <= a.Top+1 && b.Left < a.Right-1
}

// kbWalker presses keys and checks each focus move.
type kbWalker struct {
	t    *testing.T
	p    *Page
	prev *focusStep // nil after a page load or an action
	page string     // where the walker is, for messages
	// fresh: the next Tab is the first of a page (the skip link comes first).
	fresh bool
}

func newWalker(t *testing.T, p *Page) *kbWalker { return &kbWalker{t: t, p: p} }

// loaded starts a new page: the next Tab must reach the skip link.
func (w *kbWalker) loaded() {
	w.prev, w.fresh, w.page = nil, true, w.p.Path()
	w.p.Exec(`window.__kbProbe = {}; true`)
}

// acted forgets the previous element for the order check: an action (or a
// wrap inside a dialog) moved focus, not reading order.
func (w *kbWalker) acted() { w.prev = nil }

// press sends one key (Tab, Shift-Tab) and checks the move.
func (w *kbWalker) press(back bool) focusStep {
	w.t.Helper()
	if back {
		w.p.ShiftTab()
	} else {
		w.p.Key(KeyTab)
	}
	s := Eval[focusStep](w.p, focusProbeJS)
	if s.PrevDesc != "" && s.PrevSame {
		w.t.Errorf("%s: %s shows no focus indicator (outline and shadow are the same focused and unfocused)", w.page, s.PrevDesc)
	}
	if s.Desc == "" {
		w.prev = nil
		return s
	}
	if !s.Draws {
		w.t.Errorf("%s: focused %s draws no outline or shadow", w.page, s.Desc)
	}
	if s.Right-s.Left < 1 || s.Bottom-s.Top < 1 {
		w.t.Errorf("%s: focus on an invisible element %s", w.page, s.Desc)
	}
	if w.fresh && !back && !strings.Contains(s.Desc, "“Skip to main content”") {
		w.t.Errorf("%s: the first Tab reached %s, want the skip link", w.page, s.Desc)
	}
	if w.prev != nil && !back && w.prev.Region == s.Region && s.Region != "" && backwards(*w.prev, s) {
		w.t.Errorf("%s: focus order goes backwards in %s: %s (%.0f,%.0f) after %s (%.0f,%.0f)",
			w.page, s.Region, s.Desc, s.Left, s.Top, w.prev.Desc, w.prev.Left, w.prev.Top)
	}
	w.fresh = false
	w.prev = &s
	return s
}

// to presses Tab (or Shift-Tab) until the focused element matches the CSS
// selector, checking every move; it fails the test after 200 presses or
// when focus leaves the page twice.
func (w *kbWalker) to(selector string, back bool) {
	w.t.Helper()
	left := 0
	for range 200 {
		s := w.press(back)
		if s.Desc == "" {
			if left++; left == 2 {
				break
			}
			continue
		}
		if Eval[bool](w.p, `document.activeElement.matches(`+jsString(selector)+`)`) {
			return
		}
	}
	w.t.Fatalf("%s: Tab never reached %s", w.page, selector)
}

// all tabs through the whole page, from its start until focus leaves it,
// checking every move; it returns how many elements took focus.
func (w *kbWalker) all() int {
	w.t.Helper()
	n := 0
	for range 400 {
		if w.press(false).Desc == "" {
			return n
		}
		n++
	}
	w.t.Fatalf("%s: focus never left the page after 400 Tabs", w.page)
	return n
}

// typeText types text into the focused field, one key event per character.
func (w *kbWalker) typeText(text string) {
	w.t.Helper()
	w.p.Do(chromedp.KeyEvent(text))
}

// kbSignIn signs in from /login with the keyboard only.
func kbSignIn(w *kbWalker) {
	w.t.Helper()
	w.p.Open("/login")
	w.loaded()
	w.to("#login-username", false)
	w.typeText(AdminName)
	w.to("#login-password", false)
	w.typeText(AdminPassword)
	w.p.Submit(Key(KeyEnter))
	if w.p.Path() != "/" {
		w.t.Fatalf("keyboard sign-in landed on %s", w.p.Path())
	}
	w.loaded()
}

// kbOpen follows a link of the main navigation with the keyboard.
func kbOpen(w *kbWalker, nav string, back bool) {
	w.t.Helper()
	w.to(`a[data-nav="`+nav+`"]`, back)
	w.p.Submit(Key(KeyEnter))
	w.loaded()
}

func TestUI50_KeyboardOnlyApprovalsAndActivity(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	bearer := b.Bearer(t)
	srv := approvalsServer(t, b, "keys")
	good, _ := approvalsTool(t, b, srv, "good", approvalsCode("does good.", ""), nil)
	bad, _ := approvalsTool(t, b, srv, "bad", approvalsCode("does harm.", ""), nil)
	b.PostExecutions(t, dashboardExec("keys__good", true))

	p := b.NewPage(t, Desktop)
	w := newWalker(t, p)
	kbSignIn(w)
	if n := w.all(); n < 10 {
		t.Errorf("dashboard: only %d focus stops", n)
	}

	kbOpen(w, "approvals", false)
	if p.Path() != "/approvals" {
		t.Fatalf("Approvals link opened %s", p.Path())
	}
	p.WaitFor(`document.querySelector("#live-indicator")?.dataset.state === "live"`, 10*time.Second, "the event stream")
	w.all()
	// Approve one tool.
	w.to(approvalsCard(good)+"-approve", false)
	p.Settle(Key(KeyEnter))
	p.WaitFor(`(() => { const c = document.querySelector(`+jsString(approvalsCard(good))+`); return !c || c.textContent.includes("Approved"); })()`,
		5*time.Second, "the card to read Approved")
	w.acted()
	// Reject the other with a reason, in its dialog.
	dlg := "reject-approval-tool-" + bad + "-v1"
	w.to("#"+dlg+"-open", false)
	p.Key(KeyEnter)
	p.WaitFor(`document.getElementById(`+jsString(dlg)+`).matches(":modal") && document.activeElement.id === `+jsString(dlg+"-reason"),
		5*time.Second, "the reject dialog with its reason focused")
	w.acted()
	w.typeText("Sends data to the wrong host.")
	w.to("#"+dlg+"-form button[type=submit]", false)
	p.Settle(Key(KeyEnter))
	p.WaitFor(`(() => { const c = document.querySelector(`+jsString(approvalsCard(bad))+`); return !c || c.textContent.includes("Rejected"); })()`,
		5*time.Second, "the card to read Rejected")
	if tl := approvalsGetTool(t, b, bearer, good); tl.ReviewStatus != "approved" {
		t.Errorf("approved tool: %+v", tl)
	}
	if tl := approvalsGetTool(t, b, bearer, bad); tl.ReviewStatus != "rejected" || tl.RejectionReason == nil || *tl.RejectionReason != "Sends data to the wrong host." {
		t.Errorf("rejected tool: %+v", tl)
	}
	w.acted()

	// Activity, reached backwards through the navigation; pause the tail.
	kbOpen(w, "activity", true)
	if p.Path() != "/activity" {
		t.Fatalf("Activity link opened %s", p.Path())
	}
	p.WaitFor(`document.querySelector("#live-indicator")?.dataset.state === "live"`, 10*time.Second, "the event stream")
	w.all()
	w.to("#activity-live-toggle", false)
	p.Settle(Key(KeyEnter))
	p.WaitFor(`document.querySelector("#activity-live-toggle")?.getAttribute("aria-pressed") === "false"`, 5*time.Second, "the tail to pause")
	if got := p.Text("#activity-live-state"); !strings.HasPrefix(got, "Paused") {
		t.Errorf("after pausing: %q", got)
	}
	if f := p.Focused(); f != "button#activity-live-toggle" {
		t.Errorf("after pausing, focus is on %q, want the Live toggle", f)
	}
}

// kbDialog checks an open dialog: modal, first focus on its first field
// or its Cancel button, Tab from the last control wraps to the first and
// Shift-Tab from the first back to the last, Escape closes it and focus
// returns to the opener (a CSS selector).
func kbDialog(t *testing.T, w *kbWalker, dialog, opener string) {
	t.Helper()
	p := w.p
	p.WaitFor(`document.querySelector(`+jsString(dialog)+`)?.matches(":modal")`, 5*time.Second, dialog+" open and modal")
	first := Eval[string](p, `(() => {
  const d = document.querySelector(`+jsString(dialog)+`), a = document.activeElement;
  if (!d.contains(a)) return "outside: " + a.localName + "#" + a.id;
  if (a.matches('input:not([type="hidden"]), textarea, select') && a === d.querySelector('input:not([type="hidden"]), textarea, select')) return "";
  if (a.matches("button") && (a.matches("[data-dialog-cancel]") || a.textContent.trim() === "Cancel")) return "";
  return "on " + a.localName + "#" + a.id + " “" + a.textContent.trim() + "”";
})()`)
	if first != "" {
		t.Errorf("%s: first focus is %s, want its first field or Cancel", dialog, first)
	}
	// The dialog's controls in order, as the browser can focus them.
	ids := Eval[[]string](p, `(() => {
  const d = document.querySelector(`+jsString(dialog)+`);
  let n = 0;
  return Array.from(d.querySelectorAll("a[href], button, input, select, textarea, [tabindex]"))
    .filter((e) => !e.disabled && e.type !== "hidden" && e.tabIndex >= 0 && e.getClientRects().length > 0)
    .map((e) => e.id || (e.id = "kb-dialog-control-" + n++));
})()`)
	if len(ids) < 2 {
		t.Fatalf("%s: %d focusable controls", dialog, len(ids))
	}
	active := func() string { return Eval[string](p, `document.activeElement.id`) }
	w.acted()
	for range len(ids) {
		if active() == ids[len(ids)-1] {
			break
		}
		w.press(false)
	}
	if a := active(); a != ids[len(ids)-1] {
		t.Fatalf("%s: Tab did not reach the last control %s (on %s)", dialog, ids[len(ids)-1], a)
	}
	w.acted() // the wrap is not reading order
	w.press(false)
	if a := active(); a != ids[0] {
		t.Errorf("%s: Tab from the last control went to %q, want the first (%s)", dialog, a, ids[0])
	}
	w.press(true)
	if a := active(); a != ids[len(ids)-1] {
		t.Errorf("%s: Shift-Tab from the first control went to %q, want the last (%s)", dialog, a, ids[len(ids)-1])
	}
	p.Key(KeyEscape)
	p.WaitFor(`!document.querySelector(`+jsString(dialog)+`).open`, 5*time.Second, "Escape to close "+dialog)
	p.WaitFor(`document.activeElement === document.querySelector(`+jsString(opener)+`)`, 5*time.Second, "focus back on "+opener)
	w.acted()
}

func TestUI51_KeyboardOnlySecretAndDeleteServer(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	id := serversSeed(t, b, "vault", true, false)
	serversPost(t, b, "/api/v1/servers/"+id+"/secrets", map[string]any{"name": "API_KEY"}, http.StatusCreated)
	p := b.NewPage(t, Desktop)
	w := newWalker(t, p)
	kbSignIn(w)

	// Set a secret value.
	p.Open("/servers/" + id + "?tab=secrets")
	w.loaded()
	opener, dialog := "#set-value-open-API_KEY", "#set-value-API_KEY"
	w.to(opener, false)
	p.Key(KeyEnter)
	kbDialog(t, w, dialog, opener)
	p.Key(KeyEnter)
	p.WaitFor(`document.activeElement.id === "secret-value-API_KEY"`, 5*time.Second, "the value field focused")
	w.typeText("UI51-s3cret-value")
	p.Settle(Key(KeyEnter))
	p.WaitFor(`document.querySelector("#secret-row-API_KEY .secret-state")?.textContent === "Set" && !document.querySelector("dialog[open]")`,
		5*time.Second, "the value to be Set and the dialog closed")

	// Delete the (stopped) server, typing its name.
	p.Open("/servers/" + id + "?tab=settings")
	w.loaded()
	opener, dialog = "#delete-server-open", "#delete-server-dialog"
	w.to(opener, false)
	p.Key(KeyEnter)
	kbDialog(t, w, dialog, opener)
	p.Key(KeyEnter)
	p.WaitFor(`document.querySelector("#delete-server-dialog").matches(":modal")`, 5*time.Second, "the dialog again")
	w.to("#delete-confirm-name", true)
	match, hasMatch := p.Attr("#delete-confirm-name", "data-confirm-match")
	if hasMatch {
		if match != "vault" {
			t.Errorf("data-confirm-match %q, want the server's name", match)
		}
		w.typeText("vaul")
		if _, disabled := p.Attr("#delete-server-confirm", "disabled"); !disabled {
			t.Error("Delete server is enabled before the exact name is typed")
		}
	} else {
		t.Log("the Delete server dialog has no data-confirm-match yet (servers templates): Confirm cannot be disabled until the name is typed")
		w.typeText("vaul")
	}
	w.typeText("t")
	w.to("#delete-server-confirm", false)
	p.Settle(Key(KeyEnter))
	p.WaitFor(`location.pathname === "/servers" && document.querySelector("#toasts-status").textContent.includes("vault deleted")`, 5*time.Second, "the list with a toast")
	if r := b.API(t, http.MethodGet, "/api/v1/servers/"+id, nil, b.Bearer(t)...); r.Status != http.StatusNotFound {
		t.Errorf("the server still exists: %d", r.Status)
	}
}

// The app.js side of a long action (admin-ui.md §6, §12) on the tool test
// run, the one long action of the pages here: a fresh X-Request-Id per
// request (the sandbox receives it), the busy button counting seconds, and
// a progress container (data-progress; built by the test, as the import
// forms carry theirs) that follows only the progress events carrying that
// id. The events are dispatched on <body> as app.js re-dispatches the
// stream's (UI-55 runs them end to end).
func TestLongActionRequestIDProgressAndElapsed(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	gate := make(chan struct{})
	var (
		mu  sync.Mutex
		ran []string
	)
	b.Sandbox.OnExecute(func(req proto.ExecuteRequest) proto.ExecuteResponse {
		mu.Lock()
		ran = append(ran, req.RequestID)
		mu.Unlock()
		<-gate
		return Execution(req)
	})
	t.Cleanup(func() { close(gate) })
	s := toolsSeed(t, b, 1, toolsCode)
	p := toolsSignedIn(t, b, Desktop)
	p.Open("/tools/" + s.ToolID + "?tab=test")
	p.Exec(`(() => {
  const box = document.createElement("div"), bar = document.createElement("progress"), text = document.createElement("p");
  box.id = "kb-progress";
  box.hidden = true;
  box.dataset.progressUnit = "tools";
  bar.setAttribute("aria-label", "Test progress");
  text.setAttribute("data-progress-text", "");
  box.append(bar, text);
  document.getElementById("tools-test").after(box);
  window.__ids = [];
  document.addEventListener("htmx:configRequest", (e) => {
    if (e.detail.elt.closest("#tools-test-form")) window.__ids.push(e.detail.headers["X-Request-Id"] || "");
  });
  return true;
})()`)
	progress := func(id string, done, total int) {
		p.Exec(fmt.Sprintf(`document.body.dispatchEvent(new CustomEvent("mcpbox:progress", {detail: {request_id: %s, operation: "test_run", done: %d, total: %d}})); true`, jsString(id), done, total))
	}
	type barState struct {
		Hidden   bool    `json:"hidden"`
		HasValue bool    `json:"hasValue"`
		Value    float64 `json:"value"`
		Max      float64 `json:"max"`
		Text     string  `json:"text"`
	}
	state := func() barState {
		return Eval[barState](p, `((b) => ({hidden: b.hidden, hasValue: b.querySelector("progress").hasAttribute("value"),
  value: b.querySelector("progress").value, max: b.querySelector("progress").max, text: b.querySelector("[data-progress-text]").textContent}))(document.getElementById("kb-progress"))`)
	}
	var ids []string
	for run := 1; run <= 2; run++ {
		p.Exec(`document.getElementById("tools-test-form").dataset.progress = "kb-progress"; true`)
		p.Click("#test-run")
		p.WaitFor(`!document.getElementById("kb-progress").hidden`, 5*time.Second, "the progress container")
		id := Eval[string](p, `window.__ids[window.__ids.length - 1]`)
		if len(id) < 16 || strings.Trim(id, "0123456789abcdef-") != "" {
			t.Fatalf("run %d: X-Request-Id %q", run, id)
		}
		ids = append(ids, id)
		if st := state(); st.HasValue || st.Text != "" {
			t.Errorf("run %d: before any event the bar is %+v, want indeterminate", run, st)
		}
		progress("another-request", 5, 40)
		if st := state(); st.HasValue || st.Text != "" {
			t.Errorf("run %d: another request's event changed the bar: %+v", run, st)
		}
		progress(id, 3, 40)
		if st := state(); !st.HasValue || st.Value != 3 || st.Max != 40 || st.Text != "3 of 40 tools" {
			t.Errorf("run %d: after 3 of 40: %+v", run, st)
		}
		p.WaitFor(`/^Running test… [1-9][0-9]* s$/.test(document.getElementById("test-run").textContent.trim()) && document.getElementById("test-run").disabled`,
			10*time.Second, "the busy button to count seconds")
		gate <- struct{}{}
		p.WaitFor(`document.getElementById("kb-progress").hidden && !!document.getElementById("tools-test-result")`, 10*time.Second, "the result, the progress hidden")
		if got := p.Text("#test-run"); got != "Run test" {
			t.Errorf("run %d: button reads %q after the run", run, got)
		}
		p.Exec(`document.getElementById("tools-test-result").remove(); true`)
	}
	if ids[0] == ids[1] {
		t.Errorf("both runs sent X-Request-Id %s", ids[0])
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ran) != 2 || ran[0] != ids[0] || ran[1] != ids[1] {
		t.Errorf("the sandbox ran request ids %q, the page sent %q", ran, ids)
	}
}

// The dialog contract of app.js on a dialog built by the test:
// data-dialog-open opens it modal with its field focused, Tab wraps,
// data-confirm-match keeps Confirm disabled until the exact text is typed,
// Escape closes it and focus returns to the opener.
func TestDialogOpenerAndConfirmMatch(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	p := b.NewPage(t, Desktop)
	w := newWalker(t, p)
	kbSignIn(w)
	p.Exec(`(() => {
  const make = (tag, attrs, text) => { const e = document.createElement(tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); if (text) e.textContent = text; return e; };
  const opener = make("button", {type: "button", id: "kb-open", "data-dialog-open": "kb-dialog"}, "Delete thing");
  const dialog = make("dialog", {id: "kb-dialog", "aria-labelledby": "kb-title"});
  dialog.append(make("h2", {id: "kb-title"}, "Delete doomed?"), make("label", {for: "kb-name"}, "Type doomed"),
    make("input", {type: "text", id: "kb-name", "data-confirm-match": "doomed"}),
    make("button", {type: "button", id: "kb-cancel", "data-dialog-cancel": ""}, "Cancel"),
    make("button", {type: "button", id: "kb-confirm", "data-dialog-confirm": ""}, "Delete"));
  document.getElementById("main").append(opener, dialog);
  return true;
})()`)
	w.acted()
	w.to("#kb-open", false)
	p.Key(KeyEnter)
	p.WaitFor(`document.getElementById("kb-dialog").matches(":modal") && document.activeElement.id === "kb-name"`, 5*time.Second, "the dialog, its field focused")
	if !Eval[bool](p, `document.getElementById("kb-confirm").disabled`) {
		t.Error("Confirm is enabled with nothing typed")
	}
	w.typeText("doome")
	if !Eval[bool](p, `document.getElementById("kb-confirm").disabled`) {
		t.Error("Confirm is enabled with doome typed")
	}
	w.typeText("d")
	if Eval[bool](p, `document.getElementById("kb-confirm").disabled`) {
		t.Error("Confirm is disabled with the exact text typed")
	}
	p.Key(KeyTab)
	p.Key(KeyTab)
	p.Key(KeyTab)
	if f := p.Focused(); f != "input#kb-name" {
		t.Errorf("Tab from the last control went to %q, want the field", f)
	}
	p.Key(KeyEscape)
	p.WaitFor(`!document.getElementById("kb-dialog").open && document.activeElement.id === "kb-open"`, 5*time.Second, "Escape to close, focus on the opener")
}
