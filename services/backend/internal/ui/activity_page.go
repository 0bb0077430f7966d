package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/executions"
	paging "github.com/mcpbox/mcpbox/services/backend/internal/page"
	"github.com/mcpbox/mcpbox/services/backend/internal/servers"
)

// tailMax is the most rows the live tail keeps in the table (§11.8).
const tailMax = 500

// activityView is the data of the activity page and its fragments.
type activityView struct {
	Q        activityQuery
	Problems formProblems
	Servers  []option
	Outcomes []option
	Sizes    []option
	Exec     []execRow
	Audit    []auditRow
	// Older is the URL of the next (older) page, "" on the last; Newest
	// links back to the first page from an older one.
	Older, Newest string
	// Live is the tail control, on the newest page only.
	Live *liveControl
	// OOB marks a tail response: the rows go out of band (Prepend) or the
	// whole result replaces the old one (Replace).
	Prepend, Replace bool
}

// option is one <option> of a filter select.
type option struct {
	Value, Label string
	Selected     bool
}

// liveControl is the Live toggle, its indicator and the tail's state.
type liveControl struct {
	On bool
	// New counts the rows waiting while paused ("N new — Show").
	New int
	// Base is the tail's URL with the page's filters; the control's hidden
	// inputs add the state (after, shown, live) to every request.
	Base                string
	After               string
	Shown               int
	Pause, Resume, Show string
}

// execRow is one execution record in the table.
type execRow struct {
	R    executions.Record
	Open bool
	// OOB sends the details row out of band (an expand or collapse swaps
	// the summary row and replaces its details row).
	OOB bool
}

// auditRow is one audit entry in the table.
type auditRow struct {
	R    activity.Row
	Open bool
	OOB  bool
}

// activityShow is GET /activity (admin-ui.md §11.8).
func (h *handler) activityShow(w http.ResponseWriter, r *http.Request, st *state) error {
	q, bad := parseActivityQuery(r.URL.Query())
	v, err := h.activityLoad(r.Context(), q, bad, time.Now())
	if err != nil {
		return err
	}
	status := http.StatusOK
	if v.Problems.any() {
		status = http.StatusUnprocessableEntity
	}
	return h.render(w, r, st, page{Status: status, Name: "activity", Title: "Activity", Nav: navActivity, Data: v})
}

// activityLoad reads one page of the view's list with its filters.
func (h *handler) activityLoad(ctx context.Context, q activityQuery, bad []proto.RuleError, now time.Time) (*activityView, error) {
	v := &activityView{Q: q}
	for _, e := range bad {
		v.Problems.add(&field{}, "activity-"+e.Field, e.Field+": "+e.Message)
	}
	if err := h.activityOptions(ctx, v); err != nil {
		return nil, err
	}
	// The page's links carry since as a time, so the cursor of the next
	// page (bound to the filter) stays valid however long the admin reads.
	abs := q
	abs.Since, abs.Cursor = resolveTime(q.Since, now), ""
	var next string
	var err error
	if q.View == viewAudit {
		var f activity.Filter
		if f, err = q.auditFilter(now); err == nil {
			var p activity.Page
			if p, err = activity.List(ctx, h.d.Store, f, q.Size, q.Cursor); err == nil {
				for _, row := range p.Items {
					v.Audit = append(v.Audit, auditRow{R: row})
				}
				next = p.NextCursor
			}
		}
	} else {
		var f executions.Filter
		if f, err = q.execFilter(now); err == nil {
			var p executions.Page
			if p, err = h.d.Executions.List(ctx, f, q.Size, q.Cursor); err == nil {
				for _, rec := range p.Items {
					v.Exec = append(v.Exec, execRow{R: rec})
				}
				next = p.NextCursor
			}
		}
	}
	if rules := ruleErrors(err); len(rules) > 0 {
		for _, e := range rules {
			v.Problems.add(&field{}, "activity-"+e.Field, e.Field+": "+e.Message)
		}
	} else if err != nil {
		return nil, err
	}
	if next != "" {
		v.Older = abs.url("cursor", next)
	}
	if q.Cursor != "" {
		v.Newest = q.url("cursor", "")
	} else if !v.Problems.any() {
		v.Live = liveFor(abs, v.newestID(), v.shown(), true, 0)
	}
	return v, nil
}

