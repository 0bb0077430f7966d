//go:build browser

package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The approvals checks of admin-ui.md §16 (UI-32 to UI-38, UI-56) and the
// approvals pages of UI-49/UI-53.

// UI-32: the kind counts equal the pending items listed; ?kind=packages
// opens that kind; status and search are in the URL and survive reload.
func TestUI32_KindsCountsStatusAndSearchInURL(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	srv := approvalsServer(t, b, "alpha")
	toolA, _ := approvalsTool(t, b, srv, "first", approvalsCode("does one thing.", ""), nil)
	approvalsTool(t, b, srv, "second", approvalsCode("does another.", ""), nil)
	b.Manage(t, "mcpbox_request_package", map[string]any{"tool_id": toolA, "package": "archive/zip", "justification": "reads zip archives"}, nil)
	b.Manage(t, "mcpbox_request_network_access", map[string]any{"tool_id": toolA, "host": "api.example.com", "justification": "calls the forecast API"}, nil)

	p := b.NewPage(t, Desktop)
	p.SignIn()
	p.Open("/approvals")
	for _, kind := range []string{"tools", "packages", "network", "sources"} {
		p.Open("/approvals?kind=" + kind)
		cur, _ := p.Attr(`#approvals-kinds a[aria-current="page"]`, "data-kind")
		if cur != kind {
			t.Errorf("?kind=%s: current kind link %q", kind, cur)
		}
		pending, _ := p.Attr(`#approvals-kinds a[data-kind="`+kind+`"]`, "data-pending")
		cards := p.Count("#approvals-list .approvals-card")
		if pending != strconv.Itoa(cards) {
			t.Errorf("%s: count %s, %d cards listed", kind, pending, cards)
		}
		if kind == "tools" && cards != 2 {
			t.Errorf("tools: %d cards, want 2", cards)
		}
		if kind == "packages" && cards != 1 {
			t.Errorf("packages: %d cards, want 1", cards)
		}
	}
	// Status: All, in the URL.
	p.Open("/approvals?kind=tools")
	p.Settle(chromeSetSelect("#approvals-status", "all"))
	p.WaitFor(`location.search.includes("status=all")`, 5*time.Second, "status in the URL")
	if u, _ := url.Parse(p.URL()); u.Query().Get("status") != "all" {
		t.Errorf("status not in the URL: %s", p.URL())
	}
	// Search (300 ms after typing), in the URL, and the no-match state.
	p.Exec(`document.getElementById("approvals-q").focus(); true`)
	p.Settle(chromedp.SendKeys(chromedp.CSS("#approvals-q"), "zzz-nothing"))
	p.WaitFor(`location.search.includes("q=zzz-nothing")`, 5*time.Second, "q in the URL")
	if got := p.Text("#approvals-empty"); !strings.Contains(got, "Nothing matches “zzz-nothing”") || p.Count("#approvals-clear") != 1 {
		t.Errorf("no-match state: %q", got)
	}
	p.Reload()
	if v := Eval[string](p, `document.getElementById("approvals-q").value`); v != "zzz-nothing" {
		t.Errorf("after reload the search reads %q", v)
	}
	if v := Eval[string](p, `document.getElementById("approvals-status").value`); v != "all" {
		t.Errorf("after reload the status reads %q", v)
	}
	if p.Count("#approvals-empty") != 1 {
		t.Error("after reload the no-match state is gone")
	}
	p.Submit(Click("#approvals-clear"))
	if n := p.Count("#approvals-list .approvals-card"); n != 2 {
		t.Errorf("after Clear: %d cards", n)
	}
}

// chromeSetSelect picks an option of a select as a user would (the change
// event fires).
func chromeSetSelect(selector, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](`((s) => { s.value = `+jsString(value)+`; s.dispatchEvent(new Event("change", {bubbles: true})); return true; })(document.querySelector(`+jsString(selector)+`))`)(ctx, t)
		return err
	})
}

