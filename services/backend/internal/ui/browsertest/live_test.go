//go:build browser

package browsertest

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Shell › live updates (admin-ui.md §6, §16 UI-11 and UI-12): the pending
// badge follows the approvals event, and without a stream the indicator
// says so and the fallback tick keeps the page current.

// liveText is the live indicator's visible text.
const liveText = `document.querySelector("#live-indicator .live-text")?.textContent.trim()`

// UI-11: a tool submitted through the internal API raises the badge on the
// dashboard without a reload; its accessible text names the count.
func TestUI11_BadgeRisesWithoutReload(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	p := b.NewPage(t, Desktop)
	p.SignIn()
	p.Open("/")
	p.WaitFor(liveText+` === "Live"`, 10*time.Second, "the stream to be live")
	p.Exec(`window.__ui11 = location.href; true`)
	srv := approvalsServer(t, b, "ui11")
	approvalsTool(t, b, srv, "first", approvalsCode("one", ""), nil)
	p.WaitFor(`document.getElementById("approvals-badge")?.dataset.count === "1"`, 3*time.Second, "the badge to read 1")
	if Eval[string](p, `window.__ui11 || ""`) == "" {
		t.Fatal("the page reloaded")
	}
	if got := p.Text("#approvals-badge .visually-hidden"); got != "1 pending approval" {
		t.Errorf("badge accessible text %q", got)
	}
	approvalsTool(t, b, srv, "second", approvalsCode("two", ""), nil)
	// The spec's 3 s is checked on the first rise above; this one checks the
	// count and the plural, with a bound that only guards against a hang (a
	// busy CI machine once took longer than 3 s here).
	p.WaitFor(`document.getElementById("approvals-badge")?.dataset.count === "2"`, 15*time.Second, "the badge to read 2")
	if got := p.Text("#approvals-badge .visually-hidden"); got != "2 pending approvals" {
		t.Errorf("badge accessible text %q", got)
	}
}

// UI-12: the indicator reads Live; with every stream cut (the connections
// closed and new ones refused) it reads "Offline — retrying", the badge
// still updates through the fallback tick, and once streams are allowed
// again it returns to Live.
func TestUI12_OfflineIndicatorAndFallbackTick(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	p := b.NewPage(t, Desktop)
	p.SignIn()
	p.Open("/")
	p.WaitFor(liveText+` === "Live"`, 10*time.Second, "the stream to be live")
	if role, _ := p.Attr("#live-indicator", "role"); role != "status" {
		t.Errorf("live indicator role %q", role)
	}

	// block refuses the page's requests to the event stream (DevTools
	// Network.setBlockedURLs), or with block=false allows them again.
	block := func(on bool) {
		params := network.SetBlockedURLsParams{URLPatterns: []*network.BlockPattern{{URLPattern: "*://*:*/ui/events*", Block: on}}}
		p.Do(chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
			if _, err := cdp.Call(ctx, tgt, network.Enable, network.EnableParams{}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, tgt, network.SetBlockedURLs, params)
			return err
		}))
	}
	// The cut stream and the refused reconnections are logged by the browser.
	p.ExpectConsoleError("/ui/events")
	block(true)
	b.main.CloseClientConnections() // the open stream ends; reconnecting is refused
	p.WaitFor(liveText+` === "Offline — retrying"`, 10*time.Second, `"Offline — retrying"`)

	srv := approvalsServer(t, b, "ui12")
	approvalsTool(t, b, srv, "offline", approvalsCode("offline", ""), nil)
	p.WaitFor(`document.getElementById("approvals-badge")?.dataset.count === "1"`, 10*time.Second, "the badge to update through the fallback tick")
	if got := Eval[string](p, liveText); got != "Offline — retrying" {
		t.Errorf("indicator %q while the stream is still refused", got)
	}

	block(false)
	p.WaitFor(liveText+` === "Live"`, 10*time.Second, "the indicator to return to Live")
}
