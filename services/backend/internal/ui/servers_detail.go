package ui

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/executions"
	"github.com/mcpbox/mcpbox/services/backend/internal/secrets"
	"github.com/mcpbox/mcpbox/services/backend/internal/servers"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
)

// serverTabs are the sections of the server detail page, in order
// (admin-ui.md §11.3).
func serverTabs() []serversOption {
	return []serversOption{
		{"overview", "Overview"},
		{"tools", "Tools"},
		{"secrets", "Secrets"},
		{"sources", "External sources"},
		{"hosts", "Allowed hosts"},
		{"packages", "Packages"},
		{"settings", "Settings"},
	}
}

// serverTab is one section link.
type serverTab struct {
	Key, Label, Href string
	Current          bool
}

// serverDetail is the data of /servers/{id}.
type serverDetail struct {
	CSRF    string
	S       servers.Server
	Header  serverCard
	Tab     string
	TabName string
	Tabs    []serverTab
	// Focus marks the section heading for focus after an htmx mutation.
	Focus bool
	// Problem is a failure of the last action, shown above the section.
	Problem string
	// NextHref and FirstHref page the section's list.
	NextHref, FirstHref string

	Overview serverOverview
	Tools    []serverToolRow
	Secrets  []serverSecretRow
	Hosts    []serverHostRow
	Packages []serverPackageRow
	Sources  []sourceRow

	// Discovery is the answer of a discovery (the tools to import);
	// SignedIn the notice of a completed OAuth sign-in.
	Discovery *sourceDiscovery
	SignedIn  string

	AddSecret serverSecretForm
	AddSource sourceForm
	AddHost   serverHostForm
	Settings  serverSettingsForm
	Delete    serverDeleteForm
}

// serverOverview is the Overview section.
type serverOverview struct {
	Calls24, Errors24 int
	// More24 says more calls happened than were counted.
	More24 bool
	Draft  int
	Rejct  int
}

// serverToolRow is one tool of the Tools section.
type serverToolRow struct {
	T           tools.Tool
	Exposed     string
	Status      string
	Versions    string // "v4 serving, v5 pending"
	ToggleNote  string // why the toggle is disabled
	LastCall    *time.Time
	Confirm     confirmDialog
	ToggleLabel string
}

// serverSecretRow is one secret of the Secrets section.
type serverSecretRow struct {
	S        secrets.Secret
	UsedBy   []string
	Key      string // the id-safe form of the name
	SetValue serverValueForm
	// Clear and Delete confirm Clear value and Delete.
	Clear, Delete confirmDialog
}

// serverValueForm is the Set value / Replace value dialog of one secret.
// It never holds a value (U3).
type serverValueForm struct {
	CSRF     string
	ServerID uuid.UUID
	Name     string
	Key      string
	HasValue bool
	Error    string
	Open     bool
}

// serverSecretForm is the Add secret dialog.
type serverSecretForm struct {
	CSRF              string
	ServerID          uuid.UUID
	Key, Description  field
	Problems          formProblems
	Open              bool
	KeyPattern        string
	KeyMessage        string
	DescriptionLength string
}

// serverHostRow is one approved host of the Allowed hosts section.
type serverHostRow struct {
	R       approvals.Request
	Target  string
	Port    string
	Source  string
	UsedBy  []string
	Confirm confirmDialog
}

// serverHostForm is the inline Add host form.
type serverHostForm struct {
	Host     field
	Problems formProblems
}

// serverPackageRow is one approved package of the Packages section.
type serverPackageRow struct {
	R       approvals.Request
	Confirm confirmDialog
}

// serverSettingsForm is the Settings section's name and description form.
type serverSettingsForm struct {
	Name, Description field
	Problems          formProblems
}

// serverDeleteForm is the Delete server dialog.
type serverDeleteForm struct {
	Name     field
	Problems formProblems
	Open     bool
	Secrets  int
}

// serverDetailPage is GET /servers/{id}?tab=&cursor=.
func (h *handler) serverDetailPage(w http.ResponseWriter, r *http.Request, st *state) error {
	id, ok := serverIDOf(r)
	if !ok {
		return h.notFound(w, r, st)
	}
	return h.serverDetailRender(w, r, st, id, r.URL.Query().Get("tab"), http.StatusOK, nil)
}

// serverDetailRender builds the page of one section and renders it;
// adjust (may be nil) sets form state and problems. It answers 404 for an
// unknown server.
func (h *handler) serverDetailRender(w http.ResponseWriter, r *http.Request, st *state, id uuid.UUID, tab string, status int,
	adjust func(*serverDetail),
) error {
	d, err := h.serverDetailData(r, st, id, tab)
	if errors.Is(err, servers.ErrNotFound) {
		return h.notFound(w, r, st)
	} else if err != nil {
		return err
	}
	if adjust != nil {
		adjust(&d)
	}
	return h.render(w, r, st, page{
		Status: status, Name: "servers_detail", Title: d.S.Name + " · " + d.TabName, Nav: navServers, Data: d,
	})
}

