package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/mcpbox/mcpbox/proto/obs"
)

// Messages of admin-ui.md §3.
const (
	msgExpiredForm = "This form has expired. Reload the page and try again."
	msgNotFound    = "There is no page at this address."
	msgServerError = "Something went wrong on the server; nothing was changed by this page. Try again, or report the request id."
)

// errorPage is the data of the error template.
type errorPage struct {
	Heading, Message string
	RequestID        string
	SignedIn         bool
}

// redirect sends the browser to target (a local path): 303 for a plain
// request, HX-Redirect for htmx (which never swaps a redirect's body).
func (h *handler) redirect(w http.ResponseWriter, _ *http.Request, st *state, target string) {
	if st.htmx {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusSeeOther)
}

// toLogin answers a request without a session: 303 to
// /login?next=<the page> (with reason=expired when a session cookie came
// but no longer opens a session); htmx gets 401 with HX-Redirect, never a
// fragment.
func (h *handler) toLogin(w http.ResponseWriter, r *http.Request, st *state) {
	next := "/"
	switch {
	case st.htmx || r.Header.Get("HX-Request") == "true":
		// The page the fragment belongs to, not the fragment's URL.
		if cu, err := url.Parse(r.Header.Get("HX-Current-URL")); err == nil && cu.Path != "" {
			next = cu.RequestURI()
		}
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		next = r.URL.RequestURI()
	}
	q := url.Values{}
	if next = safeNext(next); next != "/" {
		q.Set("next", next)
	}
	if st.expired {
		q.Set("reason", "expired")
	}
	target := "/login"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	if st.htmx || r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusSeeOther)
}

// forbidden is the CSRF and origin refusal (403): the page, or for htmx a
// toast with the same text.
func (h *handler) forbidden(w http.ResponseWriter, r *http.Request, st *state) {
	h.errorResponse(w, r, st, http.StatusForbidden, "This form has expired", msgExpiredForm)
}

// notFound is the 404 page of every path the UI does not serve.
func (h *handler) notFound(w http.ResponseWriter, r *http.Request, st *state) error {
	h.errorResponse(w, r, st, http.StatusNotFound, "Page not found", msgNotFound)
	return nil
}

// serverError logs err once, with the request id, and answers the 500
// page (or a toast naming the request id).
func (h *handler) serverError(w http.ResponseWriter, r *http.Request, st *state, err error) {
	if r.Context().Err() != nil && errors.Is(err, r.Context().Err()) {
		// The browser left (navigated away, closed the tab): nobody reads
		// the answer, and it is not a fault.
		h.d.Log.DebugContext(r.Context(), "web ui request abandoned by the client", obs.KeyError, err)
		return
	}
	h.d.Log.ErrorContext(r.Context(), "web ui request failed", obs.KeyError, err)
	h.errorResponse(w, r, st, http.StatusInternalServerError, "Something went wrong", msgServerError)
}

// errorResponse writes an error page, or for htmx the status with an
// HX-Trigger toast carrying the message and the request id.
func (h *handler) errorResponse(w http.ResponseWriter, r *http.Request, st *state, status int, heading, msg string) {
	if st.htmx {
		toast(w, "error", msg, st.reqID)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, "%s (request %s)\n", msg, st.reqID)
		return
	}
	err := h.render(w, r, st, page{
		Status: status, Name: "error", Title: heading, Quiet: true,
		Data: errorPage{Heading: heading, Message: msg, RequestID: st.reqID, SignedIn: st.p != nil},
	})
	if err != nil { // the error template itself failed: plain text
		h.d.Log.ErrorContext(r.Context(), "web ui error page failed", obs.KeyError, err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, "%s (request %s)\n", msg, st.reqID)
	}
}

// toast asks app.js, through HX-Trigger, to show a toast: level info
// (polite status region) or error (alert region).
func toast(w http.ResponseWriter, level, msg, requestID string) {
	detail := map[string]string{"level": level, "message": msg}
	if requestID != "" {
		detail["request_id"] = requestID
	}
	trigger(w, "mcpbox:toast", detail)
}

// trigger adds an event to the response's HX-Trigger header, next to the
// ones already there; htmx dispatches each on the requesting element
// (bubbling to <body>) before it swaps the answer in.
func trigger(w http.ResponseWriter, name string, detail any) {
	events := map[string]json.RawMessage{}
	if prev := w.Header().Get("HX-Trigger"); prev != "" {
		_ = json.Unmarshal([]byte(prev), &events) // always ours, written below
	}
	raw, _ := json.Marshal(detail) //nolint:errchkjson // plain maps and structs of strings and ints
	events[name] = raw
	all, _ := json.Marshal(events) //nolint:errchkjson // raw messages that encoded above
	w.Header().Set("HX-Trigger", asciiJSON(string(all)))
}

// asciiJSON escapes every non-ASCII character of a JSON text as \uXXXX,
// so a header value survives XMLHttpRequest's Latin-1 decoding.
func asciiJSON(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < utf8.RuneSelf {
			b.WriteRune(r)
			continue
		}
		if r > 0xFFFF {
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
			continue
		}
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}