// UI-33: a tool at version 2 (1 approved) shows the diff 1 → 2 and its new
// host marked "added"; a never-approved tool shows the full code with "No
// version of this tool has been approved yet".
func TestUI33_DiffAgainstApprovedAndFirstVersion(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	bearer := b.Bearer(t)
	srv := approvalsServer(t, b, "weather")
	v1 := approvalsCode("fetches a forecast.", "\t_ = 1\n")
	changed, _ := approvalsTool(t, b, srv, "forecast", v1, nil)
	approvalsApproveAPI(t, b, bearer, changed)
	approvalsUpdate(t, b, changed, approvalsCode("fetches a forecast.", "\t_ = 2\n"), []string{"api.example.com"})
	fresh, _ := approvalsTool(t, b, srv, "fresh", approvalsCode("is new.", "\t_ = \"first-code-marker\"\n"), nil)

	p := b.NewPage(t, Desktop)
	p.SignIn()
	p.Open("/approvals?kind=tools")
	card := approvalsCard(changed)
	if p.Count(card+" .code-scroll > table.diff") != 1 {
		t.Fatalf("no diff on the changed tool's card")
	}
	if caption := p.Text(card + " .code-scroll > table.diff > caption"); !strings.Contains(caption, "version 1") || !strings.Contains(caption, "version 2") {
		t.Errorf("diff caption %q", caption)
	}
	if p.Count(card+" tr.diff-added") == 0 || p.Count(card+" tr.diff-removed") == 0 {
		t.Error("the diff marks no added or removed line")
	}
	if hidden := p.Text(card + " tr.diff-added .visually-hidden"); !strings.Contains(hidden, "added") {
		t.Errorf("added line's hidden text %q", hidden)
	}
	hosts := p.Text(card + " .approvals-manifest")
	if !strings.Contains(hosts, "api.example.com") || !strings.Contains(hosts, "added") {
		t.Errorf("manifest: %q", hosts)
	}
	region, _ := p.Attr(card+" .code-scroll", "aria-label")
	if tab, _ := p.Attr(card+" .code-scroll", "tabindex"); tab != "0" || !strings.Contains(region, "version 1 to version 2") {
		t.Errorf("diff region: tabindex %q, label %q", tab, region)
	}
	first := approvalsCard(fresh)
	if got := p.Text(first + " .approvals-first"); !strings.Contains(got, "No version of this tool has been approved yet") {
		t.Errorf("never-approved card reads %q", got)
	}
	if p.Count(first+" table.diff") != 0 || !strings.Contains(p.Text(first+" .code-scroll"), "first-code-marker") {
		t.Error("never-approved card does not show the full code")
	}
	if p.Count(first+" .code-scroll [class^=hl-]") == 0 {
		t.Error("the full code is not highlighted")
	}
}

// UI-34: Approve moves the tool to Approved, decrements the badge, puts it
// in the catalog, and the audit view shows the approval by the admin.
func TestUI34_ApproveTool(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	bearer := b.Bearer(t)
	srv := approvalsServer(t, b, "tools")
	id, exposed := approvalsTool(t, b, srv, "echo", approvalsCode("echoes.", ""), nil)
	approvalsTool(t, b, srv, "other", approvalsCode("waits.", ""), nil)

	p := b.NewPage(t, Desktop)
	p.SignIn()
	p.Open("/approvals")
	before := approvalsBadge(p)
	p.Settle(Click(approvalsCard(id) + "-approve"))
	p.WaitFor(`(() => { const c = document.querySelector(`+jsString(approvalsCard(id))+`); return !c || c.textContent.includes("Approved"); })()`,
		5*time.Second, "the card to read Approved (or leave the pending list)")
	n, _ := strconv.Atoi(before)
	p.WaitFor(`document.getElementById("approvals-badge").dataset.count === `+jsString(strconv.Itoa(n-1)), 5*time.Second, "the badge to decrement")
	tl := approvalsGetTool(t, b, bearer, id)
	if tl.ReviewStatus != "approved" || tl.ApprovedVersion == nil || *tl.ApprovedVersion != 1 {
		t.Fatalf("after Approve: %+v", tl)
	}
	p.Open("/approvals?kind=tools&status=approved")
	if got := p.Text(approvalsCard(id)); !strings.Contains(got, "Approved") {
		t.Errorf("approved list card: %q", got)
	}
	b.Manage(t, "mcpbox_start_server", map[string]any{"server_id": srv}, nil)
	if cat := approvalsCatalog(t, b); !strings.Contains(cat, exposed) {
		t.Errorf("catalog lacks %s: %.300s", exposed, cat)
	}
	r := b.API(t, http.MethodGet, "/api/v1/activity?category=audit", nil, bearer...)
	if body := string(r.Body); !strings.Contains(body, `"tool.approve"`) || !strings.Contains(body, `"admin:`+AdminName+`"`) {
		t.Errorf("audit: %d %.500s", r.Status, body)
	}
}

