package ui

import (
	"bytes"
	"cmp"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"text/template/parse"
	"time"
)

// templateFS holds the page templates: layout.html, partials/, dialogs/
// and pages/ (admin-ui.md §2).
//
//go:embed templates
var templateFS embed.FS

// Navigation keys: the main links of the shell (admin-ui.md §5).
const (
	navDashboard = "dashboard"
	navServers   = "servers"
	navApprovals = "approvals"
	navActivity  = "activity"
	navRemote    = "remote-access"
	navSettings  = "settings"
)

// navItem is one main link.
type navItem struct{ Key, Label, Href string }

// mainNav is the order of the main navigation.
func mainNav() []navItem {
	return []navItem{
		{navDashboard, "Dashboard", "/"},
		{navServers, "Servers", "/servers"},
		{navApprovals, "Approvals", "/approvals"},
		{navActivity, "Activity", "/activity"},
		{navRemote, "Remote access", "/remote-access"},
		{navSettings, "Settings", "/settings"},
	}
}

// renderer holds the templates, parsed once at start: one set per page,
// each the layout, partials and dialogs plus the page's own file.
type renderer struct {
	pages  map[string]*template.Template
	assets *assets
}

// newRenderer parses every template and checks that each page defines
// "content", that every {{template}} a set uses exists and
// that every asset named in a template exists. Any failure is a startup
// error.
func newRenderer() (*renderer, error) {
	return parseTemplates(templateFS, staticFS)
}

func parseTemplates(tfs, sfs fs.FS) (*renderer, error) {
	a, err := loadAssets(sfs)
	if err != nil {
		return nil, err
	}
	rd := &renderer{pages: map[string]*template.Template{}, assets: a}
	funcs := template.FuncMap{
		"asset":   a.url,
		"pending": pendingText,
		"utc":     func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	}
	for _, area := range []template.FuncMap{dashboardFuncs(), serversFuncs(), toolsFuncs(), approvalsFuncs(), activityFuncs(), settingsFuncs()} {
		for name, f := range area {
			if _, taken := funcs[name]; taken {
				return nil, fmt.Errorf("template function %q defined twice", name)
			}
			funcs[name] = f
		}
	}
	base, err := template.New("ui").Funcs(funcs).ParseFS(tfs, "templates/layout.html", "templates/partials/*.html", "templates/dialogs/*.html")
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(tfs, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, errors.New("no page templates")
	}
	for _, f := range files {
		t, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if t, err = t.ParseFS(tfs, f); err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(path.Base(f), ".html")
		for _, need := range []string{"layout", "content"} {
			if t.Lookup(need) == nil {
				return nil, fmt.Errorf("page %s: no template %q", name, need)
			}
		}
		if err := checkTree(t, a); err != nil {
			return nil, fmt.Errorf("page %s: %w", name, err)
		}
		rd.pages[name] = t
	}
	return rd, nil
}

// checkTree walks every template of a set: each {{template "x"}} must
// name a defined template and each {{asset "x"}} an existing static file
// (html/template would only fail when the page is rendered).
func checkTree(set *template.Template, a *assets) error {
	var problems []error
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.TemplateNode:
			if set.Lookup(n.Name) == nil {
				problems = append(problems, fmt.Errorf("{{template %q}} is not defined", n.Name))
			}
			walk(n.Pipe)
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			if len(n.Args) == 2 {
				if id, ok := n.Args[0].(*parse.IdentifierNode); ok && id.Ident == "asset" {
					if s, ok := n.Args[1].(*parse.StringNode); ok {
						if _, err := a.url(s.Text); err != nil {
							problems = append(problems, err)
						}
					} else {
						problems = append(problems, errors.New("asset takes a string literal"))
					}
				}
			}
			for _, c := range n.Args {
				walk(c)
			}
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		}
	}
	for _, t := range set.Templates() {
		if t.Tree != nil {
			walk(t.Tree.Root)
		}
	}
	return errors.Join(problems...)
}

// pendingText is the badge's accessible text: "3 pending approvals".
func pendingText(n int64) string {
	if n == 1 {
		return "1 pending approval"
	}
	return strconv.FormatInt(n, 10) + " pending approvals"
}

// shell is what the layout shows around a page.
type shell struct {
	Title     string // the page's name; <title> is "Title · MCPbox"
	Nav       string // the active main link, or ""
	Navs      []navItem
	User      string // the signed-in admin, or "" (no navigation then)
	Bare      bool   // no navigation (setup)
	CSRF      string
	Theme     string
	Version   string
	Pending   int64
	RequestID string
	// app.js timers in milliseconds.
	OfflineAfterMS, FallbackTickMS int64
}

// view is a template's data: the shell and the page's own.
type view struct {
	Shell shell
	Page  any
}

// page is one response rendered from a page template.
type page struct {
	Status int
	Name   string // the template set (templates/pages/<Name>.html)
	Title  string
	Nav    string
	Data   any
	// Fragment is the template an htmx request gets ("content" when empty);
	// any other request gets the whole layout (U7).
	Fragment string
	// Bare hides the navigation (setup).
	Bare bool
	// Quiet skips the database reads of the shell (the approvals count):
	// error pages must render when the database does not answer.
	Quiet bool
}

// render writes p: the fragment for an htmx request, the full page
// otherwise. It renders to a buffer first, so a template error is a clean
// 500, never half a page.
func (h *handler) render(w http.ResponseWriter, r *http.Request, st *state, p page) error {
	t, ok := h.view.pages[p.Name]
	if !ok {
		return fmt.Errorf("no page template %q", p.Name)
	}
	v := view{Shell: shell{
		Title: p.Title, Nav: p.Nav, Navs: mainNav(), Bare: p.Bare, CSRF: st.csrf, Theme: st.theme, RequestID: st.reqID,
		OfflineAfterMS: ms(h.d.Client.OfflineAfter, defaultOfflineAfter),
		FallbackTickMS: ms(h.d.Client.FallbackTick, defaultFallbackTick),
	}, Page: p.Data}
	if st.p != nil {
		v.Shell.User = st.p.Username
	}
	if p.Quiet {
		h.versionMu.Lock()
		v.Shell.Version = h.version
		h.versionMu.Unlock()
	} else {
		v.Shell.Version = h.versionOf(r)
		if st.p != nil {
			n, err := h.pending(r)
			if err != nil {
				return err
			}
			v.Shell.Pending = n
		}
	}
	name := "layout"
	if st.htmx {
		name = cmp.Or(p.Fragment, "content")
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, v); err != nil {
		return fmt.Errorf("render %s/%s: %w", p.Name, name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(cmp.Or(p.Status, http.StatusOK))
	_, _ = w.Write(buf.Bytes())
	return nil
}

// pending is the number of items waiting for review, of every kind (the
// approvals badge).
func (h *handler) pending(r *http.Request) (int64, error) {
	s, err := h.d.Approvals.Summary(r.Context())
	if err != nil {
		return 0, err
	}
	return s.PendingTools + s.PendingNetwork + s.PendingPackages + s.PendingSources, nil
}

// Pages returns the names of the page templates (tests render each).
func (rd *renderer) Pages() []string {
	names := make([]string, 0, len(rd.pages))
	for n := range rd.pages {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func ms(d, def time.Duration) int64 {
	if d <= 0 {
		d = def
	}
	return d.Milliseconds()
}
