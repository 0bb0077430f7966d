package ui

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/oauthflow"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
	"github.com/mcpbox/mcpbox/services/backend/internal/sources"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
)

// The mutations of the Sources section (admin-ui.md §11.3): each calls the
// service function of its /api/v1 twin and maps its errors as the twin
// does; they answer as the other sections' mutations (sectionDone,
// sectionFail).

func sourcesAudit(st *state) sources.Audit {
	return sources.Audit{Actor: st.p.Actor(), RequestID: st.reqID}
}

// sourceOf reads the {src} path value and checks the source belongs to the
// server of the path.
func (h *handler) sourceOf(r *http.Request, server uuid.UUID) (sources.Source, bool, error) {
	return childOf(r, "src", server, h.d.Sources.Get, sources.ErrNotFound, func(s sources.Source) uuid.UUID { return s.ServerID })
}

// sourceTarget reads the server and the source of a source mutation's
// path; ok is false once the answer (404) is written.
func (h *handler) sourceTarget(w http.ResponseWriter, r *http.Request, st *state) (uuid.UUID, sources.Source, bool, error) {
	id, ok := serverIDOf(r)
	if !ok {
		return uuid.Nil, sources.Source{}, false, h.notFound(w, r, st)
	}
	src, ok, err := h.sourceOf(r, id)
	if err != nil {
		return uuid.Nil, sources.Source{}, false, err
	} else if !ok {
		return uuid.Nil, sources.Source{}, false, h.notFound(w, r, st)
	}
	return id, src, true, nil
}

// sourcesProblem is the status and message of a refusal of the sources and
// OAuth services, as their twins map them (backend.md §15.1); ok is false
// for any other error.
func sourcesProblem(err error) (status int, msg string, ok bool) {
	var (
		invalid  *sources.InvalidStateError
		taken    *sources.NameTakenError
		deps     *sources.HasDependentsError
		failed   *sources.DiscoveryFailedError
		missing  *sources.SecretMissingError
		auth     *sources.AuthFailedError
		quota    *tools.QuotaError
		notOAuth *oauthflow.NotOAuthError
		unusable *oauthflow.UnusableError
		upstream *oauthflow.UpstreamError
		sandbox  *sandboxclient.Error
		rule     *proto.RuleError
	)
	switch {
	case errors.As(err, &invalid):
		return http.StatusConflict, invalid.Message, true
	case errors.As(err, &taken):
		return http.StatusConflict, taken.Error(), true
	case errors.As(err, &deps):
		return http.StatusConflict, deps.Error(), true
	case errors.As(err, &failed):
		return http.StatusBadGateway, failed.Error(), true
	case errors.As(err, &missing):
		return http.StatusConflict, missing.Error(), true
	case errors.As(err, &auth):
		return http.StatusConflict, auth.Error(), true
	case errors.As(err, &quota):
		return http.StatusConflict, quota.Error(), true
	case errors.As(err, &notOAuth):
		return http.StatusUnprocessableEntity, "auth_type: " + notOAuth.Error(), true
	case errors.As(err, &unusable):
		return http.StatusConflict, unusable.Error(), true
	case errors.Is(err, oauthflow.ErrStateInvalid):
		return http.StatusBadRequest, msgStateInvalid, true
	case errors.As(err, &upstream):
		return http.StatusBadGateway, upstream.Message, true
	case errors.As(err, &sandbox):
		return http.StatusServiceUnavailable, "The sandbox could not reach the source: " + sandbox.Message() + " Try again.", true
	case errors.As(err, &rule):
		return http.StatusUnprocessableEntity, rule.Error(), true
	}
	return 0, "", false
}

