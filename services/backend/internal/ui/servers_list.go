package ui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/executions"
	"github.com/mcpbox/mcpbox/services/backend/internal/servers"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
)

// serversPageSize is the page size of the servers list and of each server
// section (admin-ui.md §11.2).
const serversPageSize = 50

// serversCountLimit bounds the tools read to count a server's tools by
// status (the largest page of tools.List).
const serversCountLimit = 200

// serverCounts are what a card and the detail header show about a server.
type serverCounts struct {
	Tools, Approved, Pending, Live int
	// More says the server has more tools than were counted.
	More     bool
	Sources  int
	Network  string // "No network", "3 hosts", "Any public host"
	LastCall *time.Time
}

// serverCard is one server of the list (and the detail header's data).
type serverCard struct {
	CSRF string
	S    servers.Server
	C    serverCounts
	// StartReason says why Start is disabled ("" when it is not).
	StartReason string
	// Error is an inline failure of Start or Stop.
	Error string
	// View is "card" (the list) or "detail" (the detail header).
	View string
}

// serversListPage is the data of /servers.
type serversListPage struct {
	Q, Status     string
	Cursor, Next  string
	Cards         []serverCard
	Problem       string
	NextHref      string
	FirstHref     string
	FilterActive  bool
	StatusOptions []serversOption
}

// serversOption is one choice of a select.
type serversOption struct{ Value, Label string }

// serversList is GET /servers?q=&status=&cursor=: search, status filter,
// cursor pages of 50; htmx gets the results region.
func (h *handler) serversList(w http.ResponseWriter, r *http.Request, st *state) error {
	return h.serversListAs(w, r, st, "servers-results")
}

// serversListAs renders the list; htmx gets the fragment named.
func (h *handler) serversListAs(w http.ResponseWriter, r *http.Request, st *state, fragment string) error {
	q := r.URL.Query()
	f := servers.Filter{Q: strings.TrimSpace(q.Get("q")), Status: q.Get("status")}
	data := serversListPage{Q: f.Q, Status: f.Status, Cursor: q.Get("cursor"), StatusOptions: []serversOption{
		{"", "Any status"}, {string(proto.ServerRunning), "Running"}, {string(proto.ServerStopped), "Stopped"},
	}}
	status := http.StatusOK
	data.FilterActive = f.Q != "" || f.Status != ""
	pg, err := h.d.Servers.List(r.Context(), f, serversPageSize, data.Cursor)
	var rule *proto.RuleError
	switch {
	case errors.As(err, &rule):
		status = http.StatusUnprocessableEntity
		data.Problem = "This list address is not valid (" + rule.Error() + "). Clear the filters and try again."
	case err != nil:
		return err
	}
	pol, err := h.networkPolicy(r.Context())
	if err != nil {
		return err
	}
	for _, s := range pg.Items {
		c, err := h.serverCountsOf(r.Context(), s, pol)
		if err != nil {
			return err
		}
		data.Cards = append(data.Cards, newServerCard(st, s, c, "card"))
	}
	if pg.NextCursor != "" {
		data.NextHref = serversHref(f, pg.NextCursor)
	}
	if data.Cursor != "" {
		data.FirstHref = serversHref(f, "")
	}
	return h.render(w, r, st, page{
		Status: status, Name: "servers", Title: "Servers", Nav: navServers, Data: data, Fragment: fragment,
	})
}

// serversHref is the list's URL for a filter and cursor.
func serversHref(f servers.Filter, cursor string) string {
	v := url.Values{}
	if f.Q != "" {
		v.Set("q", f.Q)
	}
	if f.Status != "" {
		v.Set("status", f.Status)
	}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	if len(v) == 0 {
		return "/servers"
	}
	return "/servers?" + v.Encode()
}

// newServerCard builds a card, with Start's reason when it is disabled.
func newServerCard(st *state, s servers.Server, c serverCounts, view string) serverCard {
	card := serverCard{CSRF: st.csrf, S: s, C: c, View: view}
	if s.Status != proto.ServerRunning && c.Live == 0 {
		card.StartReason = "Start needs at least one approved and enabled tool."
	}
	return card
}

// networkPolicy reports whether the installation lets tools reach any
// public host.
func (h *handler) networkPolicy(ctx context.Context) (anyPublic bool, err error) {
	p, _, err := h.d.Policy.Get(ctx)
	if err != nil {
		return false, err
	}
	return p.NetworkAccessPolicy == string(proto.NetworkAllowAllPublic), nil
}