// serverDetailData reads a server and the data of one section.
func (h *handler) serverDetailData(r *http.Request, st *state, id uuid.UUID, tab string) (serverDetail, error) {
	ctx := r.Context()
	s, err := h.d.Servers.Get(ctx, id)
	if err != nil {
		return serverDetail{}, err
	}
	if !slices.ContainsFunc(serverTabs(), func(o serversOption) bool { return o.Value == tab }) {
		tab = "overview"
	}
	pol, err := h.networkPolicy(ctx)
	if err != nil {
		return serverDetail{}, err
	}
	c, err := h.serverCountsOf(ctx, s, pol)
	if err != nil {
		return serverDetail{}, err
	}
	d := serverDetail{CSRF: st.csrf, S: s, Header: newServerCard(st, s, c, "detail"), Tab: tab}
	base := "/servers/" + id.String()
	for _, o := range serverTabs() {
		d.Tabs = append(d.Tabs, serverTab{Key: o.Value, Label: o.Label, Href: base + "?tab=" + o.Value, Current: o.Value == tab})
		if o.Value == tab {
			d.TabName = o.Label
		}
	}
	d.AddSecret = newSecretForm(st, id)
	d.Settings.Name.Value, d.Settings.Description.Value = s.Name, s.Description
	cursor := r.URL.Query().Get("cursor")
	if r.Method != http.MethodGet {
		cursor = ""
	}
	// The tools of the server (first serversCountLimit): the overview's
	// counts and the secrets and hosts sections' "used by" columns.
	all, err := h.d.Tools.List(ctx, id, tools.Filter{}, serversCountLimit, "")
	if err != nil {
		return serverDetail{}, err
	}
	next := ""
	switch tab {
	case "overview":
		for _, t := range all.Items {
			switch t.ReviewStatus {
			case proto.ReviewDraft:
				d.Overview.Draft++
			case proto.ReviewRejected:
				d.Overview.Rejct++
			}
		}
		since := time.Now().Add(-24 * time.Hour)
		ep, err := h.d.Executions.List(ctx, executions.Filter{ServerID: &id, Since: &since}, serversCountLimit, "")
		if err != nil {
			return serverDetail{}, err
		}
		d.Overview.Calls24, d.Overview.More24 = len(ep.Items), ep.NextCursor != ""
		for _, e := range ep.Items {
			if !e.Success {
				d.Overview.Errors24++
			}
		}
	case "tools":
		tp, err := h.d.Tools.List(ctx, id, tools.Filter{}, serversPageSize, cursor)
		if err != nil {
			return serverDetail{}, pageErr(err)
		}
		next = tp.NextCursor
		for _, t := range tp.Items {
			row, err := h.toolRow(r, s, t)
			if err != nil {
				return serverDetail{}, err
			}
			d.Tools = append(d.Tools, row)
		}
	case "secrets":
		sp, err := h.d.Secrets.List(ctx, id, serversPageSize, cursor)
		if err != nil {
			return serverDetail{}, pageErr(err)
		}
		next = sp.NextCursor
		for _, sec := range sp.Items {
			row := serverSecretRow{S: sec, Key: sec.Name, SetValue: serverValueForm{
				CSRF: st.csrf, ServerID: id, Name: sec.Name, Key: sec.Name, HasValue: sec.HasValue(),
			}}
			for _, t := range all.Items {
				if slices.Contains(t.Latest.Manifest.Secrets, sec.Name) {
					row.UsedBy = append(row.UsedBy, s.Name+"__"+t.Name)
				}
			}
			users := confirmDialog{
				ListIntro: "These tools name it in their manifests and will fail until a value is set:",
				Affected:  row.UsedBy, None: "No tool names it in its manifest.",
			}
			row.Clear, row.Delete = users, users
			row.Clear.ID, row.Clear.Title, row.Clear.Verb = "confirm-clear-"+row.Key, "Clear the value of "+sec.Name+"?", "Clear value"
			row.Clear.Say = []string{"The key stays; its value is erased and cannot be recovered."}
			row.Delete.ID, row.Delete.Title, row.Delete.Verb = "confirm-delete-"+row.Key, "Delete secret "+sec.Name+"?", "Delete secret"
			row.Delete.Say = []string{"The key and its value are deleted. This cannot be undone."}
			d.Secrets = append(d.Secrets, row)
		}
	case "hosts", "packages":
		kind := approvals.KindNetwork
		if tab == "packages" {
			kind = approvals.KindPackage
		}
		rp, err := h.d.Approvals.ListRequests(ctx, kind, approvals.RequestFilter{Status: approvals.StatusApproved, ServerID: &id},
			serversPageSize, cursor)
		if err != nil {
			return serverDetail{}, pageErr(err)
		}
		next = rp.NextCursor
		for _, req := range rp.Items {
			if kind == approvals.KindPackage {
				d.Packages = append(d.Packages, serverPackageRow{R: req, Confirm: confirmDialog{
					ID: "confirm-revoke-" + req.ID.String(), Title: "Revoke package " + req.Package + "?", Verb: "Revoke package",
					Say: []string{"Package approvals are global: every server loses " + req.Package +
						", and the approval of each tool that imports it is revoked."},
				}})
				continue
			}
			d.Hosts = append(d.Hosts, hostRow(s, req, all.Items))
		}
	case "sources":
		if next, err = h.sourcesSection(r, st, &d, all.Items, cursor); err != nil {
			return serverDetail{}, err
		}
	case "settings":
		sp, err := h.d.Secrets.List(ctx, id, serversCountLimit, "")
		if err != nil {
			return serverDetail{}, err
		}
		d.Delete.Secrets = len(sp.Items)
	}
	q := url.Values{"tab": {tab}}
	if next != "" {
		q.Set("cursor", next)
		d.NextHref = base + "?" + q.Encode()
	}
	if cursor != "" {
		d.FirstHref = base + "?tab=" + tab
	}
	return d, nil
}