// sourcesError answers a service error of a source mutation: not found
// (404), a refusal (its status, the message above the section), else 500.
func (h *handler) sourcesError(w http.ResponseWriter, r *http.Request, st *state, id uuid.UUID, err error) error {
	if errors.Is(err, sources.ErrNotFound) || errors.Is(err, sources.ErrServerNotFound) || errors.Is(err, oauthflow.ErrSourceNotFound) {
		return h.notFound(w, r, st)
	}
	if status, msg, ok := sourcesProblem(err); ok {
		if st.htmx && status >= http.StatusInternalServerError {
			// htmx swaps no 5xx answer (the layout's responseHandling):
			// the message goes to the alert region.
			toast(w, "error", msg, st.reqID)
		}
		return h.sectionFail(w, r, st, id, "sources", status, func(d *serverDetail) { d.Problem = msg })
	}
	return err
}

// sourceCreate is POST /servers/{id}/sources (name, url, auth_type,
// auth_secret_name, auth_header_name), the twin of POST
// /api/v1/servers/{id}/external-sources. The secret and header names are
// sent only for the auth types that take them.
func (h *handler) sourceCreate(w http.ResponseWriter, r *http.Request, st *state) error {
	id, ok := serverIDOf(r)
	if !ok {
		return h.notFound(w, r, st)
	}
	names, err := h.secretNames(r, id)
	if err != nil {
		return h.sourcesError(w, r, st, id, pageErr(err))
	}
	f := newSourceForm(st, id, names)
	f.Name.Value = strings.TrimSpace(r.PostFormValue("name"))
	f.URL.Value = strings.TrimSpace(r.PostFormValue("url"))
	f.Auth.Value = r.PostFormValue("auth_type")
	f.Secret.Value = r.PostFormValue("auth_secret_name")
	f.Header.Value = strings.TrimSpace(r.PostFormValue("auth_header_name"))
	in := sources.Input{Name: f.Name.Value, URL: f.URL.Value, AuthType: f.Auth.Value}
	switch proto.SourceAuthType(f.Auth.Value) {
	case proto.AuthBearer, proto.AuthHeader:
		if f.Secret.Value != "" {
			in.AuthSecretName = &f.Secret.Value
		}
		if f.Auth.Value == string(proto.AuthHeader) && f.Header.Value != "" {
			in.AuthHeaderName = &f.Header.Value
		}
	}
	src, err := h.d.Sources.Create(r.Context(), sourcesAudit(st), id, in, "transport")
	if err == nil {
		next := " Discover its tools next."
		if src.AuthType == proto.AuthOAuth {
			next = " Authenticate it next."
		}
		return h.sectionDone(w, r, st, id, "sources", "Source "+src.Name+" added."+next)
	}
	var taken *sources.NameTakenError
	status := http.StatusUnprocessableEntity
	switch {
	case errors.As(err, &taken):
		status = http.StatusConflict
		f.Problems.add(&f.Name, "source-name", taken.Error())
	case f.Problems.addRules(err,
		control{"name", "source-name", "Name", &f.Name},
		control{"url", "source-url", "URL", &f.URL},
		control{"auth_type", "source-auth", "Authentication", &f.Auth},
		control{"auth_secret_name", "source-secret", "Secret", &f.Secret},
		control{"auth_header_name", "source-header", "Header name", &f.Header}):
	default:
		return h.sourcesError(w, r, st, id, err)
	}
	f.Open = true
	if st.htmx {
		return h.render(w, r, st, page{
			Status: status, Name: "servers_detail", Title: "Add source", Nav: navServers, Data: f, Fragment: "sources-add-fragment",
		})
	}
	return h.serverDetailRender(w, r, st, id, "sources", status, func(d *serverDetail) { d.AddSource = f })
}

