package ui

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/secrets"
	"github.com/mcpbox/mcpbox/services/backend/internal/servers"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
)

// The mutations of the server detail sections (admin-ui.md §11.3). Each
// calls the service function of its /api/v1 twin and maps its errors as
// the twin does: rule failures are field errors (422), state conflicts
// 409. A success answers htmx with the page's main content (retargeted to
// #main, so the header's counts follow) and a toast, any other request
// with 303 to the section.

// sectionDone answers a successful section mutation.
func (h *handler) sectionDone(w http.ResponseWriter, r *http.Request, st *state, id uuid.UUID, tab, msg string) error {
	if !st.htmx {
		h.redirect(w, r, st, "/servers/"+id.String()+"?tab="+tab)
		return nil
	}
	toast(w, "info", msg, "")
	w.Header().Set("HX-Retarget", "#main")
	w.Header().Set("HX-Reswap", "innerHTML")
	return h.serverDetailRender(w, r, st, id, tab, http.StatusOK, func(d *serverDetail) { d.Focus = true })
}

// sectionFail answers a refused section mutation with the section and its
// problem (or form errors set by adjust), retargeted to #main for htmx.
func (h *handler) sectionFail(w http.ResponseWriter, r *http.Request, st *state, id uuid.UUID, tab string, status int,
	adjust func(*serverDetail),
) error {
	if st.htmx {
		w.Header().Set("HX-Retarget", "#main")
		w.Header().Set("HX-Reswap", "innerHTML")
	}
	return h.serverDetailRender(w, r, st, id, tab, status, adjust)
}

// conflictOf reports a state conflict of the services as its message
// (the twins' 409s).
func conflictOf(err error) (string, bool) {
	var (
		ts *tools.InvalidStateError
		as *approvals.InvalidStateError
		ac *approvals.AlreadyCoveredError
		tt *tools.NameTakenError
		st *servers.NameTakenError
		se *secrets.AlreadyExistsError
	)
	switch {
	case errors.As(err, &ts):
		return ts.Message, true
	case errors.As(err, &as):
		return as.Message, true
	case errors.As(err, &ac):
		return ac.Message, true
	case errors.As(err, &tt):
		return tt.Error(), true
	case errors.As(err, &st):
		return "A server named '" + st.Name + "' already exists; pick another name.", true
	case errors.As(err, &se):
		return "This server already has a secret named " + se.Name + ".", true
	}
	return "", false
}

// notFoundErr reports the services' not-found errors.
func notFoundErr(err error) bool {
	return errors.Is(err, servers.ErrNotFound) || errors.Is(err, tools.ErrNotFound) || errors.Is(err, tools.ErrServerNotFound) ||
		errors.Is(err, secrets.ErrServerNotFound) || errors.Is(err, secrets.ErrSecretNotFound) ||
		errors.Is(err, approvals.ErrRequestNotFound) || errors.Is(err, approvals.ErrServerNotFound)
}

// sectionError answers a service error of a section mutation: not found
// (404), a conflict (409 with the message above the section), else 500.
func (h *handler) sectionError(w http.ResponseWriter, r *http.Request, st *state, id uuid.UUID, tab string, err error) error {
	if notFoundErr(err) {
		return h.notFound(w, r, st)
	}
	if msg, ok := conflictOf(err); ok {
		return h.sectionFail(w, r, st, id, tab, http.StatusConflict, func(d *serverDetail) { d.Problem = msg })
	}
	var rule *proto.RuleError
	if errors.As(err, &rule) {
		return h.sectionFail(w, r, st, id, tab, http.StatusUnprocessableEntity, func(d *serverDetail) { d.Problem = rule.Error() })
	}
	return err
}

// toolOf reads the {tool} path value and checks the tool belongs to the
// server of the path.
func (h *handler) toolOf(r *http.Request, server uuid.UUID) (tools.Tool, bool, error) {
	return childOf(r, "tool", server, h.d.Tools.Get, tools.ErrNotFound, func(t tools.Tool) uuid.UUID { return t.ServerID })
}

