package ui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/sources"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
)

// errNoSources is a source decision on a backend built without the
// sources service (never in the binary; some tests wire less).
var errNoSources = errors.New("ui: the sources service is not wired")

// approvalsCardPage is the data of a card answered on its own: the htmx
// fragment of a decision, or (without htmx) a page holding the card.
type approvalsCardPage struct {
	Heading string
	Back    string
	Tool    *approvalsToolCard
	Request *approvalsRequestCard
	Source  *approvalsSourceCard
	// Form says which form of the card the fragment is: "" the whole card,
	// "reject" the reject form (422 inside its dialog).
	Form string
}

func (h *handler) approvalsAudit(st *state) approvals.Audit {
	return approvals.Audit{Actor: st.p.Actor(), RequestID: st.reqID}
}

// reasonOf reads and checks a required rejection reason: 1–2000
// characters after trimming (admin-ui.md §11.7). The message names the
// field ("reason is required").
func reasonOf(r *http.Request) (string, string) {
	raw := r.PostFormValue("reason")
	reason := strings.TrimSpace(raw)
	switch {
	case reason == "":
		return raw, msgReasonNeeded
	case utf8.RuneCountInString(reason) > approvals.MaxTextLen:
		return raw, "The reason is too long: at most 2000 characters (it has " + strconv.Itoa(utf8.RuneCountInString(reason)) + ")."
	}
	return reason, ""
}

// decided answers a decision: the card (htmx, with a toast when ok) or,
// without htmx, 303 back to the list on success and the card's page
// otherwise.
func (h *handler) decided(w http.ResponseWriter, r *http.Request, st *state, status int, cp approvalsCardPage, toastMsg string) error {
	if status == http.StatusOK && !st.htmx {
		h.redirect(w, r, st, cp.Back)
		return nil
	}
	if st.htmx && cp.Form == "" {
		// The decision forms inside dialogs target themselves (a 422
		// re-renders the form in the open dialog); the card replaces the
		// whole article.
		w.Header().Set("HX-Retarget", "#"+cardDOMID(cp))
		w.Header().Set("HX-Reswap", "outerHTML")
	}
	if toastMsg != "" {
		toast(w, "info", toastMsg, "")
	}
	frag := "approvals-card-fragment"
	if cp.Form == actReject {
		frag = "approvals-reject-fragment"
	}
	return h.render(w, r, st, page{Status: status, Name: "approvals_card", Title: cp.Heading, Nav: navApprovals, Data: cp, Fragment: frag})
}

func cardDOMID(cp approvalsCardPage) string {
	switch {
	case cp.Tool != nil:
		return cp.Tool.DOMID
	case cp.Request != nil:
		return cp.Request.DOMID
	case cp.Source != nil:
		return cp.Source.DOMID
	}
	return "main"
}

// incomplete answers a decision form without the fields every rendered
// form carries (422, nothing read or changed).
func (h *handler) incomplete(w http.ResponseWriter, r *http.Request, st *state, what string) error {
	h.errorResponse(w, r, st, http.StatusUnprocessableEntity, "The form is incomplete",
		"This form lacks "+what+". Reload the approvals page and try again.")
	return nil
}

// toolCardPage loads a tool's card as it is now.
func (h *handler) toolCardPage(ctx context.Context, st *state, id uuid.UUID, back string) (approvalsCardPage, error) {
	t, err := h.d.Tools.Get(ctx, id)
	if err != nil {
		return approvalsCardPage{}, err
	}
	pol, _, err := h.d.Policy.Get(ctx)
	if err != nil {
		return approvalsCardPage{}, err
	}
	c, err := h.toolCard(ctx, st, t, pol.NetworkAccessPolicy == string(proto.NetworkAllowAllPublic), back)
	if err != nil {
		return approvalsCardPage{}, err
	}
	return approvalsCardPage{Heading: "Review " + c.Exposed, Back: back, Tool: c}, nil
}

