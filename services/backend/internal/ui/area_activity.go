package ui

import (
	"html/template"
	"net/http"
)

// Activity (admin-ui.md §11.8): the area's routes (pages, fragments and mutations, each mutation
// with its /api/v1 twins) and its template functions. The area has no
// mutation: every route is a GET.
//
// Decisions:
//   - The URL is the state (U6): view, the view's filters, size (25, 50 or
//     100) and cursor. parseActivityQuery keeps what is valid and names the
//     rest for the error summary (422); execValues and auditValues map the
//     filters to GET /executions and GET /activity?category=audit, and the
//     executions service's own ParseFilter reads them. since accepts the
//     presets 1h, 24h, 7d and 30d (the dashboard links with its period);
//     page links carry since as a time so a cursor stays valid.
//   - Rows expand through GET /activity/executions/{id} and
//     /activity/audit/{id} (?open=1|0): the summary row and its details row
//     (out of band); without htmx the entry's own page.
//   - The live tail is GET /ui/activity/tail with the page's filters; its
//     state (after, shown, live) rides in hidden inputs the control
//     includes, so the control's element persists and only its content is
//     swapped. New rows are prepended out of band (wrapped in <template> so
//     they parse as rows); from an empty table, after a lost anchor or past
//     500 rows the whole result is replaced by the newest rows. Paused, new
//     rows are counted ("N new — Show"). A throttled trigger (1 s) and a
//     wrapper's trailing one (delay 2 s) make sure no event is lost.
//   - The "Offline — retrying" state of the tail follows the shell's live
//     indicator through CSS (:has), with no script of its own.

func (h *handler) activityRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Pattern: "/activity", Access: Session, h: h.activityShow},
		{Method: http.MethodGet, Pattern: "/activity/executions/{id}", Access: Session, h: h.execDetail},
		{Method: http.MethodGet, Pattern: "/activity/audit/{id}", Access: Session, h: h.auditDetail},
		{Method: http.MethodGet, Pattern: "/ui/activity/tail", Access: Session, h: h.activityTail},
	}
}

// activityFuncs are the area's template functions (merged into every page's set).
func activityFuncs() template.FuncMap {
	return template.FuncMap{
		"activityActor":      actorText,
		"activityCaller":     callerText,
		"activityOutcome":    outcomeText,
		"activityDuration":   func(ms int32) string { return durationText(int64(ms)) },
		"activityJSON":       prettyJSON,
		"activityTarget":     targetLink,
		"activityTargetName": targetText,
		"activityPresets":    func() any { return sincePresets },
		"activityDeref": func(s *string) string {
			if s == nil {
				return ""
			}
			return *s
		},
	}
}