// childOf reads the id in the path value key, loads it with get and checks
// that it belongs to server (owner names its server); ok is false for a
// malformed, unknown or foreign id, which the caller answers with 404.
func childOf[T any](r *http.Request, key string, server uuid.UUID, get func(context.Context, uuid.UUID) (T, error),
	notFound error, owner func(T) uuid.UUID,
) (T, bool, error) {
	var zero T
	id, err := uuid.Parse(r.PathValue(key))
	if err != nil {
		return zero, false, nil
	}
	v, err := get(r.Context(), id)
	switch {
	case errors.Is(err, notFound):
		return zero, false, nil
	case err != nil:
		return zero, false, err
	}
	return v, owner(v) == server, nil
}

// serverToolEnabled is POST /servers/{id}/tools/{tool}/enabled
// (enabled=true|false), the twin of PATCH /api/v1/tools/{id} {enabled}.
func (h *handler) serverToolEnabled(w http.ResponseWriter, r *http.Request, st *state) error {
	id, ok := serverIDOf(r)
	if !ok {
		return h.notFound(w, r, st)
	}
	t, ok, err := h.toolOf(r, id)
	if err != nil {
		return err
	} else if !ok {
		return h.notFound(w, r, st)
	}
	on, perr := strconv.ParseBool(r.PostFormValue("enabled"))
	if perr != nil {
		return h.sectionFail(w, r, st, id, "tools", http.StatusUnprocessableEntity, func(d *serverDetail) {
			d.Problem = "enabled must be true or false."
		})
	}
	res, err := h.d.Tools.Update(r.Context(), tools.Audit{Actor: st.p.Actor(), RequestID: st.reqID}, t.ID, tools.UpdateInput{Enabled: &on})
	if err != nil {
		return h.sectionError(w, r, st, id, "tools", err)
	}
	msg := res.Tool.ServerName + "__" + res.Tool.Name + " disabled."
	if on {
		msg = res.Tool.ServerName + "__" + res.Tool.Name + " enabled."
	}
	return h.sectionDone(w, r, st, id, "tools", msg)
}

// serverToolDelete is POST /servers/{id}/tools/{tool}/delete, the twin of
// DELETE /api/v1/tools/{id}.
func (h *handler) serverToolDelete(w http.ResponseWriter, r *http.Request, st *state) error {
	id, ok := serverIDOf(r)
	if !ok {
		return h.notFound(w, r, st)
	}
	t, ok, err := h.toolOf(r, id)
	if err != nil {
		return err
	} else if !ok {
		return h.notFound(w, r, st)
	}
	if err := h.d.Tools.Delete(r.Context(), tools.Audit{Actor: st.p.Actor(), RequestID: st.reqID}, t.ID); err != nil {
		return h.sectionError(w, r, st, id, "tools", err)
	}
	return h.sectionDone(w, r, st, id, "tools", "Tool "+t.ServerName+"__"+t.Name+" deleted.")
}

// newSecretForm is the empty Add secret dialog.
func newSecretForm(st *state, id uuid.UUID) serverSecretForm {
	return serverSecretForm{
		CSRF: st.csrf, ServerID: id, KeyPattern: "[A-Za-z][A-Za-z0-9_]{0,63}",
		KeyMessage:        "Key must start with a letter and have only letters, digits and underscores (at most 64).",
		DescriptionLength: "0-" + strconv.Itoa(secrets.MaxDescriptionLen),
	}
}

func secretsAudit(st *state) secrets.Audit {
	return secrets.Audit{Actor: st.p.Actor(), RequestID: st.reqID}
}