// UI-35: Reject with an empty or blank reason is blocked with the inline
// error; a direct POST without reason returns 422 naming reason; with a
// reason the item is Rejected and the reason shows on the card and in the
// tool's versions.
func TestUI35_RejectNeedsReason(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	bearer := b.Bearer(t)
	srv := approvalsServer(t, b, "rej")
	id, _ := approvalsTool(t, b, srv, "bad", approvalsCode("is wrong.", ""), nil)

	p := b.NewPage(t, Desktop)
	p.SignIn()
	p.Open("/approvals")
	dlg := "reject-approval-tool-" + id + "-v1"
	approvalsPress(p, dlg+"-open")
	p.WaitFor(`document.getElementById(`+jsString(dlg)+`).open`, 5*time.Second, "the reject dialog")
	if f := p.Focused(); !strings.Contains(f, dlg+"-reason") {
		t.Errorf("first focus in the dialog: %s", f)
	}
	// Empty: blocked in the page, nothing sent.
	p.Click("#" + dlg + "-form button[type=submit]")
	p.WaitFor(`!document.getElementById(`+jsString(dlg+"-reason-error")+`).hidden`, 5*time.Second, "the inline error")
	if tl := approvalsGetTool(t, b, bearer, id); tl.ReviewStatus != "pending_review" {
		t.Fatalf("an empty reason changed the tool: %+v", tl)
	}
	// Blank: refused by the server (422) with the inline error, dialog open.
	p.Fill("#"+dlg+"-reason", "   ")
	p.Settle(Click("#" + dlg + "-form button[type=submit]"))
	p.WaitFor(`document.getElementById(`+jsString(dlg+"-reason-error")+`).textContent.includes("reason is required")`, 5*time.Second, "the server's inline error")
	if got := p.Text("#" + dlg + "-reason-error"); !strings.Contains(got, "reason is required") {
		t.Errorf("blank reason error %q", got)
	}
	if inv, _ := p.Attr("#"+dlg+"-reason", "aria-invalid"); inv != "true" || !Eval[bool](p, `document.getElementById(`+jsString(dlg)+`).open`) {
		t.Errorf("after the 422: aria-invalid %q, dialog open %v", inv, Eval[bool](p, `document.getElementById(`+jsString(dlg)+`).open`))
	}
	// A direct POST without reason: 422 naming reason.
	status := Eval[float64](p, `fetch("/approvals/tools/`+id+`/reject", {method: "POST", headers: {"X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content, "Content-Type": "application/x-www-form-urlencoded"}, body: "version=1"}).then(async (r) => { window.__rejectBody = await r.text(); return r.status; })`)
	if status != http.StatusUnprocessableEntity || !strings.Contains(Eval[string](p, `window.__rejectBody`), "reason is required") {
		t.Errorf("direct POST without reason: %v", status)
	}
	// With a reason.
	p.Fill("#"+dlg+"-reason", "Uses the wrong endpoint.")
	p.Settle(Click("#" + dlg + "-form button[type=submit]"))
	p.WaitFor(`(() => { const c = document.querySelector(`+jsString(approvalsCard(id))+`); return !c || c.textContent.includes("Rejected"); })()`, 5*time.Second, "Rejected")
	tl := approvalsGetTool(t, b, bearer, id)
	if tl.ReviewStatus != "rejected" || tl.RejectionReason == nil || *tl.RejectionReason != "Uses the wrong endpoint." {
		t.Fatalf("after Reject: %+v", tl)
	}
	p.Open("/approvals?kind=tools&status=rejected")
	if got := p.Text(approvalsCard(id) + " .approvals-reason"); !strings.Contains(got, "Uses the wrong endpoint.") {
		t.Errorf("rejected card reason: %q", got)
	}
	r := b.API(t, http.MethodGet, "/api/v1/tools/"+id+"/versions", nil, bearer...)
	if !strings.Contains(string(r.Body), "rejected") {
		t.Errorf("versions after reject: %.300s", r.Body)
	}
}