// toolDecision is the part of the tool decisions they share: the id, the
// reviewed version and where to go back to.
func toolDecision(r *http.Request) (id uuid.UUID, version int, back string, ok bool) {
	id, ok = idParam(r)
	if !ok {
		return uuid.Nil, 0, "", false
	}
	version, err := strconv.Atoi(r.PostFormValue("version"))
	if err != nil || version < 1 {
		return id, 0, "", false
	}
	return id, version, backTo(r.PostFormValue("back")), true
}

// approvalsToolApprove is POST /approvals/tools/{id}/approve (twin POST
// /api/v1/tools/{id}/approve): approves exactly the version and hash the
// card showed (U8); a newer version answers 409 with its card.
func (h *handler) approvalsToolApprove(w http.ResponseWriter, r *http.Request, st *state) error {
	if _, ok := idParam(r); !ok {
		return h.notFound(w, r, st)
	}
	id, version, back, ok := toolDecision(r)
	hash := r.PostFormValue("hash")
	if !ok || hash == "" {
		return h.incomplete(w, r, st, "the version and hash you reviewed")
	}
	_, err := h.d.Approvals.Approve(r.Context(), h.approvalsAudit(st), id, version, hash)
	return h.afterToolDecision(w, r, st, id, version, back, err, "Approved %s version "+strconv.Itoa(version)+".")
}

// approvalsToolReject is POST /approvals/tools/{id}/reject (twin POST
// /api/v1/tools/{id}/reject): the shown version, with a required reason.
func (h *handler) approvalsToolReject(w http.ResponseWriter, r *http.Request, st *state) error {
	if _, ok := idParam(r); !ok {
		return h.notFound(w, r, st)
	}
	id, version, back, ok := toolDecision(r)
	if !ok {
		return h.incomplete(w, r, st, "the version you reviewed")
	}
	reason, problem := reasonOf(r)
	if problem != "" {
		cp, err := h.toolCardPage(r.Context(), st, id, back)
		if errors.Is(err, tools.ErrNotFound) {
			return h.notFound(w, r, st)
		} else if err != nil {
			return err
		}
		cp.Form, cp.Tool.ReasonError, cp.Tool.Reason = actReject, problem, reason
		cp.Tool.Version = version
		return h.decided(w, r, st, http.StatusUnprocessableEntity, cp, "")
	}
	err := h.d.Approvals.Reject(r.Context(), h.approvalsAudit(st), id, version, reason)
	return h.afterToolDecision(w, r, st, id, version, back, err, "Rejected %s version "+strconv.Itoa(version)+".")
}

// approvalsToolRevoke is POST /approvals/tools/{id}/revoke (twin POST
// /api/v1/tools/{id}/revoke), confirmed in a dialog first.
func (h *handler) approvalsToolRevoke(w http.ResponseWriter, r *http.Request, st *state) error {
	id, ok := idParam(r)
	if !ok {
		return h.notFound(w, r, st)
	}
	back := backTo(r.PostFormValue("back"))
	err := h.d.Approvals.Revoke(r.Context(), h.approvalsAudit(st), id, nil)
	return h.afterToolDecision(w, r, st, id, 0, back, err, "Revoked the approval of %s.")
}

// afterToolDecision answers a tool decision with the tool's card as it is
// now: 200 and a toast, 409 with the stale-review notice when another
// version arrived (or the state changed), 422 for a refused input.
func (h *handler) afterToolDecision(w http.ResponseWriter, r *http.Request, st *state, id uuid.UUID, version int, back string, decErr error, done string) error {
	status := http.StatusOK
	var (
		changed *approvals.VersionChangedError
		invalid *approvals.InvalidStateError
		rule    *proto.RuleError
		message string
	)
	switch {
	case decErr == nil:
	case errors.Is(decErr, approvals.ErrNotFound):
		return h.notFound(w, r, st)
	case errors.As(decErr, &changed):
		status = http.StatusConflict
	case errors.As(decErr, &invalid):
		status, message = http.StatusConflict, invalid.Message
	case errors.As(decErr, &rule):
		status, message = http.StatusUnprocessableEntity, rule.Error()
	default:
		return decErr
	}
	cp, err := h.toolCardPage(r.Context(), st, id, back)
	if errors.Is(err, tools.ErrNotFound) {
		return h.notFound(w, r, st)
	} else if err != nil {
		return err
	}
	c := cp.Tool
	c.Focus = true
	if status == http.StatusConflict && version != 0 && c.Version != version {
		c.Notice = msgNewerVersion
	} else if message != "" {
		c.Message = message
	}
	toastMsg := ""
	if status == http.StatusOK {
		toastMsg = strings.Replace(done, "%s", c.Exposed, 1)
		c.Message = toastMsg
	}
	return h.decided(w, r, st, status, cp, toastMsg)
}