// serverSecretCreate is POST /servers/{id}/secrets (key, description), the
// twin of POST /api/v1/servers/{id}/secrets. The key is uppercased.
func (h *handler) serverSecretCreate(w http.ResponseWriter, r *http.Request, st *state) error {
	id, ok := serverIDOf(r)
	if !ok {
		return h.notFound(w, r, st)
	}
	f := newSecretForm(st, id)
	f.Key.Value = strings.ToUpper(strings.TrimSpace(r.PostFormValue("key")))
	f.Description.Value = r.PostFormValue("description")
	_, err := h.d.Secrets.Create(r.Context(), secretsAudit(st), id, secrets.CreateInput{Name: f.Key.Value, Description: f.Description.Value})
	if err == nil {
		return h.sectionDone(w, r, st, id, "secrets", "Secret "+f.Key.Value+" added. Set its value next.")
	}
	var exists *secrets.AlreadyExistsError
	switch {
	case errors.As(err, &exists):
		f.Problems.add(&f.Key, "secret-key", "This server already has a secret named "+exists.Name+".")
	case f.Problems.addRules(err, control{"name", "secret-key", "Key", &f.Key},
		control{"description", "secret-description", "Description", &f.Description}):
	default:
		return h.sectionError(w, r, st, id, "secrets", err)
	}
	f.Open = true
	status := http.StatusUnprocessableEntity
	if exists != nil {
		status = http.StatusConflict
	}
	if st.htmx {
		return h.render(w, r, st, page{
			Status: status, Name: "servers_detail", Title: "Add secret", Nav: navServers, Data: f,
			Fragment: "servers-add-secret-fragment",
		})
	}
	return h.serverDetailRender(w, r, st, id, "secrets", status, func(d *serverDetail) { d.AddSecret = f })
}

// serverSecretSet is POST /servers/{id}/secrets/{name}/value (value), the
// twin of PUT /api/v1/servers/{id}/secrets/{name}. The value is never
// rendered back: a refused value returns an empty field with the
// backend's message (U3).
func (h *handler) serverSecretSet(w http.ResponseWriter, r *http.Request, st *state) error {
	id, ok := serverIDOf(r)
	if !ok {
		return h.notFound(w, r, st)
	}
	name := r.PathValue("name")
	value := r.PostFormValue("value")
	sec, err := h.d.Secrets.SetValue(r.Context(), secretsAudit(st), id, name, value)
	if err == nil {
		return h.sectionDone(w, r, st, id, "secrets", "Value of "+sec.Name+" saved.")
	}
	var refused field
	if !(&formProblems{}).addRules(err, control{"", "secret-value-" + name, "Value", &refused}) {
		return h.sectionError(w, r, st, id, "secrets", err)
	}
	f := serverValueForm{CSRF: st.csrf, ServerID: id, Name: name, Key: name, Open: true, Error: refused.Error}
	if st.htmx {
		return h.render(w, r, st, page{
			Status: http.StatusUnprocessableEntity, Name: "servers_detail", Title: "Set value",
			Nav: navServers, Data: f, Fragment: "servers-value-fragment",
		})
	}
	return h.serverDetailRender(w, r, st, id, "secrets", http.StatusUnprocessableEntity, func(d *serverDetail) {
		for i := range d.Secrets {
			if d.Secrets[i].S.Name == name {
				f.HasValue = d.Secrets[i].S.HasValue()
				d.Secrets[i].SetValue = f
			}
		}
	})
}

// serverSecretClear is POST /servers/{id}/secrets/{name}/clear, the twin
// of DELETE /api/v1/servers/{id}/secrets/{name}/value.
func (h *handler) serverSecretClear(w http.ResponseWriter, r *http.Request, st *state) error {
	id, ok := serverIDOf(r)
	if !ok {
		return h.notFound(w, r, st)
	}
	sec, err := h.d.Secrets.ClearValue(r.Context(), secretsAudit(st), id, r.PathValue("name"))
	if err != nil {
		return h.sectionError(w, r, st, id, "secrets", err)
	}
	return h.sectionDone(w, r, st, id, "secrets", "Value of "+sec.Name+" cleared.")
}

// serverSecretDelete is POST /servers/{id}/secrets/{name}/delete, the twin
// of DELETE /api/v1/servers/{id}/secrets/{name}.
func (h *handler) serverSecretDelete(w http.ResponseWriter, r *http.Request, st *state) error {
	id, ok := serverIDOf(r)
	if !ok {
		return h.notFound(w, r, st)
	}
	name := r.PathValue("name")
	if err := h.d.Secrets.Delete(r.Context(), secretsAudit(st), id, name); err != nil {
		return h.sectionError(w, r, st, id, "secrets", err)
	}
	return h.sectionDone(w, r, st, id, "secrets", "Secret "+name+" deleted.")
}