// pageErr turns a bad cursor into a not-found: the address names no page.
func pageErr(err error) error {
	var rule *proto.RuleError
	if errors.As(err, &rule) {
		return servers.ErrNotFound
	}
	return err
}

// toolRow is a tool of the Tools section, with its last call.
func (h *handler) toolRow(r *http.Request, s servers.Server, t tools.Tool) (serverToolRow, error) {
	row := serverToolRow{T: t, Exposed: s.Name + "__" + t.Name}
	row.Confirm = confirmDialog{
		ID: "confirm-tool-delete-" + t.ID.String(), Title: "Delete tool " + row.Exposed + "?", Verb: "Delete tool",
		Say: []string{"The tool and all its versions are deleted and clients can no longer call it. " +
			"Its history stays in the audit log. This cannot be undone."},
	}
	row.Status = map[proto.ReviewStatus]string{
		proto.ReviewDraft: "Draft", proto.ReviewPendingReview: "Pending review", proto.ReviewApproved: "Approved",
		proto.ReviewRejected: "Rejected",
	}[t.ReviewStatus]
	if t.ApprovedVersion != nil && t.LatestVersion > *t.ApprovedVersion && t.ReviewStatus == proto.ReviewPendingReview {
		row.Versions = "v" + strconv.Itoa(*t.ApprovedVersion) + " serving, v" + strconv.Itoa(t.LatestVersion) + " pending"
	}
	if t.ApprovedVersion == nil {
		row.ToggleNote = "Can be enabled once a version is approved."
	}
	row.ToggleLabel = "Enabled"
	id := t.ID
	ep, err := h.d.Executions.List(r.Context(), executions.Filter{ToolID: &id}, 1, "")
	if err != nil {
		return row, err
	}
	if len(ep.Items) > 0 {
		row.LastCall = &ep.Items[0].StartedAt
	}
	return row, nil
}

// hostRow is an approved network request with the tools whose manifests
// name its host.
func hostRow(s servers.Server, req approvals.Request, all []tools.Tool) serverHostRow {
	row := serverHostRow{R: req, Target: req.Host, Port: "any", Source: "Added by admin"}
	if req.Port != nil {
		row.Port = strconv.Itoa(*req.Port)
		row.Target = req.Host + ":" + row.Port
	}
	if req.ToolName != nil {
		row.Source = "Approved request from " + s.Name + "__" + *req.ToolName
	}
	for _, t := range all {
		for _, mh := range t.Latest.Manifest.Hosts {
			host, _ := proto.SplitNormalizedHost(mh)
			if strings.EqualFold(host, req.Host) {
				row.UsedBy = append(row.UsedBy, s.Name+"__"+t.Name)
				break
			}
		}
	}
	row.Confirm = confirmDialog{
		ID: "confirm-host-remove-" + req.ID.String(), Title: "Remove host " + row.Target + "?", Verb: "Remove host",
		Say:       []string{"The grant is revoked and deleted; tools of this server can no longer reach " + row.Target + "."},
		ListIntro: "These tools name the host; the approval of each that needs it is revoked:",
		Affected:  row.UsedBy, None: "No tool names this host.",
	}
	return row
}
