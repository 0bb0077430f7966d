package ui

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mcpbox/mcpbox/proto"
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

// control is a form control that takes the rule errors of one backend
// field: Field names it as the service does ("name", "auth_secret_name";
// "" takes the errors of any field no other control names, for a form of
// one control), ID is its element id and Label starts its messages
// ("Key must start with a letter…").
type control struct {
	Field, ID, Label string
	F                *field
}

// addRules maps the rule errors in err (a *proto.RuleError, or several
// joined) onto the form's controls: each becomes its control's error
// "<Label> <message>" (the first one per control), one naming no control
// adds to the form's Problem. It reports false, changing nothing, when err
// holds no rule error: the caller handles it as a service error.
func (p *formProblems) addRules(err error, controls ...control) bool {
	var rule *proto.RuleError
	if !errors.As(err, &rule) {
		return false
	}
	for _, fe := range proto.FieldErrors(err) {
		c, ok := controlOf(fe.Field, controls)
		switch {
		case !ok:
			p.Problem = strings.TrimSpace(p.Problem + " " + fe.Message)
		case c.F.Error == "":
			p.add(c.F, c.ID, c.Label+" "+fe.Message)
		}
	}
	return true
}

// controlOf is the control that takes the errors of field: the one naming
// it, else the one naming no field.
func controlOf(field string, controls []control) (control, bool) {
	rest := slices.IndexFunc(controls, func(c control) bool { return c.Field == "" })
	if i := slices.IndexFunc(controls, func(c control) bool { return c.Field != "" && c.Field == field }); i >= 0 {
		return controls[i], true
	} else if rest >= 0 {
		return controls[rest], true
	}
	return control{}, false
}

// confirmDialog is the confirmation of a destructive action (the shared
// "dialog-confirm" template, admin-ui.md §7): ID is the dialog's id (the
// control's data-confirm), Title asks the question, Say are the paragraphs
// saying what happens, Verb names the Confirm button. Affected lists what
// the action touches after ListIntro; None is said instead when it is
// empty ("" says nothing).
type confirmDialog struct {
	ID, Title, Verb string
	Say             []string
	ListIntro       string
	Affected        []string
	None            string
}