// activityOptions fills the filter selects.
func (h *handler) activityOptions(ctx context.Context, v *activityView) error {
	q := v.Q
	srv, err := h.d.Servers.List(ctx, servers.Filter{}, paging.MaxLimit, "")
	if err != nil {
		return err
	}
	v.Servers = []option{{Value: "", Label: "Any server", Selected: q.ServerID == ""}}
	known := false
	for _, s := range srv.Items {
		sel := s.ID.String() == q.ServerID
		known = known || sel
		v.Servers = append(v.Servers, option{Value: s.ID.String(), Label: s.Name, Selected: sel})
	}
	if q.ServerID != "" && !known {
		v.Servers = append(v.Servers, option{Value: q.ServerID, Label: "Server " + q.ServerID, Selected: true})
	}
	v.Outcomes = []option{
		{Value: "", Label: "Any outcome"}, {Value: "success", Label: "Success"}, {Value: "error", Label: "Error (any type)"},
	}
	listed := false
	for _, c := range outcomeCodes {
		v.Outcomes = append(v.Outcomes, option{Value: c, Label: "Error: " + c})
		listed = listed || c == q.Outcome
	}
	if q.Outcome != "" && q.Outcome != "success" && q.Outcome != "error" && !listed {
		v.Outcomes = append(v.Outcomes, option{Value: q.Outcome, Label: "Error: " + q.Outcome})
	}
	for i := range v.Outcomes {
		v.Outcomes[i].Selected = v.Outcomes[i].Value == q.Outcome
	}
	for _, n := range []int{25, 50, 100} {
		v.Sizes = append(v.Sizes, option{Value: strconv.Itoa(n), Label: strconv.Itoa(n) + " rows", Selected: n == q.Size})
	}
	return nil
}

// liveFor is the tail control for the page whose newest row is after and
// which shows shown rows.
func liveFor(q activityQuery, after string, shown int, on bool, waiting int) *liveControl {
	base := url.Values{}
	for k, vs := range q.values() {
		if k != "cursor" {
			base[k] = vs
		}
	}
	u := "/ui/activity/tail?" + base.Encode()
	return &liveControl{
		On: on, New: waiting, Base: u, After: after, Shown: shown,
		Pause: u + "&set=off", Resume: u + "&set=on", Show: u + "&set=off&show=1",
	}
}

func (v *activityView) newestID() string {
	switch {
	case len(v.Exec) > 0:
		return v.Exec[0].R.ID.String()
	case len(v.Audit) > 0:
		return v.Audit[0].R.ID.String()
	}
	return ""
}

func (v *activityView) shown() int { return len(v.Exec) + len(v.Audit) }

// activityTail is GET /ui/activity/tail, the live tail (§11.8): on
// mcpbox:activity the control fetches the rows after the newest one shown,
// with the page's filters. The control's element stays in the page (its
// content is swapped, so htmx keeps its throttle): a throttled trigger
// fetches at once and a wrapper's trigger 2 s after the last event, so an
// event inside the throttle window is never lost. Live, they are prepended (the whole result is
// replaced when the table was empty or would pass 500 rows); paused, they
// are only counted ("N new — Show"), and Show inserts them. Without htmx
// it is the activity page (U7).
func (h *handler) activityTail(w http.ResponseWriter, r *http.Request, st *state) error {
	in := r.URL.Query()
	q, bad := parseActivityQuery(in)
	q.Cursor = ""
	if !st.htmx || len(bad) > 0 {
		return h.activityShow(w, r, st)
	}
	ctx, now := r.Context(), time.Now()
	after := in.Get("after")
	shown, _ := strconv.Atoi(in.Get("shown"))
	shown = min(max(shown, 0), tailMax)
	// The buttons set the state (set=); the control's own refresh keeps it.
	on := in.Get("live") != "off"
	if set := in.Get("set"); set != "" {
		on = set != "off"
	}
	insert := on || in.Get("show") == "1"

	v := &activityView{Q: q}
	fresh, complete, err := h.activityNewer(ctx, q, after, now)
	if err != nil {
		return err
	}
	waiting := 0
	switch {
	case !insert:
		waiting = len(fresh.Exec) + len(fresh.Audit)
	case !complete || shown == 0 || shown+fresh.shown() > tailMax:
		// Start over with the newest rows (at most 500).
		if fresh, err = h.activityNewest(ctx, q, now, max(q.Size, min(shown+fresh.shown(), tailMax))); err != nil {
			return err
		}
		v.Replace, v.Exec, v.Audit, v.Older = true, fresh.Exec, fresh.Audit, fresh.Older
		after, shown = v.newestID(), v.shown()
	case fresh.shown() > 0:
		v.Prepend, v.Exec, v.Audit = true, fresh.Exec, fresh.Audit
		after, shown = v.newestID(), shown+v.shown()
	}
	v.Live = liveFor(q, after, shown, on, waiting)
	return h.render(w, r, st, page{Name: "activity", Title: "Activity", Nav: navActivity, Data: v, Fragment: "activity-tail"})
}

