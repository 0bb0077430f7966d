package ui

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
	"github.com/mcpbox/mcpbox/services/backend/internal/transfer"
)

// Messages of the Backup tab.
const (
	msgImportFile     = "file: choose an export file (.json, at most 16 MiB)."
	msgImportTooLarge = "file: the file is larger than 16 MiB; choose an export of MCPbox."
	msgImportConflict = "on_conflict: choose Skip or Rename."
)

// longWrite is the write deadline of the UI's long actions (import, dry
// run, self-check): the long class of backend.md §3.
const longWrite = 330 * time.Second

// backupView is the data of the Backup tab: the import form and, after a
// dry run or an import, its result.
type backupView struct {
	OnConflict string
	File       field
	Result     *transfer.Result
	// DryRunDone: the Import button is enabled (a dry run answered).
	DryRunDone bool
	formProblems
}

// settingsExport is GET /settings/export (the twin of GET
// /api/v1/export): the signed document as the download
// mcpbox-export-YYYYMMDD.json.
func (h *handler) settingsExport(w http.ResponseWriter, r *http.Request, st *state) error {
	if h.d.Transfer == nil {
		return errNotWired
	}
	out, err := h.d.Transfer.Export(r.Context(), transfer.Audit{Actor: st.p.Actor(), RequestID: st.reqID}, nil)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", "attachment; filename="+out.Filename)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Body)
	return nil
}

// settingsImport is POST /settings/import (twin: POST /api/v1/import): a
// multipart form with the file, on_conflict (skip|rename) and mode
// (dry_run|apply); approvals are never restored.
func (h *handler) settingsImport(w http.ResponseWriter, r *http.Request, st *state) error {
	if h.d.Transfer == nil {
		return errNotWired
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(longWrite))
	v := &backupView{OnConflict: r.PostFormValue("on_conflict")}
	dry := r.PostFormValue("mode") != "apply"
	opt := transfer.Options{DryRun: dry, RestoreApprovals: false}
	switch transfer.Conflict(v.OnConflict) {
	case transfer.ConflictSkip, transfer.ConflictRename:
		opt.OnConflict = transfer.Conflict(v.OnConflict)
	default:
		v.OnConflict = string(transfer.ConflictSkip)
		v.add(&v.File, "backup-conflict-skip", msgImportConflict)
	}
	var body []byte
	file, _, err := r.FormFile("file")
	switch {
	case err != nil:
		v.add(&v.File, "backup-file", msgImportFile)
	default:
		body, err = io.ReadAll(io.LimitReader(file, transfer.MaxDocumentBytes+1))
		_ = file.Close()
		switch {
		case err != nil:
			return err
		case len(body) == 0:
			v.add(&v.File, "backup-file", msgImportFile)
		case len(body) > transfer.MaxDocumentBytes:
			v.add(&v.File, "backup-file", msgImportTooLarge)
		}
	}
	if v.any() {
		return h.renderBackup(w, r, st, http.StatusUnprocessableEntity, v)
	}
	op := activity.OpImport
	if dry {
		op = activity.OpImportDryRun
	}
	rep := h.newProgress(r.Context(), st, op)
	res, err := h.d.Transfer.Import(r.Context(), transfer.Audit{Actor: st.p.Actor(), RequestID: st.reqID}, body, opt, rep.Report)
	rep.Finish()
	answerProgress(w, rep)
	if msg, ok := fileProblem(err); ok {
		v.add(&v.File, "backup-file", msg)
		return h.renderBackup(w, r, st, http.StatusUnprocessableEntity, v)
	}
	var sb *sandboxclient.Error
	if errors.As(err, &sb) {
		v.Problem = "The sandbox could not check the tools; nothing was imported. Try again. (" + sb.Error() + ")"
		return h.renderBackup(w, r, st, http.StatusUnprocessableEntity, v)
	}
	if err != nil {
		return err
	}
	v.Result, v.DryRunDone = &res, dry
	if !dry {
		toast(w, "info", "Import finished.", "")
	}
	return h.renderBackup(w, r, st, http.StatusOK, v)
}

// fileProblem is the message, shown at the file field, of an import
// refused as a whole because of the file (nothing written): invalid JSON,
// a bad or missing signature, an unknown format version or a broken rule.
func fileProblem(err error) (string, bool) {
	var (
		sig    *transfer.SignatureError
		syntax *transfer.SyntaxError
		rule   *proto.RuleError
	)
	switch {
	case errors.As(err, &sig):
		return "file: the signature is not valid. " + sig.Message, true
	case errors.As(err, &syntax):
		return "file: not a valid export. " + syntax.Message, true
	case errors.As(err, &rule):
		return "file: not a valid export. " + rule.Error(), true
	}
	return "", false
}

func (h *handler) renderBackup(w http.ResponseWriter, r *http.Request, st *state, status int, v *backupView) error {
	return h.renderSettings(w, r, st, status, tabBackup, settingsPage{Backup: v}, "settings-import-answer-htmx")
}

// newProgress reports a long action's progress to the streams of the
// session that started it, with the request's id, as the API does.
func (h *handler) newProgress(ctx context.Context, st *state, op activity.Operation) *activity.Reporter {
	var n activity.Notifier
	if h.d.Store != nil {
		n = h.d.Store
	}
	return activity.NewReporter(ctx, n, h.d.Log, activity.ProgressEvent{Session: st.p.SessionID, RequestID: st.reqID, Operation: op})
}

// answerProgress puts the last report on the response too (HX-Trigger
// mcpbox:progress, dispatched before the swap): the stream's copy travels
// through NOTIFY and may arrive after the answer, so the bar would never
// show the end ("40 of 40") that the answer replaces.
func answerProgress(w http.ResponseWriter, rep *activity.Reporter) {
	if ev, ok := rep.Last(); ok {
		trigger(w, "mcpbox:progress", progressEvent{RequestID: ev.RequestID, Operation: string(ev.Operation), Done: ev.Done, Total: ev.Total})
	}
}