// approvalsRequestDecide is POST /approvals/{network|packages}/{id}/
// {approve|reject|revoke} (twins: the network-requests and
// package-requests routes of /api/v1).
func (h *handler) approvalsRequestDecide(kind, action string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, st *state) error {
		id, ok := idParam(r)
		if !ok {
			return h.notFound(w, r, st)
		}
		back := backTo(r.PostFormValue("back"))
		rk := requestKind(kind)
		ctx := r.Context()
		var err error
		var toastMsg string
		switch action {
		case actApprove:
			_, err = h.d.Approvals.ApproveRequest(ctx, h.approvalsAudit(st), rk, id)
			toastMsg = "Approved %s."
		case actReject:
			reason, problem := reasonOf(r)
			if problem != "" {
				cp, err := h.requestCardPage(ctx, st, rk, id, back)
				if errors.Is(err, approvals.ErrRequestNotFound) {
					return h.notFound(w, r, st)
				} else if err != nil {
					return err
				}
				cp.Form, cp.Request.ReasonError, cp.Request.Reason = actReject, problem, reason
				return h.decided(w, r, st, http.StatusUnprocessableEntity, cp, "")
			}
			_, err = h.d.Approvals.RejectRequest(ctx, h.approvalsAudit(st), rk, id, reason)
			toastMsg = "Rejected %s."
		default:
			var revoked []approvals.RevokedTool
			_, revoked, err = h.d.Approvals.RevokeRequest(ctx, h.approvalsAudit(st), rk, id)
			toastMsg = "Revoked %s."
			if len(revoked) > 0 {
				names := make([]string, len(revoked))
				for i, t := range revoked {
					names[i] = t.ExposedName
				}
				toastMsg = "Revoked %s; these tools lost their approval: " + strings.Join(names, ", ") + "."
			}
		}
		status := http.StatusOK
		var (
			invalid   *approvals.InvalidStateError
			forbidden *approvals.PackageForbiddenError
			covered   *approvals.AlreadyCoveredError
			rule      *proto.RuleError
			message   string
		)
		switch {
		case err == nil:
		case errors.Is(err, approvals.ErrRequestNotFound):
			return h.notFound(w, r, st)
		case errors.As(err, &invalid):
			status, message = http.StatusConflict, invalid.Message
		case errors.As(err, &covered):
			status, message = http.StatusConflict, covered.Message
		case errors.As(err, &forbidden):
			status, message = http.StatusConflict, forbidden.Error()
		case errors.As(err, &rule):
			status, message = http.StatusUnprocessableEntity, rule.Error()
		default:
			return err
		}
		cp, err := h.requestCardPage(ctx, st, rk, id, back)
		if errors.Is(err, approvals.ErrRequestNotFound) {
			return h.notFound(w, r, st)
		} else if err != nil {
			return err
		}
		cp.Request.Focus, cp.Request.Message = true, message
		if status == http.StatusOK {
			toastMsg = strings.Replace(toastMsg, "%s", cp.Request.Subject, 1)
			cp.Request.Message = toastMsg
		} else {
			toastMsg = ""
		}
		return h.decided(w, r, st, status, cp, toastMsg)
	}
}

