package ui

import (
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/executions"
)

// The views of /activity (admin-ui.md §11.8).
const (
	viewExecutions = "executions"
	viewAudit      = "audit"
)

// Page sizes of the activity lists; the first is the default.
var activitySizes = []int{50, 25, 100} //nolint:gochecknoglobals // read-only

// sincePresets are the relative values since= accepts besides an RFC 3339
// time: the dashboard's periods link here with them.
var sincePresets = []struct{ Value, Label string }{ //nolint:gochecknoglobals // read-only
	{"1h", "Last hour"}, {"24h", "Last 24 hours"}, {"7d", "Last 7 days"}, {"30d", "Last 30 days"},
}

func presetDuration(v string) (time.Duration, bool) {
	switch v {
	case "1h":
		return time.Hour, true
	case "24h":
		return 24 * time.Hour, true
	case "7d":
		return 7 * 24 * time.Hour, true
	case "30d":
		return 30 * 24 * time.Hour, true
	}
	return 0, false
}

// outcomeCodes are the error types offered in the outcome filter (the
// outcomes of proto.Outcome and the common sandbox error types); any other
// code matching ^[a-z_]{1,40}$ is accepted from the URL.
var outcomeCodes = []string{ //nolint:gochecknoglobals // read-only
	"tool_error", "timeout", "invalid_arguments", "egress_denied", "panic", "memory_limit_exceeded",
	"unavailable", "denied", "sandbox_unavailable", "sandbox_error", "integrity_error", "cancelled", "internal_error",
}

// maxActionChars bounds the audit view's action filter.
const maxActionChars = 100

var errorCodeRE = regexp.MustCompile(`^[a-z_]{1,40}$`)

// activityQuery is the state of /activity in its URL (U6): the view, its
// filters, the page size and the cursor. Values are kept as the admin
// typed them, for the form; execValues and auditValues map them to the
// list queries.
type activityQuery struct {
	View string
	// Both views.
	ServerID, ToolID, Since, Until, Q string
	// Executions: outcome (success, error or an error code), caller (local,
	// remote, test) and the remote caller's email.
	Outcome, Caller, Email string
	// Audit: actor kind (admin, llm_local, llm_remote, system) and action.
	Actor, Action string
	Size          int
	Cursor        string
}

// parseActivityQuery reads /activity's query. A bad value keeps the view
// usable: it is reported for the error summary (field name, message) and
// left out of the query.
func parseActivityQuery(v url.Values) (activityQuery, []proto.RuleError) {
	q := activityQuery{
		View: viewExecutions, ServerID: v.Get("server_id"), ToolID: v.Get("tool_id"), Since: v.Get("since"),
		Until: v.Get("until"), Q: v.Get("q"), Outcome: v.Get("outcome"), Caller: v.Get("caller"),
		Email: v.Get("caller_email"), Actor: v.Get("actor_kind"), Action: v.Get("action"), Cursor: v.Get("cursor"),
		Size: activitySizes[0],
	}
	var bad []proto.RuleError
	fail := func(field, msg string) { bad = append(bad, proto.RuleError{Field: field, Message: msg}) }
	switch view := v.Get("view"); view {
	case "", viewExecutions:
	case viewAudit:
		q.View = viewAudit
	default:
		fail("view", `must be "executions" or "audit".`)
	}
	if raw := v.Get("size"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || !slices.Contains(activitySizes, n) {
			fail("size", "must be 25, 50 or 100 rows a page.")
		} else {
			q.Size = n
		}
	}
	for _, id := range []struct {
		name string
		v    *string
	}{{"server_id", &q.ServerID}, {"tool_id", &q.ToolID}} {
		if *id.v == "" {
			continue
		}
		if u, err := uuid.Parse(*id.v); err != nil || len(*id.v) != 36 {
			fail(id.name, "must be a UUID such as 0d4a1c6e-3f2b-4c1d-9e8f-a1b2c3d4e5f6.")
			*id.v = ""
		} else {
			*id.v = u.String()
		}
	}
	for _, t := range []struct {
		name   string
		v      *string
		preset bool
	}{{"since", &q.Since, true}, {"until", &q.Until, false}} {
		if *t.v == "" {
			continue
		}
		if _, ok := presetDuration(*t.v); ok && t.preset {
			continue
		}
		if _, err := time.Parse(time.RFC3339Nano, *t.v); err != nil {
			msg := "must be an RFC 3339 time such as 2026-05-01T12:00:00Z."
			if t.preset {
				msg = "must be 1h, 24h, 7d, 30d or an RFC 3339 time such as 2026-05-01T12:00:00Z."
			}
			fail(t.name, msg)
			*t.v = ""
		}
	}
	switch q.Outcome {
	case "", "success", "error":
	default:
		if !errorCodeRE.MatchString(q.Outcome) {
			fail("outcome", "must be success, error or an error type such as timeout.")
			q.Outcome = ""
		}
	}
	switch q.Caller {
	case "", "local", "remote", "test":
	default:
		fail("caller", "must be local, remote or test.")
		q.Caller = ""
	}
	if q.Email != "" && !proto.ValidEmail(q.Email) {
		fail("caller_email", "must be an email address such as alice@example.com.")
		q.Email = ""
	}
	switch q.Actor {
	case "", "admin", "llm_local", "llm_remote", "system":
	default:
		fail("actor_kind", "must be admin, llm_local, llm_remote or system.")
		q.Actor = ""
	}
	// Each view keeps only its own filters.
	if q.View == viewAudit {
		q.Outcome, q.Caller, q.Email = "", "", ""
	} else {
		q.Actor, q.Action = "", ""
	}
	if utf8.RuneCountInString(q.Q) > executions.MaxQueryChars {
		fail("q", "must be at most 200 characters.")
		q.Q = ""
	}
	if utf8.RuneCountInString(q.Action) > maxActionChars {
		fail("action", "must be at most 100 characters, such as tool.approve.")
		q.Action = ""
	}
	return q, bad
}