// UI-36: a new version submitted after the page rendered makes Approve
// return the conflict message and the new diff; the older version is not
// approved.
func TestUI36_StaleApprove(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	bearer := b.Bearer(t)
	srv := approvalsServer(t, b, "stale")
	id, _ := approvalsTool(t, b, srv, "moving", approvalsCode("moves.", "\t_ = \"v1\"\n"), nil)

	p := b.NewPage(t, Desktop)
	p.SignIn()
	p.Open("/approvals")
	// Keep the rendered card: the live refresh must not hide the race.
	p.Exec(`(() => {
  const old = document.getElementById("approvals-results");
  const copy = old.cloneNode(true);
  copy.removeAttribute("hx-trigger");
  copy.removeAttribute("hx-get");
  old.replaceWith(copy);
  htmx.process(copy);
  return true;
})()`)
	approvalsUpdate(t, b, id, approvalsCode("moves.", "\t_ = \"v2-marker\"\n"), nil)
	p.Settle(Click(approvalsCard(id) + "-approve"))
	card := approvalsCard(id)
	p.WaitFor(`!!document.querySelector(`+jsString(card+" .approvals-notice")+`)`, 5*time.Second, "the conflict notice")
	if got := p.Text(card + " .approvals-notice"); !strings.Contains(got, "A newer version was submitted while you were reviewing. Review the changes below.") {
		t.Errorf("notice %q", got)
	}
	if v, _ := p.Attr(card, "data-version"); v != "2" || !strings.Contains(p.Text(card+" .code-scroll"), "v2-marker") {
		t.Errorf("the new card: version %q", v)
	}
	if tl := approvalsGetTool(t, b, bearer, id); tl.ApprovedVersion != nil {
		t.Fatalf("a version was approved: %+v", tl)
	}
}

// UI-56: the Secrets and reach lines.
func TestUI56_SecretsAndReach(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	bearer := b.Bearer(t)
	srv := approvalsServer(t, b, "reach")
	code := approvalsCode("reads secrets.", "\t_ = mcpbox.Secret(\"API_KEY\")\n\t_, _ = mcpbox.LookupSecret(\"TOKEN\")\n")
	withHosts, _ := approvalsTool(t, b, srv, "sender", code, []string{"api.example.com", "nas.lan:8080"})
	noHosts, _ := approvalsTool(t, b, srv, "local", code, nil)

	p := b.NewPage(t, Desktop)
	p.SignIn()
	p.Open("/approvals")
	lines := Eval[[]string](p, `[...document.querySelectorAll(`+jsString(approvalsCard(withHosts)+" .approvals-reach-line")+`)].map((e) => e.textContent.trim())`)
	want := []string{"this version can send API_KEY to api.example.com, nas.lan:8080", "this version can send TOKEN to api.example.com, nas.lan:8080"}
	if fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Errorf("reach lines %q, want %q", lines, want)
	}
	reach := p.Text(approvalsCard(withHosts) + " .approvals-reach")
	for _, s := range []string{"API_KEY", "TOKEN", "api.example.com", "nas.lan:8080"} {
		if !strings.Contains(reach, s) {
			t.Errorf("reach block lacks %s: %q", s, reach)
		}
	}
	none := approvalsCard(noHosts)
	if p.Count(none+" .approvals-reach-line") != 0 || !strings.Contains(p.Text(none+" .approvals-reach"), "API_KEY") {
		t.Errorf("no-host card: %q", p.Text(none+" .approvals-reach"))
	}
	approvalsSetNetworkPolicy(t, b, bearer, "allow_all_public")
	p.Reload()
	lines = Eval[[]string](p, `[...document.querySelectorAll(`+jsString(approvalsCard(withHosts)+" .approvals-reach-line")+`)].map((e) => e.textContent.trim())`)
	if len(lines) != 2 || !strings.Contains(lines[0], "any public host") {
		t.Errorf("under allow_all_public: %q", lines)
	}
	if p.Count(none+" .approvals-reach-line") != 2 || !strings.Contains(p.Text(none+" .approvals-reach-line"), "any public host") {
		t.Errorf("under allow_all_public the no-host card reads %q", p.Text(none+" .approvals-reach"))
	}
}

