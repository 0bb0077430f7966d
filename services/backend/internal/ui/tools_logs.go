package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/executions"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
	"github.com/mcpbox/mcpbox/services/backend/internal/ui/codeview"
)

// toolsLogPage is the page size of the Logs section (admin-ui.md §11.4).
const toolsLogPage = 50

// toolsBackMax bounds the chain of earlier cursors ?back= carries; past
// it, Newer leads to the newest page.
const toolsBackMax = 40

// toolsSince are the presets of the since filter.
var toolsSince = map[string]time.Duration{"1h": time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour} //nolint:gochecknoglobals // read-only table

// toolsLogFilter is the Logs section's filters as they are in the URL.
type toolsLogFilter struct {
	Outcome string // success | error
	Caller  string // local | remote | test
	Version string
	Since   string // 1h | 24h | 7d
}

// any reports whether a filter is set.
func (f toolsLogFilter) any() bool {
	return f.Outcome != "" || f.Caller != "" || f.Version != "" || f.Since != ""
}

// values is the filter as query parameters (tab=logs included).
func (f toolsLogFilter) values() url.Values {
	q := url.Values{"tab": {toolsTabLogs}}
	for k, v := range map[string]string{"outcome": f.Outcome, "caller": f.Caller, "version": f.Version, "since": f.Since} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// toolsLogRow is one execution of the Logs table.
type toolsLogRow struct {
	ToolID   uuid.UUID
	R        executions.Record
	Caller   string
	Outcome  string
	Expanded bool
	Args     template.HTML
	Result   template.HTML
}

// toolsLogs is the Logs section.
type toolsLogs struct {
	Filter   toolsLogFilter
	Filtered bool
	Rows     []toolsLogRow
	// Self is this page's URL (the live refresh fetches it); Newer and
	// Older the neighbouring pages ("" when there is none); Newest says
	// this is the first page (new rows appear on activity).
	Self, Newer, Older, Clear string
	Newest                    bool
	// Live is the URL the marker row re-fetches on activity (the newest
	// page only); NewestID is the newest record shown.
	Live     string
	NewestID string
	// More says more new records arrived than one fetch brings: reload.
	More bool
	// Single is the page of one execution (GET /tools/{id}/logs?exec=).
	Single  bool
	Problem string
}

// toolsLogsOf reads one page of the tool's executions with the filters of
// q (the service's ParseFilter rules; a bad value is shown, not applied).
func (h *handler) toolsLogsOf(r *http.Request, t tools.Tool, q url.Values) (*toolsLogs, error) {
	f := toolsLogFilter{Outcome: q.Get("outcome"), Caller: q.Get("caller"), Version: q.Get("version"), Since: q.Get("since")}
	base := "/tools/" + t.ID.String() + "?"
	out := &toolsLogs{Clear: base + "tab=logs"}
	api := url.Values{"tool_id": {t.ID.String()}}
	switch f.Outcome {
	case "success":
		api.Set("success", "true")
	case "error":
		api.Set("success", "false")
	default:
		f.Outcome = ""
	}
	switch f.Caller {
	case "local", "remote":
		api.Set("caller_kind", f.Caller)
		api.Set("is_test", "false")
	case "test":
		api.Set("is_test", "true")
	default:
		f.Caller = ""
	}
	if positive(f.Version) == 0 {
		f.Version = ""
	} else {
		api.Set("version", f.Version)
	}
	if d, ok := toolsSince[f.Since]; ok {
		api.Set("since", time.Now().UTC().Add(-d).Format(time.RFC3339Nano))
	} else {
		f.Since = ""
	}
	out.Filter, out.Filtered = f, f.any()
	filter, err := executions.ParseFilter(api)
	if err != nil {
		return nil, err
	}
	cursor := q.Get("cursor")
	var back []string
	if raw := q.Get("back"); raw != "" && cursor != "" {
		back = strings.Split(raw, ".")
		if len(back) > toolsBackMax {
			back = back[len(back)-toolsBackMax:]
		}
	}
	res, err := h.d.Executions.List(r.Context(), filter, toolsLogPage, cursor)
	var rule *proto.RuleError
	if errors.As(err, &rule) && rule.Field == "cursor" {
		// A stale or edited cursor: the newest page, with a note.
		out.Problem = "That page of the log no longer exists; showing the newest executions."
		cursor, back = "", nil
		res, err = h.d.Executions.List(r.Context(), filter, toolsLogPage, "")
	}
	if err != nil {
		return nil, err
	}
	self := f.values()
	if cursor != "" {
		self.Set("cursor", cursor)
		if len(back) > 0 {
			self.Set("back", strings.Join(back, "."))
		}
	}
	out.Self, out.Newest = base+self.Encode(), cursor == ""
	if res.NextCursor != "" {
		older := f.values()
		older.Set("cursor", res.NextCursor)
		if cursor != "" {
			older.Set("back", strings.Join(append(append([]string{}, back...), cursor), "."))
		}
		out.Older = base + older.Encode()
	}
	if cursor != "" {
		newer := f.values()
		if n := len(back); n > 0 {
			newer.Set("cursor", back[n-1])
			if n > 1 {
				newer.Set("back", strings.Join(back[:n-1], "."))
			}
		}
		out.Newer = base + newer.Encode()
	}
	for _, rec := range res.Items {
		out.Rows = append(out.Rows, toolsRow(t.ID, rec, false))
	}
	if out.Newest && len(out.Rows) > 0 {
		out.NewestID = out.Rows[0].R.ID.String()
		out.Live = toolsLiveURL(t.ID, f, out.NewestID)
	}
	return out, nil
}

// toolsLiveURL is the marker row's re-fetch: the records after newest
// that match the filters.
func toolsLiveURL(id uuid.UUID, f toolsLogFilter, newest string) string {
	q := f.values()
	q.Del("tab")
	q.Set("after", newest)
	return "/tools/" + id.String() + "/logs?" + q.Encode()
}

// toolLogsNew is GET /tools/{id}/logs?after=<id>&<filters>: for htmx, the
// executions recorded after that one (newest first, at most a page) and a
// fresh marker row; any other request gets the Logs section (U7).
func (h *handler) toolLogsNew(w http.ResponseWriter, r *http.Request, st *state) error {
	id, ok := toolIDOf(r)
	if !ok {
		return h.notFound(w, r, st)
	}
	pg, err := h.toolsLoad(r, id, toolsTabLogs, 0)
	if errors.Is(err, tools.ErrNotFound) {
		return h.notFound(w, r, st)
	}
	if err != nil {
		return err
	}
	q := r.URL.Query()
	after := q.Get("after")
	if _, err := uuid.Parse(after); err != nil || !st.htmx {
		q.Del("after")
		if pg.Logs, err = h.toolsLogsOf(r, pg.Tool, q); err != nil {
			return err
		}
		return h.toolsRender(w, r, st, http.StatusOK, pg)
	}
	q.Del("cursor")
	logs, err := h.toolsLogsOf(r, pg.Tool, q)
	if err != nil {
		return err
	}
	newer := &toolsLogs{Filter: logs.Filter, Newest: true, NewestID: after}
	// The rows after the marker's record: the newest page's rows down to it.
	for _, row := range logs.Rows {
		if row.R.ID.String() == after {
			break
		}
		newer.Rows = append(newer.Rows, row)
	}
	if len(newer.Rows) == len(logs.Rows) && len(logs.Rows) > 0 {
		newer.More = true // the marker's record is no longer on the newest page
	}
	if len(newer.Rows) > 0 {
		newer.NewestID = newer.Rows[0].R.ID.String()
	}
	newer.Live = toolsLiveURL(id, logs.Filter, newer.NewestID)
	pg.Logs = newer
	return h.render(w, r, st, page{Name: "tools", Title: "Tool " + pg.Exposed, Nav: navServers, Data: pg, Fragment: "tools-logs-new"})
}

// toolsRow lays out one execution; expanded rows carry the highlighted
// arguments and result.
func toolsRow(toolID uuid.UUID, rec executions.Record, expanded bool) toolsLogRow {
	row := toolsLogRow{ToolID: toolID, R: rec, Expanded: expanded, Outcome: "Success"}
	switch {
	case rec.IsTest:
		row.Caller = "test"
	case rec.CallerKind == proto.CallerRemote && rec.CallerEmail != nil:
		row.Caller = "remote " + *rec.CallerEmail
	default:
		row.Caller = string(rec.CallerKind)
	}
	if !rec.Success {
		row.Outcome = "Error"
		if rec.ErrorCode != nil {
			row.Outcome = "Error: " + *rec.ErrorCode
		}
	}
	if expanded {
		row.Args = toolsPretty(rec.InputArgs)
		row.Result = toolsPretty(rec.Result)
	}
	return row
}

// toolsPretty highlights stored JSON; what does not parse is shown as
// escaped text.
func toolsPretty(raw json.RawMessage) template.HTML {
	if len(bytes.TrimSpace(raw)) == 0 {
		return ""
	}
	out, err := codeview.HighlightJSON(raw)
	if err != nil {
		out, _ = codeview.Highlight(string(raw))
	}
	return out
}

// toolLogs is GET /tools/{id}/logs: with exec=, one execution's row
// (toolLogRow); with after=, the live marker's new rows (toolLogsNew);
// otherwise the Logs section.
func (h *handler) toolLogs(w http.ResponseWriter, r *http.Request, st *state) error {
	if r.URL.Query().Has("exec") {
		return h.toolLogRow(w, r, st)
	}
	return h.toolLogsNew(w, r, st)
}

// toolLogRow is GET /tools/{id}/logs?exec=<id>: one execution's row,
// expanded (or collapsed with &expanded=false), for htmx; any other
// request gets the tool page's Logs section with that execution open (U7).
func (h *handler) toolLogRow(w http.ResponseWriter, r *http.Request, st *state) error {
	id, ok := toolIDOf(r)
	raw := r.URL.Query().Get("exec")
	execID, err := uuid.Parse(raw)
	if !ok || err != nil || len(raw) != 36 {
		return h.notFound(w, r, st)
	}
	rec, err := h.d.Executions.Get(r.Context(), execID)
	if errors.Is(err, executions.ErrNotFound) || (err == nil && (rec.ToolID == nil || *rec.ToolID != id)) {
		return h.notFound(w, r, st)
	}
	if err != nil {
		return err
	}
	pg, err := h.toolsLoad(r, id, toolsTabLogs, 0)
	if errors.Is(err, tools.ErrNotFound) {
		return h.notFound(w, r, st)
	}
	if err != nil {
		return err
	}
	expanded := r.URL.Query().Get("expanded") != "false" || !st.htmx
	pg.Logs = &toolsLogs{
		Rows: []toolsLogRow{toolsRow(id, rec, expanded)}, Clear: "/tools/" + id.String() + "?tab=logs",
		Self: "/tools/" + id.String() + "?tab=logs", Single: true,
	}
	return h.render(w, r, st, page{Name: "tools", Title: "Tool " + pg.Exposed, Nav: navServers, Data: pg, Fragment: "tools-log-row-fragment"})
}

// Lines counts the log lines of the execution.
func (r toolsLogRow) Lines() int {
	if r.R.Stdout == nil || *r.R.Stdout == "" {
		return 0
	}
	return strings.Count(strings.TrimSuffix(*r.R.Stdout, "\n"), "\n") + 1
}

// Started is the start time in UTC, RFC 3339.
func (r toolsLogRow) Started() string { return r.R.StartedAt.UTC().Format(time.RFC3339) }

// VersionText is "v3" or "—".
func (r toolsLogRow) VersionText() string {
	if r.R.ToolVersion == nil {
		return "—"
	}
	return "v" + strconv.Itoa(int(*r.R.ToolVersion))
}
