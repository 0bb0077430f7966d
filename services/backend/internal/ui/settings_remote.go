package ui

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/executions"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
	"github.com/mcpbox/mcpbox/services/backend/internal/remoteaccess"
)

// Messages of the remote access page.
const (
	msgRemoteSaved     = "Remote access settings saved."
	msgAllowlistSaved  = "Who may connect was saved."
	msgCheckRunning    = "A check is already running. Wait for it to finish; its result will show here."
	msgCheckNoURL      = "Save a public base URL first; the check probes it."
	msgAllowlistValues = "values: list one address or domain per line."
)

// errNotWired is a page whose services Deps lacks (a test harness that
// wires only some): the 500 page, never a panic.
var errNotWired = errors.New("ui: a service this page needs is not in Deps")

// remotePage is the data of /remote-access (admin-ui.md §11.10).
type remotePage struct {
	Revision int64
	Watch    staleView
	// Stale: a save was refused because the settings changed elsewhere.
	Stale bool
	// Saved settings and the form (with the submitted values after a
	// refused save).
	Configured                    bool
	PublicURL, Issuer, Audience   field
	DefaultAudience               string
	MCPURL, PRMURL, ClaudeCommand string
	Config                        formProblems
	// Who may connect.
	Mode, SavedMode string
	Values          field
	Allow           formProblems
	RemoteEditing   string
	// Status.
	LastCall *executions.Record
	Calls24h int64
	Check    *remoteaccess.Result
	// CheckProblem is the refusal of a Run (already running, no URL).
	CheckProblem string
}

// remoteShow is GET /remote-access.
func (h *handler) remoteShow(w http.ResponseWriter, r *http.Request, st *state) error {
	p, err := h.remoteData(r)
	if err != nil {
		return err
	}
	return h.renderRemote(w, r, st, http.StatusOK, p)
}