func (h *handler) requestCardPage(ctx context.Context, st *state, kind approvals.Kind, id uuid.UUID, back string) (approvalsCardPage, error) {
	req, err := h.d.Approvals.GetRequest(ctx, kind, id)
	if err != nil {
		return approvalsCardPage{}, err
	}
	c, err := newRequestContext(ctx, h).card(st, req, back)
	if err != nil {
		return approvalsCardPage{}, err
	}
	return approvalsCardPage{Heading: "Review " + c.Subject, Back: back, Request: c}, nil
}

// approvalsSourceDecide is POST /approvals/sources/{id}/{approve|reject}
// (twins: POST /api/v1/external-sources/{id}/approve and …/reject).
func (h *handler) approvalsSourceDecide(action string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, st *state) error {
		id, ok := idParam(r)
		if !ok {
			return h.notFound(w, r, st)
		}
		if h.d.Sources == nil {
			return errNoSources
		}
		back := backTo(r.PostFormValue("back"))
		ctx := r.Context()
		a := sources.Audit{Actor: st.p.Actor(), RequestID: st.reqID}
		var err error
		toastMsg := "Approved the source %s."
		if action == actApprove {
			_, err = h.d.Sources.Approve(ctx, a, id)
		} else {
			reason, problem := reasonOf(r)
			if problem != "" {
				src, err := h.d.Sources.Get(ctx, id)
				if errors.Is(err, sources.ErrNotFound) {
					return h.notFound(w, r, st)
				} else if err != nil {
					return err
				}
				c := sourceCard(st, src, back)
				c.ReasonError, c.Reason = problem, reason
				return h.decided(w, r, st, http.StatusUnprocessableEntity, approvalsCardPage{Heading: "Review " + c.Name, Back: back, Source: c, Form: actReject}, "")
			}
			_, err = h.d.Sources.Reject(ctx, a, id, reason)
			toastMsg = "Rejected the source %s."
		}
		status := http.StatusOK
		var (
			invalid *sources.InvalidStateError
			rule    *proto.RuleError
			message string
		)
		switch {
		case err == nil:
		case errors.Is(err, sources.ErrNotFound):
			return h.notFound(w, r, st)
		case errors.As(err, &invalid):
			status, message = http.StatusConflict, invalid.Message
		case errors.As(err, &rule):
			status, message = http.StatusUnprocessableEntity, rule.Error()
		default:
			return err
		}
		src, err := h.d.Sources.Get(ctx, id)
		if errors.Is(err, sources.ErrNotFound) {
			return h.notFound(w, r, st)
		} else if err != nil {
			return err
		}
		c := sourceCard(st, src, back)
		c.Focus, c.Message = true, message
		if status == http.StatusOK {
			toastMsg = strings.Replace(toastMsg, "%s", c.Name, 1)
			c.Message = toastMsg
		} else {
			toastMsg = ""
		}
		return h.decided(w, r, st, status, approvalsCardPage{Heading: "Review " + c.Name, Back: back, Source: c}, toastMsg)
	}
}

