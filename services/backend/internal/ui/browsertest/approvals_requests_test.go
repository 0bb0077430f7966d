//go:build browser

package browsertest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// The package and network request checks of admin-ui.md §16 (UI-37,
// UI-38).

// UI-37: a never-tier package request has Approve disabled with the
// catalogue reason; an approved opt-in package appears under the
// server's Packages; Revoke asks first.
func TestUI37_PackageRequests(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	// The sandbox's catalogue lists archive/zip as never (a build that
	// leaves it out), though the backend lets a tool request it.
	cat := Catalogue
	cat.Packages = append(slices.Clone(Catalogue.Packages),
		proto.Package{Path: "archive/tar", Tier: proto.TierOptIn, Description: "Tar archives."},
		proto.Package{Path: "archive/zip", Tier: proto.TierNever, Description: "Zip archives.", Note: "this sandbox build leaves it out"},
	)
	b.Sandbox.SetCatalogue(cat)
	b.CreateAdmin(t)
	srv := approvalsServer(t, b, "files")
	tool, _ := approvalsTool(t, b, srv, "unpack", approvalsCode("unpacks archives.", ""), nil)
	var never, optIn struct {
		RequestID string `json:"request_id"`
	}
	b.Manage(t, "mcpbox_request_package", map[string]any{"tool_id": tool, "package": "archive/zip", "justification": "reads zip archives"}, &never)
	b.Manage(t, "mcpbox_request_package", map[string]any{"tool_id": tool, "package": "archive/tar", "justification": "reads tar archives"}, &optIn)

	p := b.NewPage(t, Desktop)
	p.SetThemeCookie("light")
	p.SignIn()
	p.Open("/approvals?kind=packages")
	nc := "approval-packages-" + never.RequestID
	if _, disabled := p.Attr("#"+nc+"-approve", "disabled"); !disabled {
		t.Fatal("Approve is enabled on the never-tier request")
	}
	desc, _ := p.Attr("#"+nc+"-approve", "aria-describedby")
	if want := "The package catalogue never allows this package: this sandbox build leaves it out."; desc == "" || p.Text("#"+desc) != want {
		t.Errorf("the disabled Approve is described by %q reading %q, want %q", desc, p.Text("#"+desc), want)
	}
	tier := Eval[string](p, `(() => { const dt = [...document.querySelectorAll(`+jsString("#"+nc+" .approvals-facts dt")+`)].find((e) => e.textContent === "Catalogue tier"); return dt ? dt.nextElementSibling.textContent.trim() : ""; })()`)
	if tier != "never" {
		t.Errorf("never-tier card: catalogue tier %q", tier)
	}
	if p.Count("#bulk-approve-open") == 1 {
		p.Click("#bulk-approve-open")
		p.WaitFor(`!!document.querySelector("dialog[id^=bulk-approve-][open]")`, 5*time.Second, "the bulk dialog")
		if n := p.Count(`dialog[id^=bulk-approve-][open] input[value="` + never.RequestID + `"]`); n != 0 {
			t.Error("the bulk dialog offers the never-tier request")
		}
		p.Key(KeyEscape)
	}
	p.Screenshot("approvals-package-never", "light")

	// The opt-in request: approved, it shows under the server's Packages.
	oc := "approval-packages-" + optIn.RequestID
	p.Settle(Click("#" + oc + "-approve"))
	p.WaitFor(`(document.querySelector(`+jsString("#"+oc)+`)?.textContent || "").includes("Approved")`, 5*time.Second, "the card to read Approved")
	p.Open("/servers/" + srv + "?tab=packages")
	row := "#package-row-" + optIn.RequestID
	if got := p.Text(row); !strings.Contains(got, "archive/tar") || !strings.Contains(got, "files__unpack") {
		t.Fatalf("server Packages: row %q; section %q", got, p.Text("#main"))
	}
	if p.Count("#package-row-"+never.RequestID) != 0 {
		t.Error("the never-tier package shows under the server's Packages")
	}

	// Revoke asks first: Cancel keeps the approval, Confirm revokes.
	p.Open("/approvals?kind=packages&status=approved")
	p.Click("#" + oc + "-revoke")
	dlg := "#revoke-" + oc
	p.WaitFor(`document.querySelector(`+jsString(dlg)+`).open`, 5*time.Second, "the revoke dialog")
	if got := p.Text(dlg); !strings.Contains(got, "Revoke the package archive/tar?") || !strings.Contains(got, "every server loses it") {
		t.Errorf("the revoke dialog reads %q", got)
	}
	p.Screenshot("approvals-package-revoke", "light")
	p.Click(dlg + " [data-dialog-cancel]")
	p.WaitFor(`!document.querySelector(`+jsString(dlg)+`).open`, 5*time.Second, "Cancel to close the dialog")
	p.Open("/servers/" + srv + "?tab=packages")
	if p.Count(row) != 1 {
		t.Fatal("Cancel revoked the package")
	}
	p.Open("/approvals?kind=packages&status=approved")
	p.Click("#" + oc + "-revoke")
	p.WaitFor(`document.querySelector(`+jsString(dlg)+`).open`, 5*time.Second, "the revoke dialog")
	// The card says "Revoked archive/tar.", or, when a live refresh of the
	// approved list overtook the answer, has left that list.
	p.Click(dlg + " [data-dialog-confirm]")
	p.WaitFor(`((c) => !c || c.textContent.includes("Revoked archive/tar."))(document.querySelector(`+jsString("#"+oc)+`))`, 10*time.Second, "the revoked card")
	p.Open("/servers/" + srv + "?tab=packages")
	if p.Count(row) != 0 || p.Count("#packages-empty") != 1 {
		t.Errorf("after Revoke the server's Packages reads %q", p.Text("#main"))
	}
}