// UI-49 and UI-53 for the approvals pages: each kind (populated), the
// empty queue, and the reject dialog while open, in the combinations of
// combos().
func TestUI49_UI53_ApprovalsPages(t *testing.T) {
	t.Parallel()
	for _, c := range combos() {
		t.Run(fmt.Sprintf("%s-%d", c.theme, c.view.Width), func(t *testing.T) {
			t.Parallel()
			b := NewBackend(t)
			b.CreateAdmin(t)
			bearer := b.Bearer(t)
			p := b.NewPage(t, c.view)
			p.SetThemeCookie(c.theme)
			p.SignIn()
			p.Open("/approvals")
			review(t, p, "approvals-empty", c.theme)

			srv := approvalsServer(t, b, "review")
			changed, _ := approvalsTool(t, b, srv, "changed", approvalsCode("changes.", "\t_ = 1\n"), nil)
			approvalsApproveAPI(t, b, bearer, changed)
			approvalsUpdate(t, b, changed, approvalsCode("changes.", "\t_ = mcpbox.Secret(\"API_KEY\")\n"), []string{"api.example.com", "10.0.0.7:8080"})
			fresh, _ := approvalsTool(t, b, srv, "fresh", approvalsCode("is new and has a rather long line to show that code scrolls inside its own box on narrow screens.", ""), nil)
			b.Manage(t, "mcpbox_request_package", map[string]any{"tool_id": fresh, "package": "archive/zip", "justification": "reads zip archives"}, nil)
			b.Manage(t, "mcpbox_request_network_access", map[string]any{"tool_id": fresh, "host": "nas.lan", "port": 8080, "justification": "reads the NAS status page"}, nil)
			for _, kind := range []string{"tools", "packages", "network", "sources"} {
				p.Open("/approvals?kind=" + kind)
				review(t, p, "approvals-"+kind, c.theme)
			}
			p.Open("/approvals?kind=tools")
			v, _ := p.Attr(approvalsCard(fresh), "data-version")
			dlg := "reject-approval-tool-" + fresh + "-v" + v
			approvalsPress(p, dlg+"-open")
			p.WaitFor(`document.getElementById(`+jsString(dlg)+`).open`, 5*time.Second, "the reject dialog")
			review(t, p, "approvals-reject-dialog", c.theme)
			p.Key(KeyEscape)
			p.WaitFor(`!document.getElementById(`+jsString(dlg)+`).open`, 5*time.Second, "Escape to close the dialog")
			p.Open("/approvals?kind=network")
			approvalsPress(p, "bulk-approve-open")
			p.WaitFor(`!!document.querySelector("dialog[id^=bulk-approve-][open]")`, 5*time.Second, "the bulk dialog")
			review(t, p, "approvals-bulk-dialog", c.theme)
		})
	}
}