// activityNewer returns the rows stored after the row after (newest
// first, at most tailMax) matching q. complete is false when after names
// no row any more (retention) or more than tailMax rows are new: the
// caller starts over then.
func (h *handler) activityNewer(ctx context.Context, q activityQuery, after string, now time.Time) (*activityView, bool, error) {
	v := &activityView{Q: q}
	id, err := uuid.Parse(after)
	if err != nil {
		return v, false, nil
	}
	if q.View == viewAudit {
		f, err := q.auditFilter(now)
		if err != nil {
			return nil, false, err
		}
		anchor, err := activity.Get(ctx, h.d.Store, id)
		if errors.Is(err, activity.ErrNotFound) {
			return v, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		cursor := ""
		for {
			p, err := activity.List(ctx, h.d.Store, f, paging.MaxLimit, cursor)
			if err != nil {
				return nil, false, err
			}
			for _, row := range p.Items {
				if row.Seq <= anchor.Seq {
					return v, true, nil
				}
				if len(v.Audit) == tailMax {
					return v, false, nil
				}
				v.Audit = append(v.Audit, auditRow{R: row})
			}
			if cursor = p.NextCursor; cursor == "" {
				return v, true, nil
			}
		}
	}
	f, err := q.execFilter(now)
	if err != nil {
		return nil, false, err
	}
	f.After = &id
	cursor := ""
	for {
		p, err := h.d.Executions.List(ctx, f, paging.MaxLimit, cursor)
		if len(ruleErrors(err)) > 0 {
			return v, false, nil // the anchor was deleted
		}
		if err != nil {
			return nil, false, err
		}
		for _, rec := range p.Items {
			if len(v.Exec) == tailMax {
				return v, false, nil
			}
			v.Exec = append(v.Exec, execRow{R: rec})
		}
		if cursor = p.NextCursor; cursor == "" {
			return v, true, nil
		}
	}
}

// activityNewest returns the newest n rows (n ≤ tailMax) matching q, and
// the URL of the page after them.
func (h *handler) activityNewest(ctx context.Context, q activityQuery, now time.Time, n int) (*activityView, error) {
	v := &activityView{Q: q}
	abs := q
	abs.Since = resolveTime(q.Since, now)
	cursor := ""
	for left := min(n, tailMax); left > 0; {
		limit := min(left, paging.MaxLimit)
		var next string
		if q.View == viewAudit {
			f, err := q.auditFilter(now)
			if err != nil {
				return nil, err
			}
			p, err := activity.List(ctx, h.d.Store, f, limit, cursor)
			if err != nil {
				return nil, err
			}
			for _, row := range p.Items {
				v.Audit = append(v.Audit, auditRow{R: row})
			}
			next = p.NextCursor
		} else {
			f, err := q.execFilter(now)
			if err != nil {
				return nil, err
			}
			p, err := h.d.Executions.List(ctx, f, limit, cursor)
			if err != nil {
				return nil, err
			}
			for _, rec := range p.Items {
				v.Exec = append(v.Exec, execRow{R: rec})
			}
			next = p.NextCursor
		}
		left -= limit
		if cursor = next; cursor == "" {
			break
		}
	}
	if cursor != "" {
		v.Older = abs.url("cursor", cursor)
	}
	return v, nil
}

// execDetail is GET /activity/executions/{id} (GET /api/v1/executions/{id}):
// for htmx the row, expanded (open=1) or collapsed; otherwise the record's
// own page.
func (h *handler) execDetail(w http.ResponseWriter, r *http.Request, st *state) error {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return h.notFound(w, r, st)
	}
	rec, err := h.d.Executions.Get(r.Context(), id)
	if errors.Is(err, executions.ErrNotFound) {
		return h.notFound(w, r, st)
	}
	if err != nil {
		return err
	}
	v := &activityView{Q: activityQuery{View: viewExecutions}, Exec: []execRow{{R: rec, Open: r.URL.Query().Get("open") != "0", OOB: st.htmx}}}
	return h.render(w, r, st, page{
		Name: "activity_detail", Title: "Execution of " + rec.ExposedName, Nav: navActivity, Data: v, Fragment: "activity-exec-row",
	})
}

