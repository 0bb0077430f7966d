package ui

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/mcpbox/mcpbox/services/backend/internal/auth"
)

// field is one form control's submitted value and error. Password fields
// never carry their value back (admin-ui.md §3).
type field struct{ Value, Error string }

// summaryItem is one line of a form's error summary: a link to the field.
type summaryItem struct{ Href, Message string }

// formProblems is a form's error summary: the field errors in the order
// of the form and a form-level Problem. The summary takes focus after a
// failed submit, unless FocusField names the control that should.
type formProblems struct {
	Summary    []summaryItem
	Problem    string
	FocusField string
}

// add records msg for the control with element id; the field gets it too.
func (p *formProblems) add(f *field, id, msg string) {
	f.Error = msg
	p.Summary = append(p.Summary, summaryItem{Href: "#" + id, Message: msg})
}

func (p *formProblems) any() bool { return len(p.Summary) > 0 }

// throttleMessage is the login and setup wait (admin-ui.md §4), from the
// seconds Retry-After carries.
func throttleMessage(secs int) string {
	if secs == 1 {
		return "Too many attempts. Try again in 1 second."
	}
	return "Too many attempts. Try again in " + strconv.Itoa(secs) + " seconds."
}

// throttled reports a login or setup refused for too many failures, with
// the whole seconds to wait (at least 1), and sets Retry-After.
func throttled(w http.ResponseWriter, err error) (int, bool) {
	var te *auth.ThrottledError
	if !errors.As(err, &te) {
		return 0, false
	}
	secs := max(int(te.RetryAfter.Round(time.Second)/time.Second), 1)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return secs, true
}