func approvalsAudit(st *state) approvals.Audit {
	return approvals.Audit{Actor: st.p.Actor(), RequestID: st.reqID}
}

// serverHostAdd is POST /servers/{id}/hosts (host), the twin of POST
// /api/v1/servers/{id}/network-requests: an admin grant, validated like
// the sandbox's allowed_hosts entries (a scheme or path is a field error).
func (h *handler) serverHostAdd(w http.ResponseWriter, r *http.Request, st *state) error {
	id, ok := serverIDOf(r)
	if !ok {
		return h.notFound(w, r, st)
	}
	var f serverHostForm
	f.Host.Value = strings.TrimSpace(r.PostFormValue("host"))
	req, err := h.d.Approvals.CreateNetwork(r.Context(), approvalsAudit(st), id, f.Host.Value, nil, "")
	if err == nil {
		return h.sectionDone(w, r, st, id, "hosts", "Host "+req.Host+" added.")
	}
	status := http.StatusUnprocessableEntity
	if msg, ok := conflictOf(err); ok {
		status = http.StatusConflict
		f.Problems.add(&f.Host, "host-add", msg)
	} else if !f.Problems.addRules(err, control{"", "host-add", "Host", &f.Host}) {
		return h.sectionError(w, r, st, id, "hosts", err)
	}
	return h.sectionFail(w, r, st, id, "hosts", status, func(d *serverDetail) { d.AddHost = f })
}

// requestOf reads the {req} path value and checks the request belongs to
// the server of the path.
func (h *handler) requestOf(r *http.Request, kind approvals.Kind, server uuid.UUID) (approvals.Request, bool, error) {
	id, err := uuid.Parse(r.PathValue("req"))
	if err != nil {
		return approvals.Request{}, false, nil
	}
	req, err := h.d.Approvals.GetRequest(r.Context(), kind, id)
	if errors.Is(err, approvals.ErrRequestNotFound) {
		return approvals.Request{}, false, nil
	} else if err != nil {
		return approvals.Request{}, false, err
	}
	return req, req.ServerID != nil && *req.ServerID == server, nil
}

// serverHostRemove is POST /servers/{id}/hosts/{req}/remove: the grant is
// revoked (POST /api/v1/network-requests/{id}/revoke, which revokes the
// approvals of the tools it covered) and the request deleted (DELETE
// /api/v1/network-requests/{id}).
func (h *handler) serverHostRemove(w http.ResponseWriter, r *http.Request, st *state) error {
	id, ok := serverIDOf(r)
	if !ok {
		return h.notFound(w, r, st)
	}
	req, ok, err := h.requestOf(r, approvals.KindNetwork, id)
	if err != nil {
		return err
	} else if !ok {
		return h.notFound(w, r, st)
	}
	a := approvalsAudit(st)
	var revoked []approvals.RevokedTool
	if req.Status == approvals.StatusApproved {
		if _, revoked, err = h.d.Approvals.RevokeRequest(r.Context(), a, approvals.KindNetwork, req.ID); err != nil {
			return h.sectionError(w, r, st, id, "hosts", err)
		}
	}
	if err := h.d.Approvals.DeleteRequest(r.Context(), a, approvals.KindNetwork, req.ID); err != nil {
		return h.sectionError(w, r, st, id, "hosts", err)
	}
	msg := "Host " + req.Host + " removed."
	if len(revoked) > 0 {
		names := make([]string, len(revoked))
		for i, t := range revoked {
			names[i] = t.ExposedName
		}
		msg += " Approval revoked: " + strings.Join(names, ", ") + "."
	}
	return h.sectionDone(w, r, st, id, "hosts", msg)
}

// serverPackageRevoke is POST /servers/{id}/packages/{req}/revoke, the
// twin of POST /api/v1/package-requests/{id}/revoke.
func (h *handler) serverPackageRevoke(w http.ResponseWriter, r *http.Request, st *state) error {
	id, ok := serverIDOf(r)
	if !ok {
		return h.notFound(w, r, st)
	}
	req, ok, err := h.requestOf(r, approvals.KindPackage, id)
	if err != nil {
		return err
	} else if !ok {
		return h.notFound(w, r, st)
	}
	if _, _, err := h.d.Approvals.RevokeRequest(r.Context(), approvalsAudit(st), approvals.KindPackage, req.ID); err != nil {
		return h.sectionError(w, r, st, id, "packages", err)
	}
	return h.sectionDone(w, r, st, id, "packages", "Package "+req.Package+" revoked.")
}