// serverCountsOf counts a server's tools by status (up to
// serversCountLimit of them), its external sources and reads its last
// call.
func (h *handler) serverCountsOf(ctx context.Context, s servers.Server, anyPublic bool) (serverCounts, error) {
	var c serverCounts
	tp, err := h.d.Tools.List(ctx, s.ID, tools.Filter{}, serversCountLimit, "")
	if err != nil {
		return c, err
	}
	c.Tools, c.More = s.ToolCount, tp.NextCursor != ""
	for _, t := range tp.Items {
		if t.ApprovedVersion != nil {
			c.Approved++
			if t.Enabled {
				c.Live++
			}
		}
		if t.ReviewStatus == proto.ReviewPendingReview {
			c.Pending++
		}
	}
	if h.d.Sources != nil {
		sp, err := h.d.Sources.List(ctx, s.ID, serversCountLimit, "")
		if err != nil {
			return c, err
		}
		c.Sources = len(sp.Items)
	}
	switch {
	case anyPublic:
		c.Network = "Any public host"
	case len(s.ApprovedHosts) == 0:
		c.Network = "No network"
	default:
		c.Network = serversPlural(len(s.ApprovedHosts), "host", "hosts")
	}
	id := s.ID
	ep, err := h.d.Executions.List(ctx, executions.Filter{ServerID: &id}, 1, "")
	if err != nil {
		return c, err
	}
	if len(ep.Items) > 0 {
		c.LastCall = &ep.Items[0].StartedAt
	}
	return c, nil
}

// serverStart and serverStop are POST /servers/{id}/start|stop: the card
// (or the detail header, view=detail) swapped in place for htmx, else 303
// back.
func (h *handler) serverStart(w http.ResponseWriter, r *http.Request, st *state) error {
	return h.serverSetStatus(w, r, st, true)
}

func (h *handler) serverStop(w http.ResponseWriter, r *http.Request, st *state) error {
	return h.serverSetStatus(w, r, st, false)
}

func (h *handler) serverSetStatus(w http.ResponseWriter, r *http.Request, st *state, start bool) error {
	id, ok := serverIDOf(r)
	if !ok {
		return h.notFound(w, r, st)
	}
	view := "card"
	if r.PostFormValue("view") == "detail" {
		view = "detail"
	}
	s, err := h.d.Servers.Get(r.Context(), id)
	if errors.Is(err, servers.ErrNotFound) {
		return h.notFound(w, r, st)
	} else if err != nil {
		return err
	}
	pol, err := h.networkPolicy(r.Context())
	if err != nil {
		return err
	}
	c, err := h.serverCountsOf(r.Context(), s, pol)
	if err != nil {
		return err
	}
	card := newServerCard(st, s, c, view)
	status := http.StatusOK
	msg := ""
	switch {
	case start && card.StartReason != "":
		status, card.Error = http.StatusConflict, card.StartReason
	default:
		op, verb := h.d.Servers.Stop, "stopped"
		if start {
			op, verb = h.d.Servers.Start, "started"
		}
		res, err := op(r.Context(), servers.Audit{Actor: st.p.Actor(), RequestID: st.reqID}, id)
		if errors.Is(err, servers.ErrNotFound) {
			return h.notFound(w, r, st)
		} else if err != nil {
			return err
		}
		card = newServerCard(st, res.Server, c, view)
		msg = "Server " + res.Server.Name + " " + verb + "."
	}
	if !st.htmx {
		if status != http.StatusOK {
			return h.serverDetailRender(w, r, st, id, "overview", status, func(d *serverDetail) { d.Header.Error = card.Error })
		}
		target := "/servers"
		if view == "detail" {
			target = "/servers/" + id.String()
		}
		h.redirect(w, r, st, target)
		return nil
	}
	if msg != "" {
		toast(w, "info", msg, "")
	}
	fragment := "servers-card-fragment"
	if view == "detail" {
		fragment = "servers-header-fragment"
	}
	return h.render(w, r, st, page{Status: status, Name: "servers", Title: "Servers", Nav: navServers, Data: card, Fragment: fragment})
}

// serverIDOf reads the {id} path value.
func serverIDOf(r *http.Request) (uuid.UUID, bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	return id, err == nil
}