// auditDetail is GET /activity/audit/{id} (GET /api/v1/activity/{id}).
func (h *handler) auditDetail(w http.ResponseWriter, r *http.Request, st *state) error {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return h.notFound(w, r, st)
	}
	row, err := activity.Get(r.Context(), h.d.Store, id)
	if errors.Is(err, activity.ErrNotFound) {
		return h.notFound(w, r, st)
	}
	if err != nil {
		return err
	}
	v := &activityView{Q: activityQuery{View: viewAudit}, Audit: []auditRow{{R: row, Open: r.URL.Query().Get("open") != "0", OOB: st.htmx}}}
	return h.render(w, r, st, page{
		Name: "activity_detail", Title: "Audit entry " + row.Action, Nav: navActivity, Data: v, Fragment: "activity-audit-row",
	})
}

// Template functions of the activity area.

// actorText is an audit actor for people: "admin alice", "LLM (local)",
// "LLM (bob@example.com)", "system".
func actorText(actor string) string {
	switch {
	case strings.HasPrefix(actor, "admin:"):
		return "Admin " + strings.TrimPrefix(actor, "admin:")
	case actor == "llm:local":
		return "LLM (local)"
	case strings.HasPrefix(actor, "llm:"):
		return "LLM (" + strings.TrimPrefix(actor, "llm:") + ")"
	case actor == "":
		return "system"
	}
	return actor
}

// callerText is an execution's caller: local, the remote email, or test.
func callerText(r executions.Record) string {
	switch {
	case r.IsTest:
		return "test"
	case r.CallerKind == proto.CallerRemote && r.CallerEmail != nil:
		return *r.CallerEmail
	}
	return string(r.CallerKind)
}

// outcomeText is "Success" or the error type.
func outcomeText(r executions.Record) string {
	if r.Success {
		return "Success"
	}
	if r.ErrorCode != nil && *r.ErrorCode != "" {
		return *r.ErrorCode
	}
	return "error"
}

// durationText is a duration in ms for people: "320 ms", "1.5 s".
func durationText(ms int64) string {
	if ms < 1000 {
		return strconv.FormatInt(ms, 10) + " ms"
	}
	return strconv.FormatFloat(float64(ms)/1000, 'f', 1, 64) + " s"
}

// prettyJSON indents a stored JSON document for a <pre> (escaped by the
// template like any text); invalid JSON is shown as it is.
func prettyJSON(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}

// targetLink is the page of an audit row's target: its tool, else its
// server; "" when it has neither.
func targetLink(row activity.Row) string {
	switch {
	case row.ToolID != nil:
		return "/tools/" + row.ToolID.String()
	case row.ServerID != nil:
		return "/servers/" + row.ServerID.String()
	}
	return ""
}

// targetText names an audit row's target.
func targetText(row activity.Row) string {
	switch {
	case row.ToolID != nil:
		return "Tool " + row.ToolID.String()[:8]
	case row.ServerID != nil:
		return "Server " + row.ServerID.String()[:8]
	}
	return ""
}