// sourceRename is POST /servers/{id}/sources/{src}/rename (name), the twin
// of PATCH /api/v1/external-sources/{id} with a name. A refused name
// reopens the row's dialog with the error at the field.
func (h *handler) sourceRename(w http.ResponseWriter, r *http.Request, st *state) error {
	id, src, ok, err := h.sourceTarget(w, r, st)
	if !ok {
		return err
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	renamed, err := h.d.Sources.Update(r.Context(), sourcesAudit(st), src.ID, sources.Patch{Name: &name})
	if err == nil {
		return h.sectionDone(w, r, st, id, "sources", "Source "+src.Name+" renamed to "+renamed.Name+".")
	}
	f := sourceRename{Name: field{Value: name}, Open: true}
	fieldID := "rename-source-" + src.ID.String() + "-name"
	var taken *sources.NameTakenError
	status := http.StatusUnprocessableEntity
	switch {
	case errors.As(err, &taken):
		status = http.StatusConflict
		f.Problems.add(&f.Name, fieldID, taken.Error())
	case f.Problems.addRules(err, control{"name", fieldID, "Name", &f.Name}):
	default:
		return h.sourcesError(w, r, st, id, err)
	}
	return h.sectionFail(w, r, st, id, "sources", status, func(d *serverDetail) {
		for i := range d.Sources {
			if d.Sources[i].S.ID == src.ID {
				d.Sources[i].Rename = f
			}
		}
	})
}

// sourceDiscover is POST /servers/{id}/sources/{src}/discover, the twin of
// POST /api/v1/external-sources/{id}/discover (a long action): the section
// with the remote tools to import.
func (h *handler) sourceDiscover(w http.ResponseWriter, r *http.Request, st *state) error {
	id, src, ok, err := h.sourceTarget(w, r, st)
	if !ok {
		return err
	}
	done := h.longAction(w, r, st, activity.OpDiscover)
	d, err := h.d.Sources.Discover(r.Context(), sourcesAudit(st), src.ID)
	done()
	if err != nil {
		return h.sourcesError(w, r, st, id, err)
	}
	if st.htmx {
		toast(w, "info", "Discovered "+serversPlural(len(d.Tools), "tool", "tools")+" of "+d.Source.Name+".", "")
	}
	return h.sectionFail(w, r, st, id, "sources", http.StatusOK, func(sd *serverDetail) {
		sd.Discovery = discoveryOf(st, sd.S.Name, d)
	})
}

// sourceImport is POST /servers/{id}/sources/{src}/import (tool, once per
// chosen remote tool), the twin of POST
// /api/v1/external-sources/{id}/import: the tools are created approved.
func (h *handler) sourceImport(w http.ResponseWriter, r *http.Request, st *state) error {
	id, src, ok, err := h.sourceTarget(w, r, st)
	if !ok {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return err
	}
	names := r.PostForm["tool"]
	if len(names) == 0 {
		return h.sectionFail(w, r, st, id, "sources", http.StatusUnprocessableEntity, func(d *serverDetail) {
			d.Problem = "tool_names: choose at least one tool to import from " + src.Name + "; run Discover tools again to see them."
		})
	}
	res, err := h.d.Sources.Import(r.Context(), sourcesAudit(st), src.ID, names)
	if err != nil {
		return h.sourcesError(w, r, st, id, err)
	}
	// Skipped: the discovered tools not imported now, chosen or not.
	skipped := max(res.Source.DiscoveredToolCount-len(res.Imported), len(res.Skipped))
	return h.sectionDone(w, r, st, id, "sources",
		serversPlural(len(res.Imported), "tool", "tools")+" imported, "+strconv.Itoa(skipped)+" skipped.")
}

// sourceDelete is POST /servers/{id}/sources/{src}/delete, the twin of
// DELETE /api/v1/external-sources/{id}?delete_tools=true: the source goes
// with its imported tools, as its confirmation says.
func (h *handler) sourceDelete(w http.ResponseWriter, r *http.Request, st *state) error {
	id, src, ok, err := h.sourceTarget(w, r, st)
	if !ok {
		return err
	}
	n, err := h.d.Sources.Delete(r.Context(), sourcesAudit(st), src.ID, true)
	if err != nil {
		return h.sourcesError(w, r, st, id, err)
	}
	msg := "Source " + src.Name + " deleted."
	if n > 0 {
		msg = "Source " + src.Name + " deleted with " + serversPlural(n, "imported tool", "imported tools") + "."
	}
	return h.sectionDone(w, r, st, id, "sources", msg)
}
