package sources

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/revision"
)

// Constraint names of external_mcp_sources (db/migrations/00003_servers_tools.sql).
const constraintNameKey = "external_mcp_sources_server_id_name_key"

// Create adds a source to a server (§13.1). An LLM's source waits in
// pending_review and may not use OAuth (an admin sets that up in the UI);
// an admin's is active, approved by that admin. auth_secret_name must name
// an existing secret of the server. transportField names the transport in
// errors ("transport" for the API, "transport_type" for the management
// operation). Errors: *proto.RuleError, ErrServerNotFound, *NameTakenError.
func (s *Service) Create(ctx context.Context, a Audit, serverID uuid.UUID, in Input, transportField string) (Source, error) {
	c, err := checkInput(in, transportField)
	if err == nil && a.byLLM() && c.authType == string(proto.AuthOAuth) {
		err = &proto.RuleError{Field: "auth_type", Message: "OAuth sources are added by an admin in the UI."}
	}
	if err != nil {
		return Source{}, err
	}
	var out Source
	err = s.d.Store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		srv, err := q.GetToolServer(ctx, serverID)
		if errors.Is(err, db.ErrNotFound) {
			return ErrServerNotFound
		} else if err != nil {
			return err
		}
		if err := checkSecretExists(ctx, q, a, serverID, srv.Name, c.secret); err != nil {
			return err
		}
		p := dbq.InsertExternalSourceParams{
			ServerID: serverID, Name: c.name, Url: c.url, Transport: c.transport, AuthType: c.authType,
			AuthSecretName: c.secret, AuthHeaderName: c.header, Status: string(proto.SourcePendingReview), CreatedBy: a.Actor,
		}
		if !a.byLLM() {
			p.Status, p.ApprovedBy, p.ApprovedAt = string(proto.SourceActive), &a.Actor, ptr(now())
		}
		id, err := q.InsertExternalSource(ctx, p)
		if err != nil {
			return mapConstraint(err, srv.Name, c.name)
		}
		msg := fmt.Sprintf("Added external source '%s' (%s) to server '%s', %s.", c.name, c.url, srv.Name, p.Status)
		if err := audit(ctx, q, a, "source.create", serverID, msg, map[string]any{
			"source_id": id, "name": c.name, "url": c.url, "auth_type": c.authType, "auth_secret_name": c.secret,
			"status": p.Status,
		}); err != nil {
			return err
		}
		out, err = load(ctx, q, id)
		return err
	})
	if err != nil {
		return Source{}, wrap("create external source in server "+serverID.String(), err)
	}
	return out, nil
}

// checkSecretExists refuses an auth secret name the server has no secret
// of: the credential must be one an admin can see and set.
func checkSecretExists(ctx context.Context, q *dbq.Queries, a Audit, serverID uuid.UUID, server string, name *string) error {
	if name == nil {
		return nil
	}
	ok, err := q.ExternalSourceSecretExists(ctx, dbq.ExternalSourceSecretExistsParams{ServerID: serverID, Name: *name})
	if err != nil || ok {
		return err
	}
	how := "create it under the server's Secrets first."
	if a.byLLM() {
		how = "declare it with mcpbox_create_server_secret first; an admin then sets its value."
	}
	return &proto.RuleError{Field: "auth_secret_name", Message: fmt.Sprintf("server '%s' has no secret '%s'; %s", server, *name, how)}
}

// mapConstraint maps a constraint violation of a source write by name
// (§15.1).
func mapConstraint(err error, server, name string) error {
	var conflict *db.ConflictError
	var check *db.CheckError
	switch {
	case errors.As(err, &conflict) && conflict.Constraint == constraintNameKey:
		return &NameTakenError{Server: server, Name: name}
	case errors.As(err, &check):
		return &proto.RuleError{Message: fmt.Sprintf("The source breaks the rule %s; check name, url and the auth fields.", check.Constraint)}
	}
	return err
}

// Approve makes a pending_review source active (§13.1), approved by the
// caller; its tools may enter the catalog, whose revision it bumps.
func (s *Service) Approve(ctx context.Context, a Audit, id uuid.UUID) (Source, error) {
	return s.decideAndLoad(ctx, a, id, true, "")
}

// Reject disables a pending_review source with a reason of 1–2000
// characters, kept in its last_error ("Rejected by an admin: <reason>")
// so the LLM that added it can read why.
func (s *Service) Reject(ctx context.Context, a Audit, id uuid.UUID, reason string) (Source, error) {
	if err := checkReason(reason); err != nil {
		return Source{}, err
	}
	return s.decideAndLoad(ctx, a, id, false, reason)
}

