package adminapi

import (
	"errors"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v5"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
	"github.com/mcpbox/mcpbox/services/backend/internal/transfer"
)

// registerTransfer adds the export and import routes of backend.md §8.2.
func (h *handlers) registerTransfer(v1 *echo.Group) {
	v1.GET("/export", h.exportDoc, h.authenticate)
	v1.POST("/import", h.importDoc, h.authenticate, h.long(activity.OpImport))
}

func transferAudit(c *echo.Context) transfer.Audit {
	return transfer.Audit{Actor: principal(c).Actor(), RequestID: requestID(c)}
}

// exportDoc is GET /export?server_id=…: the signed document as a download
// named mcpbox-export-YYYYMMDD.json.
func (h *handlers) exportDoc(c *echo.Context) error {
	var serverID *uuid.UUID
	if raw := c.QueryParam("server_id"); raw != "" {
		id, err := uuid.Parse(raw)
		if err != nil {
			return invalid("server_id", "must be a server id (a UUID); list the servers with GET /api/v1/servers.")
		}
		serverID = &id
	}
	out, err := h.d.Transfer.Export(c.Request().Context(), transferAudit(c), serverID)
	if errors.Is(err, transfer.ErrServerNotFound) {
		return serverNotFound()
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", "attachment; filename="+out.Filename)
	return c.Blob(http.StatusOK, "application/json", out.Body)
}

// importDoc is POST /import?restore_approvals=&on_conflict=skip|rename&dry_run=
// with the document as the body (at most 16 MiB).
func (h *handlers) importDoc(c *echo.Context) error {
	opt, err := importOptions(c)
	if err != nil {
		return err
	}
	body, err := readJSON(c, transfer.MaxDocumentBytes)
	if err != nil {
		return err
	}
	res, err := h.d.Transfer.Import(c.Request().Context(), transferAudit(c), body, opt, progress(c))
	if err != nil {
		return transferError(err)
	}
	return c.JSON(http.StatusOK, res)
}

// importOptions reads the query parameters of POST /import.
func importOptions(c *echo.Context) (transfer.Options, error) {
	var opt transfer.Options
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"restore_approvals", &opt.RestoreApprovals}, {"dry_run", &opt.DryRun}} {
		switch c.QueryParam(b.name) {
		case "", "false":
		case "true":
			*b.dst = true
		default:
			return opt, invalid(b.name, "must be true or false.")
		}
	}
	switch v := transfer.Conflict(c.QueryParam("on_conflict")); v {
	case "", transfer.ConflictSkip:
		opt.OnConflict = transfer.ConflictSkip
	case transfer.ConflictRename:
		opt.OnConflict = v
	default:
		return opt, invalid("on_conflict", "must be skip (the default: report the server and import nothing of it) "+
			"or rename (import it as <name>_2, _3, …).")
	}
	return opt, nil
}

// transferError maps the import's refusals (§14.4, §15.1).
func transferError(err error) error {
	var (
		sig     *transfer.SignatureError
		syntax  *transfer.SyntaxError
		sandbox *sandboxclient.Error
	)
	switch {
	case errors.As(err, &sig) && sig.Missing:
		return fail(http.StatusBadRequest, proto.CodeSignatureMissing, "%s", sig.Message)
	case errors.As(err, &sig):
		return fail(http.StatusBadRequest, proto.CodeSignatureInvalid, "%s", sig.Message)
	case errors.As(err, &syntax):
		return fail(http.StatusBadRequest, proto.CodeInvalidJSON, "%s", syntax.Message)
	case errors.As(err, &sandbox):
		return toolsError(err)
	}
	if e := ruleFailure(err); e != nil {
		return e
	}
	return err
}