// serverSettings is POST /servers/{id}/settings (name, description), the
// twin of PATCH /api/v1/servers/{id}.
func (h *handler) serverSettings(w http.ResponseWriter, r *http.Request, st *state) error {
	id, ok := serverIDOf(r)
	if !ok {
		return h.notFound(w, r, st)
	}
	var f serverSettingsForm
	f.Name.Value = strings.TrimSpace(r.PostFormValue("name"))
	f.Description.Value = r.PostFormValue("description")
	res, err := h.d.Servers.Update(r.Context(), servers.Audit{Actor: st.p.Actor(), RequestID: st.reqID}, id,
		servers.UpdateInput{Name: &f.Name.Value, Description: &f.Description.Value})
	if err == nil {
		return h.sectionDone(w, r, st, id, "settings", "Server "+res.Server.Name+" saved.")
	}
	var taken *servers.NameTakenError
	status := http.StatusUnprocessableEntity
	switch {
	case errors.Is(err, servers.ErrNotFound):
		return h.notFound(w, r, st)
	case errors.As(err, &taken):
		status = http.StatusConflict
		f.Problems.add(&f.Name, "server-name", "A server named "+taken.Name+" already exists; pick another name.")
	case f.Problems.addRules(err, control{"name", "server-name", "Name", &f.Name},
		control{"description", "server-description", "Description", &f.Description}):
	default:
		return err
	}
	return h.sectionFail(w, r, st, id, "settings", status, func(d *serverDetail) { d.Settings = f })
}

// serverDelete is POST /servers/{id}/delete (confirm_name), the twin of
// DELETE /api/v1/servers/{id}: refused (409) while the server runs and
// (422, confirm_name) unless the exact name is typed; afterwards the list
// with a toast.
func (h *handler) serverDelete(w http.ResponseWriter, r *http.Request, st *state) error {
	id, ok := serverIDOf(r)
	if !ok {
		return h.notFound(w, r, st)
	}
	s, err := h.d.Servers.Get(r.Context(), id)
	if errors.Is(err, servers.ErrNotFound) {
		return h.notFound(w, r, st)
	} else if err != nil {
		return err
	}
	var f serverDeleteForm
	status := http.StatusOK
	switch {
	case s.Status == proto.ServerRunning:
		status = http.StatusConflict
		f.Problems.Problem = "Stop the server first: a running server cannot be deleted."
	case r.PostFormValue("confirm_name") != s.Name:
		status = http.StatusUnprocessableEntity
		f.Problems.add(&f.Name, "delete-confirm-name", "Type the server's name, "+s.Name+", exactly to delete it.")
	}
	if status != http.StatusOK {
		f.Open = true
		if st.htmx {
			w.Header().Set("HX-Retarget", "#main")
			w.Header().Set("HX-Reswap", "innerHTML")
		}
		return h.serverDetailRender(w, r, st, id, "settings", status, func(d *serverDetail) {
			f.Secrets = d.Delete.Secrets
			d.Delete = f
		})
	}
	if _, err := h.d.Servers.Delete(r.Context(), servers.Audit{Actor: st.p.Actor(), RequestID: st.reqID}, id); err != nil {
		if errors.Is(err, servers.ErrNotFound) {
			return h.notFound(w, r, st)
		}
		return err
	}
	if !st.htmx {
		h.redirect(w, r, st, "/servers")
		return nil
	}
	toast(w, "info", "Server "+s.Name+" deleted.", "")
	w.Header().Set("HX-Retarget", "#main")
	w.Header().Set("HX-Reswap", "innerHTML")
	w.Header().Set("HX-Push-Url", "/servers")
	r.URL.RawQuery = ""
	return h.serversListAs(w, r, st, "servers-after-delete")
}