func (s *Service) decideAndLoad(ctx context.Context, a Audit, id uuid.UUID, approve bool, reason string) (Source, error) {
	var out Source
	err := s.d.Store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		if err := decide(ctx, q, a, id, approve, reason); err != nil {
			return err
		}
		var err error
		out, err = load(ctx, q, id)
		return err
	})
	if err != nil {
		return Source{}, wrap("decide external source "+id.String(), err)
	}
	decision := approvals.DecisionApproved
	if !approve {
		decision = approvals.DecisionRejected
	}
	s.d.Approvals.CountDecision(approvals.ItemSource, decision)
	return out, nil
}

// DecideSource implements approvals.SourceDecider: Approve or Reject in
// the transaction of a bulk decision (the bulk request checked the
// reason).
func (s *Service) DecideSource(ctx context.Context, q *dbq.Queries, a approvals.Audit, id uuid.UUID, approve bool, reason string) error {
	if !approve {
		if err := checkReason(reason); err != nil {
			return err
		}
	}
	return wrap("decide external source "+id.String(), decide(ctx, q, Audit(a), id, approve, reason))
}

// decide approves or rejects a pending_review source in q's transaction.
func decide(ctx context.Context, q *dbq.Queries, a Audit, id uuid.UUID, approve bool, reason string) error {
	row, server, err := lockSource(ctx, q, id)
	if err != nil {
		return err
	}
	verb := "approve"
	if !approve {
		verb = "reject"
	}
	if row.Status != string(proto.SourcePendingReview) {
		return &InvalidStateError{Message: fmt.Sprintf("External source '%s' is %s; %s needs pending_review.", row.Name, row.Status, verb)}
	}
	var msg string
	details := map[string]any{"source_id": id, "name": row.Name, "url": row.Url}
	if approve {
		row.Status, row.ApprovedBy, row.ApprovedAt, row.LastError = string(proto.SourceActive), &a.Actor, ptr(now()), nil
		msg = fmt.Sprintf("Approved external source '%s' (%s) of server '%s'.", row.Name, row.Url, server)
	} else {
		row.Status, row.LastError = string(proto.SourceDisabled), ptr(truncate("Rejected by an admin: "+reason, maxErrorLen))
		msg = fmt.Sprintf("Rejected external source '%s' (%s) of server '%s': %s", row.Name, row.Url, server, reason)
		details["reason"] = reason
	}
	if err := q.SetExternalSource(ctx, setParams(row)); err != nil {
		return err
	}
	if _, err := revision.Catalog(ctx, q); err != nil {
		return err
	}
	return audit(ctx, q, a, "source."+verb, row.ServerID, msg, details)
}

// Delete removes a source (§4.3). A source with imported tools is refused
// (*HasDependentsError) unless withTools, which deletes them with it: their
// pending and rejected requests go too, approved ones stay as server grants
// (as a tool delete does). It bumps the catalog revision and returns how
// many tools went.
func (s *Service) Delete(ctx context.Context, a Audit, id uuid.UUID, withTools bool) (int, error) {
	var removed int
	err := s.d.Store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		row, server, err := lockSource(ctx, q, id)
		if err != nil {
			return err
		}
		imported, err := q.ListExternalSourceToolsForUpdate(ctx, &id)
		if err != nil {
			return err
		}
		if len(imported) > 0 && !withTools {
			return &HasDependentsError{Source: row.Name, Tools: len(imported)}
		}
		for _, t := range imported {
			if _, err := q.DeleteToolRequests(ctx, t.ID); err != nil {
				return err
			}
			exposed := proto.ExposedName(server, t.Name)
			if err := activity.Write(ctx, q, activity.Entry{
				Category: activity.Audit, Action: "tool.delete", Actor: a.Actor, ServerID: &row.ServerID, ToolID: &t.ID,
				RequestID: a.RequestID, Message: fmt.Sprintf("Deleted tool '%s' with its external source '%s'.", exposed, row.Name),
				Details: map[string]any{"exposed_name": exposed, "latest_version": t.LatestVersion, "source_id": id},
			}); err != nil {
				return err
			}
		}
		if err := q.DeleteExternalSource(ctx, id); err != nil {
			return err
		}
		if _, err := revision.Catalog(ctx, q); err != nil {
			return err
		}
		removed = len(imported)
		return audit(ctx, q, a, "source.delete", row.ServerID,
			fmt.Sprintf("Deleted external source '%s' (%s) of server '%s' and %d imported tool(s).", row.Name, row.Url, server, removed),
			map[string]any{"source_id": id, "name": row.Name, "url": row.Url, "deleted_tools": removed})
	})
	if err != nil {
		return 0, wrap("delete external source "+id.String(), err)
	}
	return removed, nil
}

// audit writes an audit row about a source.
func audit(ctx context.Context, q *dbq.Queries, a Audit, action string, serverID uuid.UUID, msg string, details map[string]any) error {
	return activity.Write(ctx, q, activity.Entry{
		Category: activity.Audit, Action: action, Actor: a.Actor, Message: msg, ServerID: &serverID,
		RequestID: a.RequestID, Details: details,
	})
}
