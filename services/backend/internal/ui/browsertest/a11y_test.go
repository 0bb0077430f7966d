//go:build browser

package browsertest

import (
	"fmt"
	"os"
	"testing"
	"time"
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
