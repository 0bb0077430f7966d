package catalog

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
)

// External source auth types (backend.md §4.2 external_mcp_sources).
const (
	authNone   = "none"
	authBearer = "bearer"
	authHeader = "header"
	authOAuth  = "oauth"
)

// RefusedError is a plan refusal that is not the caller's fault to retry
// blindly: its Status and Code are those of the §9.4 table and Message is
// the sentence the gateway returns to its client.
type RefusedError struct {
	Status  int
	Code    string
	Message string
}

// Error implements error.
func (e *RefusedError) Error() string { return e.Code + ": " + e.Message }

func refused(status int, code, format string, args ...any) *RefusedError {
	return &RefusedError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// planState is what a plan is built from, read in one snapshot.
type planState struct {
	tool    dbq.GetPlanToolRow
	version dbq.ToolVersion
	// anyPort and ports are the server's approved hosts (§6.5).
	anyPort map[string]bool
	ports   map[string]bool
}

// Plan returns the plan of version of tool id (backend.md §9.4). Refusals
// are *RefusedError: 404 not_found for an unknown tool, 409 not_executable
// for a version that is not the approved one or a tool that is not live,
// 409 secret_missing when a manifest secret has no value. A version whose
// content does not match its pinned hash is a *CorruptError, after an
// error activity row was written (§6.4); requestID goes into that row.
func (s *Service) Plan(ctx context.Context, id uuid.UUID, version int, requestID string) (proto.Plan, error) {
	st, err := s.readPlanState(ctx, id, version)
	if err != nil {
		return proto.Plan{}, err
	}
	t, v := st.tool, st.version
	name := proto.ExposedName(t.ServerName, t.Name)
	c, err := readContent(t.Kind, v.Code, v.Manifest, v.ExternalDefinition, v.Hash, *t.ApprovedHash)
	if err != nil {
		return proto.Plan{}, s.reportCorruption(ctx, t, name, v, requestID, err)
	}
	pol, _, err := s.policy.Current(ctx)
	if err != nil {
		return proto.Plan{}, fmt.Errorf("plan of %s: %w", name, err)
	}
	p := proto.Plan{
		ToolID: t.ID.String(), ServerID: t.ServerID.String(), ServerName: t.ServerName, Name: name,
		Kind: proto.ToolKind(t.Kind), Version: int(v.Version), Hash: c.Hash, Code: c.Code,
		Manifest: c.Manifest, InputSchema: orNull(v.InputSchema), OutputSchema: orNull(v.OutputSchema),
		ExtraPackages: slices.Clone(c.Manifest.Packages), Secrets: map[string]string{},
		Limits: proto.Limits{TimeoutMS: c.Manifest.TimeoutMS, MemoryMB: c.Manifest.MemoryMB},
		Redact: pol.RedactSecretsInOutput == string(proto.ToggleEnabled),
	}
	if p.Kind == proto.ToolKindGo && pol.NetworkAccessPolicy == string(proto.NetworkAllowAllPublic) {
		p.AllowedHosts = proto.AnyPublicHost()
	} else {
		p.AllowedHosts = proto.OnlyHosts(st.covered(c.Manifest.Hosts)...)
	}

	names := slices.Clone(c.Manifest.Secrets)
	authSecret := ""
	if p.Kind == proto.ToolKindExternal {
		authSecret, err = sourceAuthSecret(t, s.oauth != nil)
		if err != nil {
			return proto.Plan{}, err
		}
		if authSecret != "" && !slices.Contains(names, authSecret) {
			names = append(names, authSecret)
		}
	}
	values, missing, err := s.secrets.Values(ctx, t.ServerID, names)
	if err != nil {
		return proto.Plan{}, fmt.Errorf("plan of %s: %w", name, err)
	}
	if len(missing) > 0 {
		return proto.Plan{}, refused(http.StatusConflict, proto.CodeSecretMissing,
			"Secret '%s' of server '%s' has no value. An admin must set it in the MCPbox UI (Servers > %s > Secrets).",
			missing[0], t.ServerName, t.ServerName)
	}
	for _, n := range c.Manifest.Secrets {
		p.Secrets[n] = values[n]
	}
	if p.Kind == proto.ToolKindExternal {
		p.External = &proto.PlanExternal{
			SourceID: t.SourceID.String(), URL: *t.SourceUrl, Transport: proto.Transport(*t.SourceTransport),
			Tool: c.Definition.Name, Definition: *c.Definition, Headers: map[string]string{},
		}
		switch *t.SourceAuthType {
		case authBearer:
			p.External.Headers["Authorization"] = "Bearer " + values[authSecret]
		case authHeader:
			p.External.Headers[*t.SourceAuthHeaderName] = values[authSecret]
		case authOAuth:
			token, expiry, err := s.oauth.AccessTokenWithExpiry(ctx, *t.SourceID)
			if err != nil {
				return proto.Plan{}, oauthRefusal(t, err)
			}
			p.External.Headers["Authorization"] = "Bearer " + token
			if !expiry.IsZero() {
				p.ExpiresAt = &expiry
			}
		}
	}
	return p, nil
}

// oauthRefusal maps a failure to get a source's access token (§9.4): an
// admin must sign in again → 409 source_auth_failed; the sandbox could not
// broker the refresh → its 503 or 502.
func oauthRefusal(t dbq.GetPlanToolRow, err error) error {
	var signIn interface{ SignInRequired() bool }
	if errors.As(err, &signIn) && signIn.SignInRequired() {
		return refused(http.StatusConflict, proto.CodeSourceAuthFailed,
			"External source '%s' needs an admin to sign in again (Servers > %s > External sources).",
			deref(t.SourceName), t.ServerName)
	}
	var sandbox *sandboxclient.Error
	if errors.As(err, &sandbox) {
		return refused(sandbox.Status(), sandbox.Code(), "%s", sandbox.Message())
	}
	return fmt.Errorf("plan: the access token of source %s: %w", *t.SourceID, err)
}

// readPlanState reads the tool, checks that version is its approved
// version and that the tool is live, and reads that version and the
// server's approved hosts, all in one snapshot.
func (s *Service) readPlanState(ctx context.Context, id uuid.UUID, version int) (planState, error) {
	var st planState
	err := s.store.InSnapshot(ctx, func(q *dbq.Queries) error {
		t, err := q.GetPlanTool(ctx, id)
		if errors.Is(err, db.ErrNotFound) {
			return refused(http.StatusNotFound, proto.CodeNotFound, "Tool %s not found.", id)
		}
		if err != nil {
			return fmt.Errorf("read tool %s: %w", id, err)
		}
		if err := executable(t, version); err != nil {
			return err
		}
		st.tool = t
		if st.version, err = q.GetToolVersion(ctx, dbq.GetToolVersionParams{ToolID: id, Version: *t.ApprovedVersion}); err != nil {
			return fmt.Errorf("read version %d of tool %s: %w", *t.ApprovedVersion, id, err)
		}
		hosts, err := q.ListToolCoverageHosts(ctx, t.ServerID)
		if err != nil {
			return fmt.Errorf("read the approved hosts of server %s: %w", t.ServerID, err)
		}
		st.anyPort, st.ports = map[string]bool{}, map[string]bool{}
		for _, h := range hosts {
			if h.Port == nil {
				st.anyPort[h.Host] = true
			} else {
				st.ports[h.Host+":"+strconv.Itoa(int(*h.Port))] = true
			}
		}
		return nil
	})
	var re *RefusedError
	if err != nil && !errors.As(err, &re) {
		return planState{}, fmt.Errorf("plan: %w", err)
	}
	return st, err
}

// executable refuses a plan (409 not_executable) for a version other than
// the approved one or a tool that is not live (§9.4, §16 items 7 and 8).
func executable(t dbq.GetPlanToolRow, version int) error {
	name := proto.ExposedName(t.ServerName, t.Name)
	notExec := func(format string, args ...any) error {
		return refused(http.StatusConflict, proto.CodeNotExecutable, format, args...)
	}
	switch {
	case t.ApprovedVersion == nil:
		return notExec("'%s' has no approved version (review status: %s); an admin must approve it in the MCPbox UI "+
			"before it can run (request a review with mcpbox_request_publish).", name, t.ReviewStatus)
	case int(*t.ApprovedVersion) != version:
		return notExec("Version %d of '%s' is not the approved version (approved: %d).", version, name, *t.ApprovedVersion)
	case t.ServerStatus != serverRunning:
		return notExec("Server '%s' is stopped; start it with mcpbox_start_server.", t.ServerName)
	case !t.Enabled:
		return notExec("'%s' is disabled; enable it with mcpbox_update_tool (enabled: true) or in the MCPbox UI.", name)
	case proto.ToolKind(t.Kind) == proto.ToolKindExternal && !usable(t.SourceStatus):
		return notExec("External source '%s' of server '%s' is %s; an admin must approve or enable it in the MCPbox UI "+
			"(Servers > %s > External sources).", deref(t.SourceName), t.ServerName, deref(t.SourceStatus), t.ServerName)
	case t.ApprovedHash == nil:
		return fmt.Errorf("tool %s has approved version %d without an approved hash", t.ID, *t.ApprovedVersion)
	}
	return nil
}

// sourceAuthSecret returns the secret whose value makes an external
// source's auth header ("" for auth none and oauth). OAuth sources are
// refused when the service has no token provider (oauth false).
func sourceAuthSecret(t dbq.GetPlanToolRow, oauth bool) (string, error) {
	if t.SourceID == nil || t.SourceUrl == nil || t.SourceTransport == nil || t.SourceAuthType == nil {
		return "", fmt.Errorf("external tool %s has no source", t.ID)
	}
	switch *t.SourceAuthType {
	case authNone:
		return "", nil
	case authBearer, authHeader:
		if t.SourceAuthSecretName == nil || (*t.SourceAuthType == authHeader && t.SourceAuthHeaderName == nil) {
			return "", fmt.Errorf("external source %s: auth %s without its secret or header name", *t.SourceID, *t.SourceAuthType)
		}
		return *t.SourceAuthSecretName, nil
	case authOAuth:
		if oauth {
			return "", nil
		}
		return "", refused(http.StatusNotImplemented, proto.CodeNotImplemented,
			"Plans for external sources that sign in with OAuth ('%s') are not implemented in this build of MCPbox.",
			deref(t.SourceName))
	default:
		return "", fmt.Errorf("external source %s: unknown auth type %q", *t.SourceID, *t.SourceAuthType)
	}
}

// covered returns the manifest hosts the server's approved requests cover
// (§6.3): "h" needs an any-port approval of h, "h:p" one of h or of h:p.
func (st planState) covered(hosts []string) []string {
	out := []string{}
	for _, h := range hosts {
		host, port := proto.SplitNormalizedHost(h)
		if st.anyPort[host] || (port != "" && st.ports[h]) {
			out = append(out, h)
		}
	}
	return out
}

// reportCorruption writes the error activity row of a version whose
// content does not match its pinned hash (§6.4, §14.1) and returns the
// corruption error.
func (s *Service) reportCorruption(ctx context.Context, t dbq.GetPlanToolRow, name string, v dbq.ToolVersion,
	requestID string, cause error,
) error {
	err := fmt.Errorf("plan of %s version %d: %w", name, v.Version, cause)
	details := map[string]any{"version": v.Version, "hash": v.Hash, "approved_hash": deref(t.ApprovedHash)}
	var ce *CorruptError
	if errors.As(cause, &ce) && ce.Computed != "" {
		details["computed_hash"] = ce.Computed
	}
	werr := s.store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		return activity.Write(ctx, q, activity.Entry{
			Category: activity.Error, Action: "tool.hash_mismatch", Level: levelError,
			Message: fmt.Sprintf("Version %d of '%s' does not match its pinned hash; plans are refused until the "+
				"tool is restored from a backup or a new version is approved.", v.Version, name),
			ServerID: &t.ServerID, ToolID: &t.ID, RequestID: requestID, Details: details,
		})
	})
	if werr != nil {
		return errors.Join(err, fmt.Errorf("write the error activity row: %w", werr))
	}
	return err
}

// levelError is the activity level of a corruption row.
const levelError = "error"

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