// remoteData reads everything the page shows, at the current revision.
func (h *handler) remoteData(r *http.Request) (*remotePage, error) {
	ctx := r.Context()
	if h.d.RemoteAccess == nil || h.d.Executions == nil {
		return nil, errNotWired
	}
	cfg, err := h.d.RemoteAccess.Get(ctx)
	if err != nil {
		return nil, err
	}
	pol, _, err := h.d.Policy.Get(ctx)
	if err != nil {
		return nil, err
	}
	p := &remotePage{
		Revision: cfg.Revision, Watch: staleView{Revision: cfg.Revision, From: "remote-access"},
		Configured: cfg.PublicURL != "", PublicURL: field{Value: cfg.PublicURL}, Issuer: field{Value: cfg.ExpectedIssuer},
		Mode: pol.RemoteEmailAllowlist.Mode, SavedMode: pol.RemoteEmailAllowlist.Mode,
		Values:        field{Value: strings.Join(pol.RemoteEmailAllowlist.Values, "\n")},
		RemoteEditing: pol.RemoteToolEditing,
	}
	if cfg.PublicURL != "" {
		p.DefaultAudience = cfg.PublicURL + proto.PathMCP
		p.MCPURL = cfg.PublicURL + proto.PathMCP
		p.PRMURL = cfg.PublicURL + proto.PathProtectedResourceMCP
		p.ClaudeCommand = "claude mcp add --transport http mcpbox " + p.MCPURL
		if cfg.ExpectedAudience != p.DefaultAudience {
			p.Audience.Value = cfg.ExpectedAudience
		}
	}
	page, err := h.d.Executions.List(ctx, executions.Filter{CallerKind: proto.CallerRemote}, 1, "")
	if err != nil {
		return nil, err
	}
	if len(page.Items) > 0 {
		p.LastCall = &page.Items[0]
	}
	stats, err := h.d.Executions.Stats(ctx, "24h")
	if err != nil {
		return nil, err
	}
	p.Calls24h = stats.ExecutionsRemote
	if p.Check, err = h.d.RemoteAccess.Last(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

func (h *handler) renderRemote(w http.ResponseWriter, r *http.Request, st *state, status int, p *remotePage) error {
	return h.render(w, r, st, page{Status: status, Name: "settings_remote", Title: "Remote access", Nav: navRemote, Data: p, Fragment: "settings-remote-body"})
}

// revisionOf reads the form's revision; ok is false when it is missing
// or malformed.
func revisionOf(r *http.Request) (int64, bool) {
	n, err := strconv.ParseInt(r.PostFormValue("revision"), 10, 64)
	return n, err == nil && n >= 0
}

// remoteConfigSave is POST /remote-access/config (twin: PATCH
// /api/v1/settings/remote-access): the public base URL, expected issuer
// and audience ("" = the default).
func (h *handler) remoteConfigSave(w http.ResponseWriter, r *http.Request, st *state) error {
	ctx := r.Context()
	if h.d.RemoteAccess == nil {
		return errNotWired
	}
	url, issuer, audience := strings.TrimSpace(r.PostFormValue("public_url")), strings.TrimSpace(r.PostFormValue("expected_issuer")), strings.TrimSpace(r.PostFormValue("expected_audience"))
	change := remoteaccess.Change{PublicURL: &url, ExpectedIssuer: &issuer, ExpectedAudience: &audience}
	if rev, ok := revisionOf(r); ok {
		change.Revision = &rev
	}
	_, err := h.d.RemoteAccess.Patch(ctx, st.p.Actor(), st.reqID, change)
	var vc *remoteaccess.VersionChangedError
	var rule *proto.RuleError
	failed := func(status int, fill func(p *remotePage)) error {
		p, derr := h.remoteData(r)
		if derr != nil {
			return derr
		}
		p.PublicURL.Value, p.Issuer.Value, p.Audience.Value = url, issuer, audience
		if change.Revision != nil {
			p.Revision = *change.Revision
		}
		fill(p)
		return h.renderRemote(w, r, st, status, p)
	}
	switch {
	case errors.As(err, &vc):
		return failed(http.StatusConflict, func(p *remotePage) { p.Stale = true })
	case errors.As(err, &rule):
		return failed(http.StatusUnprocessableEntity, func(p *remotePage) {
			for _, fe := range proto.FieldErrors(err) {
				switch fe.Field {
				case remoteaccess.FieldPublicURL:
					p.Config.add(&p.PublicURL, "remote-public-url", fe.Field+": "+fe.Message)
				case remoteaccess.FieldExpectedIssuer:
					p.Config.add(&p.Issuer, "remote-issuer", fe.Field+": "+fe.Message)
				case remoteaccess.FieldExpectedAudience:
					p.Config.add(&p.Audience, "remote-audience", fe.Field+": "+fe.Message)
				default:
					p.Config.Problem = fe.Message
				}
			}
		})
	case err != nil:
		return err
	}
	return h.remoteDone(w, r, st, msgRemoteSaved)
}

// remoteDone answers a successful change: the page (htmx: its body with a
// toast), else 303 to it.
func (h *handler) remoteDone(w http.ResponseWriter, r *http.Request, st *state, msg string) error {
	if !st.htmx {
		h.redirect(w, r, st, "/remote-access")
		return nil
	}
	p, err := h.remoteData(r)
	if err != nil {
		return err
	}
	toast(w, "info", msg, "")
	return h.renderRemote(w, r, st, http.StatusOK, p)
}

// remoteAllowlistSave is POST /remote-access/allowlist (twin: PATCH
// /api/v1/settings/security-policy with remote_email_allowlist): mode
// emails, email_domain or everyone, and the values one per line.
func (h *handler) remoteAllowlistSave(w http.ResponseWriter, r *http.Request, st *state) error {
	mode := r.PostFormValue("mode")
	raw := r.PostFormValue("values")
	values := []string{}
	if mode != string(proto.AllowEveryone) {
		for line := range strings.Lines(raw) {
			if v := strings.TrimSpace(line); v != "" {
				values = append(values, v)
			}
		}
	}
	body, err := json.Marshal(policy.EmailAllowlist{Mode: mode, Values: values})
	if err != nil {
		return err
	}
	var seen *int64
	if rev, ok := revisionOf(r); ok {
		seen = &rev
	}
	_, err = h.d.Policy.Patch(r.Context(), st.p.Actor(), st.reqID, map[string]json.RawMessage{string(proto.SettingRemoteEmailAllowlist): body}, seen)
	var vc *policy.VersionChangedError
	failed := func(status int, fill func(p *remotePage)) error {
		p, derr := h.remoteData(r)
		if derr != nil {
			return derr
		}
		p.Mode, p.Values.Value = mode, raw
		if seen != nil {
			p.Revision = *seen
		}
		fill(p)
		return h.renderRemote(w, r, st, status, p)
	}
	switch {
	case errors.As(err, &vc):
		return failed(http.StatusConflict, func(p *remotePage) { p.Stale = true })
	case len(policy.FieldErrors(err)) > 0:
		return failed(http.StatusUnprocessableEntity, func(p *remotePage) {
			for _, fe := range policy.FieldErrors(err) {
				if strings.HasSuffix(fe.Field, ".mode") {
					p.Allow.add(&p.Values, "remote-mode-emails", fe.Message)
					continue
				}
				p.Allow.add(&p.Values, "remote-values", allowlistMessage(fe, values))
			}
		})
	case err != nil:
		return err
	}
	return h.remoteDone(w, r, st, msgAllowlistSaved)
}

// allowlistMessage names the line of a bad value: the policy's message
// speaks of values[i].
func allowlistMessage(fe *policy.FieldError, values []string) string {
	_, idx, ok := strings.Cut(fe.Field, "values[")
	if !ok {
		return fe.Message
	}
	n, err := strconv.Atoi(strings.TrimSuffix(idx, "]"))
	if err != nil || n < 0 || n >= len(values) {
		return fe.Message
	}
	return "Line " + strconv.Itoa(n+1) + " (" + values[n] + "): " + fe.Message
}

// remoteSelfCheck is POST /remote-access/self-check (twin: POST
// /api/v1/settings/remote-access/self-check): the connectivity check of
// §11.11, one at a time per installation, its result stored.
func (h *handler) remoteSelfCheck(w http.ResponseWriter, r *http.Request, st *state) error {
	if h.d.RemoteAccess == nil {
		return errNotWired
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(longWrite))
	rep := h.newProgress(r.Context(), st, activity.OpSelfCheck)
	_, err := h.d.RemoteAccess.Run(r.Context(), st.p.Actor(), st.reqID, rep.Report)
	rep.Finish()
	problem := ""
	switch {
	case errors.Is(err, remoteaccess.ErrCheckRunning):
		problem = msgCheckRunning
	case errors.Is(err, remoteaccess.ErrNoPublicURL):
		problem = msgCheckNoURL
	case err != nil:
		return err
	}
	if problem == "" && !st.htmx {
		h.redirect(w, r, st, "/remote-access")
		return nil
	}
	p, err := h.remoteData(r)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if problem != "" {
		p.CheckProblem, status = problem, http.StatusConflict
	} else {
		toast(w, "info", "The self-check finished.", "")
	}
	return h.renderRemote(w, r, st, status, p)
}
