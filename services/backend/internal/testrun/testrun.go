// Package testrun is test runs of tool versions in the sandbox (backend.md
// §11.2, §8.2 POST /tools/{id}/test, §12.3).
//
// A test run executes one version (default the latest) once through
// /v1/execute. The approved version runs with exactly its plan (§9.4, full
// capabilities). Any other version runs with reduced capabilities: only
// the manifest hosts that are covered and public-looking (every
// private-looking name and non-public IP literal is withheld and listed),
// or null under allow_all_public; the approved manifest packages; no secret
// values (their names are sent as withheld_secrets) unless an admin asks
// for them with use_secrets, which is audited and adds the values and
// nothing else; limits from the manifest. Arguments are validated against
// the version's input schema before anything runs. At most
// MCPBOX_TEST_RUN_CONCURRENCY runs are in flight per process. The answer
// is redacted with the server's secrets before it is returned and stored
// as an execution record with via "test" (package executions).
package testrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/catalog"
	"github.com/mcpbox/mcpbox/services/backend/internal/executions"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
	"github.com/mcpbox/mcpbox/services/backend/internal/secrets"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
)

// BusyRetryAfter is the Retry-After, in seconds, of a refusal for want of
// a test-run slot (backend.md §11.2).
const BusyRetryAfter = 2

// Capabilities of a test run (backend.md §10.2 mcpbox_test_code).
const (
	CapabilitiesFull    = "full"
	CapabilitiesReduced = "reduced"
)

// ErrBusy refuses a run when every test-run slot of the process is taken.
var ErrBusy = errors.New("too many test runs in progress; try again in a few seconds")

// NoCodeError refuses a test run of an external tool.
type NoCodeError struct{ Tool string }

// Error implements error.
func (e *NoCodeError) Error() string {
	return fmt.Sprintf("Tool '%s' is an external tool; test it by calling it once it is published.", e.Tool)
}

// Service runs tool versions in the sandbox for tests.
type Service struct {
	store      *db.Store
	sandbox    *sandboxclient.Client
	catalog    *catalog.Service
	secrets    *secrets.Service
	policy     *policy.Service
	executions *executions.Service
	slots      chan struct{}
}

// New returns the service; concurrency is MCPBOX_TEST_RUN_CONCURRENCY.
func New(store *db.Store, sandbox *sandboxclient.Client, catalog *catalog.Service, secrets *secrets.Service,
	policy *policy.Service, executions *executions.Service, concurrency int,
) *Service {
	return &Service{
		store: store, sandbox: sandbox, catalog: catalog, secrets: secrets, policy: policy, executions: executions,
		slots: make(chan struct{}, max(concurrency, 1)),
	}
}

// Request is one test run.
type Request struct {
	ToolID uuid.UUID
	// Version is the version to run; 0 runs the latest.
	Version int
	// Arguments are the call's arguments; nil means {}.
	Arguments json.RawMessage
	// UseSecrets gives an unapproved version its manifest's secret values
	// (admin callers only; audited).
	UseSecrets bool
	// Caller is who runs the test: admin for the admin API.
	Caller proto.Caller
	// Actor is the actor string of the audit row, e.g. admin:alice.
	Actor     string
	RequestID string
}

// Result is a finished test run, redacted with the server's secrets. A
// failed tool is a Result with Success false, never an error.
type Result struct {
	// ExecutionID is the id of the stored execution record.
	ExecutionID uuid.UUID
	Success     bool
	// Result is the tool's value (JSON null when it failed).
	Result          json.RawMessage
	Error           *proto.ExecutionError
	Stdout          string
	StdoutTruncated bool
	DurationMS      int64
	Version         int
	Hash            string
	// Capabilities is CapabilitiesFull or CapabilitiesReduced.
	Capabilities string
	// WithheldHosts are the manifest hosts kept from a reduced run.
	WithheldHosts []string
	// WithheldSecrets are the manifest secrets whose values were withheld.
	WithheldSecrets []string
}