// resolveTime turns a since preset into the time it means at now; other
// values are returned as they are.
func resolveTime(v string, now time.Time) string {
	if d, ok := presetDuration(v); ok {
		return now.Add(-d).UTC().Format(time.RFC3339)
	}
	return v
}

// execValues maps the executions view's filters to the parameters of
// GET /api/v1/executions (admin-ui.md §11.8): server_id, tool_id, success,
// error_code, caller_kind, is_test, caller_email, since, until and q.
func (q activityQuery) execValues(now time.Time) url.Values {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("server_id", q.ServerID)
	set("tool_id", q.ToolID)
	switch q.Outcome {
	case "":
	case "success":
		v.Set("success", "true")
	case "error":
		v.Set("success", "false")
	default:
		v.Set("success", "false")
		v.Set("error_code", q.Outcome)
	}
	switch q.Caller {
	case "local", "remote":
		v.Set("caller_kind", q.Caller)
		v.Set("is_test", "false")
	case "test":
		v.Set("is_test", "true")
	}
	set("caller_email", q.Email)
	set("since", resolveTime(q.Since, now))
	set("until", q.Until)
	set("q", q.Q)
	return v
}

// execFilter is execValues read by the executions service's own parser,
// so the UI applies exactly the API's rules.
func (q activityQuery) execFilter(now time.Time) (executions.Filter, error) {
	return executions.ParseFilter(q.execValues(now))
}

// auditValues maps the audit view's filters to the parameters of
// GET /api/v1/activity?category=audit: actor_kind, action,
// server_id/tool_id, since, until and q.
func (q activityQuery) auditValues(now time.Time) url.Values {
	v := url.Values{"category": {activity.Audit}}
	for _, p := range [][2]string{
		{"actor_kind", q.Actor},
		{"action", q.Action},
		{"server_id", q.ServerID},
		{"tool_id", q.ToolID},
		{"since", resolveTime(q.Since, now)},
		{"until", q.Until},
		{"q", q.Q},
	} {
		if p[1] != "" {
			v.Set(p[0], p[1])
		}
	}
	return v
}

// auditFilter is auditValues as the activity list's filter.
func (q activityQuery) auditFilter(now time.Time) (activity.Filter, error) {
	v := q.auditValues(now)
	f := activity.Filter{Category: activity.Audit, Action: v.Get("action"), ActorKind: v.Get("actor_kind"), Q: v.Get("q")}
	var errs []error
	for _, p := range []struct {
		name string
		dst  **uuid.UUID
	}{{"server_id", &f.ServerID}, {"tool_id", &f.ToolID}} {
		if raw := v.Get(p.name); raw != "" {
			id, err := uuid.Parse(raw)
			if err != nil {
				errs = append(errs, &proto.RuleError{Field: p.name, Message: "must be a UUID."})
				continue
			}
			*p.dst = &id
		}
	}
	for _, p := range []struct {
		name string
		dst  **time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if raw := v.Get(p.name); raw != "" {
			t, err := time.Parse(time.RFC3339Nano, raw)
			if err != nil {
				errs = append(errs, &proto.RuleError{Field: p.name, Message: "must be an RFC 3339 time."})
				continue
			}
			*p.dst = &t
		}
	}
	if err := f.Validate(); err != nil {
		errs = append(errs, err)
	}
	return f, errors.Join(errs...)
}

// url is the /activity URL of q (path and query), with over applied:
// each pair sets a parameter ("" removes it). The defaults are left out,
// so URLs stay short.
func (q activityQuery) url(over ...string) string {
	v := q.values()
	for i := 0; i+1 < len(over); i += 2 {
		if over[i+1] == "" {
			v.Del(over[i])
		} else {
			v.Set(over[i], over[i+1])
		}
	}
	if len(v) == 0 {
		return "/activity"
	}
	return "/activity?" + v.Encode()
}

// values is q as URL parameters (the view's own filters only).
func (q activityQuery) values() url.Values {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("view", q.View)
	set("server_id", q.ServerID)
	set("tool_id", q.ToolID)
	if q.View == viewAudit {
		set("actor_kind", q.Actor)
		set("action", q.Action)
	} else {
		set("outcome", q.Outcome)
		set("caller", q.Caller)
		set("caller_email", q.Email)
	}
	set("since", q.Since)
	set("until", q.Until)
	set("q", q.Q)
	if q.Size != activitySizes[0] {
		v.Set("size", strconv.Itoa(q.Size))
	}
	set("cursor", q.Cursor)
	return v
}

// Filtered reports a filter in use (the empty state says "Nothing matches
// these filters" then, with Clear filters).
func (q activityQuery) Filtered() bool {
	if q.ServerID != "" || q.ToolID != "" || q.Since != "" || q.Until != "" || q.Q != "" {
		return true
	}
	if q.View == viewAudit {
		return q.Actor != "" || q.Action != ""
	}
	return q.Outcome != "" || q.Caller != "" || q.Email != ""
}

// ruleErrors flattens the *proto.RuleError values of err (joined or not).
func ruleErrors(err error) []proto.RuleError {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []proto.RuleError
		for _, e := range j.Unwrap() {
			out = append(out, ruleErrors(e)...)
		}
		return out
	}
	var re *proto.RuleError
	if errors.As(err, &re) {
		return []proto.RuleError{*re}
	}
	return nil
}