// UI-38: with 120 pending network requests, pages of 50 reach all; bulk
// approving a selected page confirms with 50 hosts listed, after which
// they show in Allowed hosts as "Approved request".
func TestUI38_NetworkRequestsPagingAndBulk(t *testing.T) {
	t.Parallel()
	const total, perTool = 120, 30 // a manifest names at most 32 hosts
	b := NewBackend(t)
	b.CreateAdmin(t)
	srv := approvalsServer(t, b, "net")
	all := map[string]bool{}
	for k := range total / perTool {
		hosts := make([]string, perTool)
		for i := range hosts {
			hosts[i] = fmt.Sprintf("h%03d.example.com", k*perTool+i)
			all[hosts[i]] = true
		}
		// The hosts are in the manifest already, so each request adds no
		// version.
		tool, _ := approvalsTool(t, b, srv, fmt.Sprintf("fetch_%d", k), approvalsCode("fetches pages.", ""), hosts)
		for _, h := range hosts {
			b.Manage(t, "mcpbox_request_network_access", map[string]any{"tool_id": tool, "host": h, "justification": "reads the status page of " + h}, nil)
		}
	}

	p := b.NewPage(t, Desktop)
	p.SetThemeCookie("light")
	p.SignIn()
	p.Open("/approvals?kind=network")
	if got := p.Text("#approvals-total"); got != fmt.Sprint(total) {
		t.Errorf("pending in total: %q", got)
	}
	subjects := func() []string {
		return Eval[[]string](p, `[...document.querySelectorAll("#approvals-list .approvals-card h2 code")].map((e) => e.textContent.trim())`)
	}
	first := subjects()
	seen := map[string]bool{}
	for page := 1; ; page++ {
		got := subjects()
		want := min(50, total-len(seen))
		if len(got) != want {
			t.Fatalf("page %d lists %d requests, want %d", page, len(got), want)
		}
		for _, h := range got {
			if seen[h] || !all[h] {
				t.Fatalf("page %d: %s listed twice or unknown", page, h)
			}
			seen[h] = true
		}
		if p.Count("#approvals-next") == 0 {
			break
		}
		p.Submit(Click("#approvals-next"))
		if p.Count("#approvals-first") != 1 {
			t.Errorf("page %d has no link to the first page", page+1)
		}
	}
	if len(seen) != total {
		t.Fatalf("the pages reach %d of %d requests", len(seen), total)
	}

	// Bulk approve the first page: the dialog lists its 50 hosts, ticked.
	p.Open("/approvals?kind=network")
	p.Click("#bulk-approve-open")
	const open = "dialog[id^=bulk-approve-][open]"
	p.WaitFor(`!!document.querySelector(`+jsString(open)+`)`, 5*time.Second, "the bulk dialog")
	listed := Eval[[]string](p, `[...document.querySelectorAll(`+jsString(open+" li")+`)].filter((li) => li.querySelector("input:checked")).map((li) => li.querySelector("code").textContent.trim())`)
	if len(listed) != 50 || fmt.Sprint(listed) != fmt.Sprint(first) {
		t.Fatalf("the bulk dialog lists %d ticked hosts %v, want the page's 50 %v", len(listed), listed, first)
	}
	if got := p.Text(open + " legend"); got != "Requests on this page (50)" {
		t.Errorf("bulk legend %q", got)
	}
	p.Screenshot("approvals-network-bulk-50", "light")
	p.Settle(Click(open + ` button[type="submit"]`))
	p.WaitFor(`document.getElementById("approvals-total")?.textContent === "70"`, 10*time.Second, "70 pending after the bulk approval")
	if p.Count(open) != 0 {
		t.Error("the bulk dialog is still open")
	}

	// Allowed hosts: the 50, each an approved request.
	p.Open("/servers/" + srv + "?tab=hosts")
	rows := Eval[[]struct {
		Host   string `json:"host"`
		Source string `json:"source"`
	}](p, `[...document.querySelectorAll("#hosts-table tbody tr")].map((r) => ({host: r.dataset.host, source: r.querySelector(".host-source").textContent.trim()}))`)
	got := map[string]bool{}
	for _, r := range rows {
		if !strings.HasPrefix(r.Source, "Approved request from net__fetch_") {
			t.Errorf("host %s: source %q", r.Host, r.Source)
		}
		got[r.Host] = true
	}
	for _, h := range first {
		if !got[h] {
			t.Errorf("approved host %s is not in Allowed hosts", h)
		}
	}
	if len(rows) != 50 {
		t.Errorf("Allowed hosts lists %d rows, want 50", len(rows))
	}
	p.Screenshot("servers-hosts-approved-50", "light")
}