// approvalsBulk is POST /approvals/bulk (twin POST /api/v1/approvals/bulk):
// approve, or reject with one reason, the requests ticked in a bulk
// dialog. The answer is the refreshed list (htmx: swapped for
// #approvals-results) with a toast counting what was done.
func (h *handler) approvalsBulk(w http.ResponseWriter, r *http.Request, st *state) error {
	kind, action := r.PostFormValue("kind"), r.PostFormValue("action")
	if (kind != kindPackages && kind != kindNetwork) || (action != actApprove && action != actReject) {
		return h.incomplete(w, r, st, "the kind of requests and the decision")
	}
	back := backTo(r.PostFormValue("back"))
	if err := r.ParseForm(); err != nil {
		return h.incomplete(w, r, st, "readable fields")
	}
	var ids []uuid.UUID
	for _, raw := range r.PostForm["id"] {
		id, err := uuid.Parse(raw)
		if err != nil {
			return h.incomplete(w, r, st, "valid request ids")
		}
		ids = append(ids, id)
	}
	var reason *string
	problem := ""
	if action == actReject {
		text, p := reasonOf(r)
		reason, problem = &text, p
	}
	if len(ids) == 0 {
		problem = "Tick at least one request."
	} else if len(ids) > approvals.MaxBulkItems {
		problem = "At most " + strconv.Itoa(approvals.MaxBulkItems) + " requests can be decided at once."
	}
	if problem != "" {
		return h.bulkProblem(w, r, st, back, kind, action, ids, reason, problem)
	}
	itemKind := approvals.ItemNetwork
	if kind == kindPackages {
		itemKind = approvals.ItemPackage
	}
	items := make([]approvals.BulkItem, len(ids))
	for i, id := range ids {
		items[i] = approvals.BulkItem{Kind: itemKind, ID: id}
	}
	res, err := h.d.Approvals.Bulk(r.Context(), h.approvalsAudit(st), action, reason, items)
	var rule *proto.RuleError
	if errors.As(err, &rule) {
		return h.bulkProblem(w, r, st, back, kind, action, ids, reason, rule.Error())
	} else if err != nil {
		return err
	}
	done, failed := 0, 0
	for _, it := range res {
		if it.Err == nil {
			done++
		} else {
			failed++
		}
	}
	noun := kindNoun(kind) + "s"
	verb := "approved"
	if action == actReject {
		verb = "rejected"
	}
	msg := strconv.Itoa(done) + " " + noun + " " + verb + "."
	if failed > 0 {
		msg += " " + strconv.Itoa(failed) + " could not be " + verb + " (decided elsewhere meanwhile, or no longer allowed); they stay in the list."
	}
	if !st.htmx {
		h.redirect(w, r, st, back)
		return nil
	}
	toast(w, "info", msg, "")
	bq, _ := url.Parse(back)
	q := parseApprovalsQuery(bq.Query())
	data, status, err := h.loadApprovals(r.Context(), st, q)
	if err != nil {
		return err
	}
	w.Header().Set("HX-Retarget", "#approvals-results")
	w.Header().Set("HX-Reswap", "outerHTML")
	w.Header().Set("HX-Reselect", "#approvals-results")
	return h.render(w, r, st, page{Status: status, Name: "approvals", Title: "Approvals", Nav: navApprovals, Data: data})
}

// bulkProblem answers a refused bulk form: 422 with the dialog's form (the
// page's requests, the submitted ones ticked) and the error.
func (h *handler) bulkProblem(w http.ResponseWriter, r *http.Request, st *state, back, kind, action string, ids []uuid.UUID,
	reason *string, problem string,
) error {
	bq, _ := url.Parse(back)
	q := parseApprovalsQuery(bq.Query())
	q.Kind, q.Status = kind, statusPending
	data, _, err := h.loadApprovals(r.Context(), st, q)
	if err != nil {
		return err
	}
	if data.Bulk == nil {
		data.Bulk = &approvalsBulkDialogs{CSRF: st.csrf, Back: back, Kind: kind, Noun: kindNoun(kind) + "s", Key: "none"}
	}
	for i, it := range data.Bulk.Items {
		data.Bulk.Items[i].Checked = containsID(ids, it.ID)
	}
	if reason != nil {
		data.Bulk.Reason = *reason
	}
	if action == actReject && reason != nil && strings.TrimSpace(*reason) == "" {
		data.Bulk.ReasonError = problem
	} else {
		data.Bulk.Problem = problem
	}
	frag := "approvals-bulk-approve-fragment"
	if action == actReject {
		frag = "approvals-bulk-reject-fragment"
	}
	if !st.htmx {
		frag = ""
	}
	return h.render(w, r, st, page{Status: http.StatusUnprocessableEntity, Name: "approvals", Title: "Approvals", Nav: navApprovals, Data: data, Fragment: frag})
}

func containsID(ids []uuid.UUID, id uuid.UUID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