// Run executes one test run (backend.md §11.2). Refusals, before the
// sandbox is called: tools.ErrNotFound, *tools.VersionNotFoundError,
// *NoCodeError, *ArgumentsError, ErrBusy, a *catalog.RefusedError for an
// approved version that has no plan (tool disabled, server stopped, secret
// without value), a *proto.RuleError for use_secrets by a non-admin. A
// sandbox failure is a *sandboxclient.Error.
func (s *Service) Run(ctx context.Context, r Request) (Result, error) {
	if r.UseSecrets && r.Caller.Kind != proto.CallerAdmin {
		return Result{}, &proto.RuleError{Field: "use_secrets", Message: "only an admin can run a test with secret values."}
	}
	ts := tools.New(s.store, s.sandbox)
	var (
		t   tools.Tool
		v   tools.Version
		err error
	)
	if r.Version == 0 {
		t, err = ts.Get(ctx, r.ToolID)
		v = t.Latest
	} else {
		t, v, err = ts.GetVersion(ctx, r.ToolID, r.Version)
	}
	if err != nil {
		return Result{}, err
	}
	if t.Kind != proto.ToolKindGo || v.Code == nil {
		return Result{}, &NoCodeError{Tool: t.ExposedName()}
	}
	args := r.Arguments
	if len(args) == 0 {
		args = json.RawMessage("{}")
	}
	if details := CheckArguments(v.InputSchema, args); len(details) > 0 {
		return Result{}, &ArgumentsError{Version: v.Version, Details: details}
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		return Result{}, ErrBusy
	}

	res := Result{Version: v.Version, Hash: v.Hash, WithheldHosts: []string{}, WithheldSecrets: []string{}}
	var req proto.ExecuteRequest
	if t.ApprovedVersion != nil && *t.ApprovedVersion == v.Version {
		plan, err := s.catalog.Plan(ctx, t.ID, v.Version, r.RequestID)
		if err != nil {
			return Result{}, err
		}
		req = plan.ExecuteRequest(r.RequestID, args)
		res.Capabilities = CapabilitiesFull
	} else {
		if req, err = s.reduced(ctx, r, t, v, args, &res); err != nil {
			return Result{}, err
		}
		res.Capabilities = CapabilitiesReduced
	}

	started := time.Now().UTC()
	answer, err := s.sandbox.Execute(ctx, req)
	if err != nil {
		return Result{}, err
	}
	stored, err := s.executions.StoreTest(ctx, executions.TestRun{
		ToolID: t.ID, ServerID: t.ServerID, ToolVersion: v.Version, ToolHash: v.Hash, ExposedName: t.ExposedName(),
		Caller: r.Caller, Arguments: args, Response: answer, StartedAt: started, RequestID: r.RequestID,
	})
	if err != nil {
		return Result{}, err
	}
	a := stored.Response
	res.ExecutionID, res.Success, res.Result, res.Error = stored.ID, a.OK, a.Result, a.Error
	res.Stdout, res.StdoutTruncated, res.DurationMS = a.Stdout, a.StdoutTruncated, a.DurationMS
	if len(res.Result) == 0 {
		res.Result = json.RawMessage("null")
	}
	return res, nil
}

// reduced builds the request of an unapproved version (backend.md §11.2)
// and fills the withheld lists of res; with use_secrets it writes the
// audit row first.
func (s *Service) reduced(ctx context.Context, r Request, t tools.Tool, v tools.Version, args json.RawMessage,
	res *Result,
) (proto.ExecuteRequest, error) {
	pol, _, err := s.policy.Current(ctx)
	if err != nil {
		return proto.ExecuteRequest{}, fmt.Errorf("test run of %s: %w", t.ExposedName(), err)
	}
	m := v.Manifest
	allowed := []string{}
	for _, h := range m.Hosts {
		switch {
		case !publicHost(h):
			res.WithheldHosts = append(res.WithheldHosts, h)
		case v.Coverage.Hosts[h]:
			allowed = append(allowed, h)
		}
	}
	hosts := proto.OnlyHosts(allowed...)
	if pol.NetworkAccessPolicy == string(proto.NetworkAllowAllPublic) {
		hosts = proto.AnyPublicHost()
	}
	packages := []string{}
	for _, p := range m.Packages {
		if v.Coverage.Packages[p] {
			packages = append(packages, p)
		}
	}
	redact := pol.RedactSecretsInOutput == string(proto.ToggleEnabled)
	req := proto.ExecuteRequest{
		RequestID: r.RequestID, ToolID: t.ID.String(), Version: v.Version, ExposedName: t.ExposedName(),
		Code: *v.Code, Manifest: m, PinnedHash: v.Hash, Arguments: args, InputSchema: v.InputSchema,
		AllowedHosts: hosts, ExtraPackages: packages, Secrets: map[string]*string{},
		Limits: proto.Limits{TimeoutMS: m.TimeoutMS, MemoryMB: m.MemoryMB}, Redact: &redact,
	}
	if !r.UseSecrets {
		res.WithheldSecrets = slices.Clone(m.Secrets)
		req.WithheldSecrets = slices.Clone(m.Secrets)
		return req, nil
	}
	if err := s.auditSecrets(ctx, r, t, v); err != nil {
		return proto.ExecuteRequest{}, err
	}
	values, _, err := s.secrets.Values(ctx, t.ServerID, m.Secrets)
	if err != nil {
		return proto.ExecuteRequest{}, fmt.Errorf("test run of %s: %w", t.ExposedName(), err)
	}
	for _, n := range m.Secrets {
		if val, ok := values[n]; ok {
			req.Secrets[n] = &val
		} else {
			req.Secrets[n] = nil // declared, no value set
		}
	}
	return req, nil
}

// auditSecrets writes the audit row of a test run that gives an
// unapproved version the secret values (backend.md §8.2): names only.
func (s *Service) auditSecrets(ctx context.Context, r Request, t tools.Tool, v tools.Version) error {
	err := s.store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		return activity.Write(ctx, q, activity.Entry{
			Category: activity.Audit, Action: "tool.test_with_secrets", Actor: r.Actor,
			Message: fmt.Sprintf("Test run of unapproved version %d of '%s' with the values of its secrets.",
				v.Version, t.ExposedName()),
			ServerID: &t.ServerID, ToolID: &t.ID, RequestID: r.RequestID,
			Details: map[string]any{"version": v.Version, "hash": v.Hash, "secrets": v.Manifest.Secrets},
		})
	})
	if err != nil {
		return fmt.Errorf("test run of %s: audit use_secrets: %w", t.ExposedName(), err)
	}
	return nil
}
