package adminapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v5"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/page"
	"github.com/mcpbox/mcpbox/services/backend/internal/secrets"
)

// registerSecrets adds the secret routes of backend.md §8.2. No route
// returns a value (§12.2): responses carry has_value.
func (h *handlers) registerSecrets(v1 *echo.Group) {
	signedIn := h.authenticate
	v1.GET("/servers/:id/secrets", h.listSecrets, signedIn)
	v1.POST("/servers/:id/secrets", h.createSecret, signedIn)
	v1.PUT("/servers/:id/secrets/:name", h.setSecretValue, signedIn)
	v1.PATCH("/servers/:id/secrets/:name", h.updateSecret, signedIn)
	v1.DELETE("/servers/:id/secrets/:name", h.deleteSecret, signedIn)
	v1.DELETE("/servers/:id/secrets/:name/value", h.clearSecretValue, signedIn)
}

// secretJSON is the Secret resource of backend.md §8.1: never a value.
type secretJSON struct {
	ID          uuid.UUID  `json:"id"`
	ServerID    uuid.UUID  `json:"server_id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	HasValue    bool       `json:"has_value"`
	ValueSetAt  *timestamp `json:"value_set_at"`
	CreatedAt   timestamp  `json:"created_at"`
	UpdatedAt   timestamp  `json:"updated_at"`
}

// secretListJSON is a page of GET /servers/{id}/secrets.
type secretListJSON struct {
	Items      []secretJSON `json:"items"`
	NextCursor *string      `json:"next_cursor"`
}

func toSecretJSON(s secrets.Secret) secretJSON {
	out := secretJSON{
		ID: s.ID, ServerID: s.ServerID, Name: s.Name, Description: s.Description, HasValue: s.HasValue(),
		CreatedAt: timestamp(s.CreatedAt), UpdatedAt: timestamp(s.UpdatedAt),
	}
	if s.ValueSetAt != nil {
		at := timestamp(*s.ValueSetAt)
		out.ValueSetAt = &at
	}
	return out
}

// secretsError maps the secrets service's errors to the API's (§15.1).
func secretsError(err error) error {
	var exists *secrets.AlreadyExistsError
	switch {
	case errors.Is(err, secrets.ErrServerNotFound):
		return serverNotFound()
	case errors.Is(err, secrets.ErrSecretNotFound):
		return fail(http.StatusNotFound, proto.CodeNotFound,
			"No such secret on this server; list the server's secrets with GET /api/v1/servers/{id}/secrets.")
	case errors.As(err, &exists):
		e := fail(http.StatusConflict, proto.CodeAlreadyExists,
			"The server already has a secret named '%s'; set its value with PUT /api/v1/servers/{id}/secrets/%s, or pick another name.",
			exists.Name, exists.Name)
		e.body.Field = "name"
		return e
	}
	if e := ruleFailure(err); e != nil {
		return e
	}
	return err
}

// secretString reads an optional string field of a secret body into *dst:
// absent (raw nil) leaves it nil; null and other types are refused, null
// with nullHint saying what to send instead. A refusal never echoes the
// field's value.
func secretString(field string, raw json.RawMessage, nullHint string, dst **string) error {
	if raw == nil {
		return nil
	}
	var s *string
	if err := json.Unmarshal(raw, &s); err != nil {
		return invalid(field, "must be a string")
	}
	if s == nil {
		return invalid(field, "must be a string, not null; %s", nullHint)
	}
	*dst = s
	return nil
}

func secretsAuditOf(c *echo.Context) secrets.Audit {
	return secrets.Audit{Actor: principal(c).Actor(), RequestID: requestID(c)}
}

func (h *handlers) listSecrets(c *echo.Context) error {
	id, err := serverID(c)
	if err != nil {
		return err
	}
	limit, err := page.ParseLimit(c.QueryParam("limit"))
	if err != nil {
		return secretsError(err)
	}
	res, err := h.d.Secrets.List(c.Request().Context(), id, limit, c.QueryParam("cursor"))
	if err != nil {
		return secretsError(err)
	}
	out := secretListJSON{Items: make([]secretJSON, len(res.Items))}
	for i, s := range res.Items {
		out.Items[i] = toSecretJSON(s)
	}
	if res.NextCursor != "" {
		out.NextCursor = &res.NextCursor
	}
	return c.JSON(http.StatusOK, out)
}

func (h *handlers) createSecret(c *echo.Context) error {
	id, err := serverID(c)
	if err != nil {
		return err
	}
	var in struct {
		Name        string          `json:"name"`
		Description json.RawMessage `json:"description"`
		Value       json.RawMessage `json:"value"`
	}
	if err := decode(c, &in, "name"); err != nil {
		return err
	}
	create := secrets.CreateInput{Name: in.Name}
	var description *string
	if err := secretString("description", in.Description, "omit the field for an empty description", &description); err != nil {
		return err
	}
	if description != nil {
		create.Description = *description
	}
	if err := secretString("value", in.Value, "omit the field to create the secret without a value", &create.Value); err != nil {
		return err
	}
	s, err := h.d.Secrets.Create(c.Request().Context(), secretsAuditOf(c), id, create)
	if err != nil {
		return secretsError(err)
	}
	return c.JSON(http.StatusCreated, toSecretJSON(s))
}

func (h *handlers) setSecretValue(c *echo.Context) error {
	id, err := serverID(c)
	if err != nil {
		return err
	}
	var in struct {
		Value json.RawMessage `json:"value"`
	}
	if err := decode(c, &in, "value"); err != nil {
		return err
	}
	var value *string
	if err := secretString("value", in.Value, "remove a value with DELETE /api/v1/servers/{id}/secrets/{name}/value", &value); err != nil {
		return err
	}
	if value == nil {
		return invalid("value", "required")
	}
	s, err := h.d.Secrets.SetValue(c.Request().Context(), secretsAuditOf(c), id, c.Param("name"), *value)
	if err != nil {
		return secretsError(err)
	}
	return c.JSON(http.StatusOK, toSecretJSON(s))
}

func (h *handlers) clearSecretValue(c *echo.Context) error {
	id, err := serverID(c)
	if err != nil {
		return err
	}
	s, err := h.d.Secrets.ClearValue(c.Request().Context(), secretsAuditOf(c), id, c.Param("name"))
	if err != nil {
		return secretsError(err)
	}
	return c.JSON(http.StatusOK, toSecretJSON(s))
}

func (h *handlers) updateSecret(c *echo.Context) error {
	id, err := serverID(c)
	if err != nil {
		return err
	}
	var in struct {
		Description json.RawMessage `json:"description"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	var description *string
	if err := secretString("description", in.Description, "send \"\" for an empty description", &description); err != nil {
		return err
	}
	if description == nil {
		return invalid("", "no fields to update: send description (the value is set with PUT, the name cannot change)")
	}
	s, err := h.d.Secrets.SetDescription(c.Request().Context(), secretsAuditOf(c), id, c.Param("name"), *description)
	if err != nil {
		return secretsError(err)
	}
	return c.JSON(http.StatusOK, toSecretJSON(s))
}

func (h *handlers) deleteSecret(c *echo.Context) error {
	id, err := serverID(c)
	if err != nil {
		return err
	}
	if err := h.d.Secrets.Delete(c.Request().Context(), secretsAuditOf(c), id, c.Param("name")); err != nil {
		return secretsError(err)
	}
	return c.NoContent(http.StatusNoContent)
}
