package sandboxapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
	"github.com/mcpbox/mcpbox/proto/strictjson"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/egress"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/ipc"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/pool"
)

// executeDepth allows the arguments (at depth 1 of the body) their own
// MaxArgumentsDepth levels, checked separately with the exact limit.
const executeDepth = proto.MaxArgumentsDepth + 2

// decodeExecute runs steps 1–2 of sandbox.md §4.2.3 on a /v1/execute body:
// strict decode and field rules (400), the pinned hash (409), and the
// execution fields against the manifest (400). maxMemoryMB is
// MCPBOX_SANDBOX_MAX_MEMORY_MB.
func decodeExecute(body []byte, maxMemoryMB int) (proto.ExecuteRequest, *apiError) {
	var req proto.ExecuteRequest
	if e := decodeStrict(body, &req, executeDepth, "code", "manifest", "pinned_hash", "arguments", "allowed_hosts", "limits"); e != nil {
		return req, allowedHostsHint(e)
	}
	if e := checkExecuteFields(&req, maxMemoryMB); e != nil {
		return req, e
	}
	want, err := canon.HashGo(req.Code, req.Manifest)
	if err != nil {
		return req, invalid("manifest", "%v", err)
	}
	if want != req.PinnedHash {
		return req, &apiError{Status: http.StatusConflict, Err: proto.Error{
			Code: proto.CodeHashMismatch, Field: "pinned_hash",
			Message: "pinned_hash " + req.PinnedHash + " does not match the hash of code and manifest, " + want +
				": the code or the manifest changed since the version was pinned, or a cached plan is stale; fetch the plan again",
		}}
	}
	return req, checkInsideManifest(req)
}

// allowedHostsHint turns the missing-key refusal into the hint of
// sandbox.md §4.2.1: a forgotten allowed_hosts never means "any host".
func allowedHostsHint(e *apiError) *apiError {
	if e != nil && e.Err.Field == "allowed_hosts" {
		return invalid("allowed_hosts", "required; send null for any public host or [] for no network")
	}
	return e
}

func checkExecuteFields(req *proto.ExecuteRequest, maxMemoryMB int) *apiError {
	code, err := canon.NormalizeCode(req.Code)
	switch {
	case req.Code == "":
		return invalid("code", "required; send the tool source")
	case len(req.Code) > proto.MaxCodeBytes:
		return invalid("code", "at most %d bytes of UTF-8 (got %d); split the tool", proto.MaxCodeBytes, len(req.Code))
	case err != nil:
		return invalid("code", "%v", err)
	}
	req.Code = code
	if !canon.ValidHash(req.PinnedHash) {
		return invalid("pinned_hash", "must be sha256: followed by 64 lowercase hex digits")
	}
	if e := checkArguments(req.Arguments); e != nil {
		return e
	}
	if l := req.Limits.TimeoutMS; l < proto.MinExecTimeoutMS || l > proto.MaxExecTimeoutMS {
		return invalid("limits.timeout_ms", "must be %d–%d (got %d)", proto.MinExecTimeoutMS, proto.MaxExecTimeoutMS, l)
	}
	if l := req.Limits.MemoryMB; l < proto.MinMemoryMB || l > maxMemoryMB {
		return invalid("limits.memory_mb", "must be %d–%d (got %d)", proto.MinMemoryMB, maxMemoryMB, l)
	}
	if len(req.AllowedHosts.Hosts) > proto.MaxAllowedHosts {
		return invalid("allowed_hosts", "at most %d entries (got %d)", proto.MaxAllowedHosts, len(req.AllowedHosts.Hosts))
	}
	for i, h := range req.AllowedHosts.Hosts {
		n, err := proto.NormalizeHost(h)
		if err != nil {
			return invalid("allowed_hosts["+itoa(i)+"]", "%v", err)
		}
		req.AllowedHosts.Hosts[i] = n
	}
	return checkSecrets(req)
}

func checkArguments(args json.RawMessage) *apiError {
	if len(args) > proto.MaxArgumentsBytes {
		return invalid("arguments", "at most %d bytes serialised (got %d)", proto.MaxArgumentsBytes, len(args))
	}
	if t := bytes.TrimSpace(args); len(t) == 0 || t[0] != '{' {
		return invalid("arguments", "must be a JSON object; send {} when the tool takes no arguments")
	}
	var v any
	if err := strictjson.Decode(args, &v, strictjson.Options{MaxDepth: proto.MaxArgumentsDepth}); err != nil {
		if se, ok := err.(*strictjson.Error); ok { //nolint:errorlint // Decode returns *Error unwrapped
			return invalid(joinPath("arguments", se.Path), "%s", se.Rule)
		}
		return invalid("arguments", "%v", err)
	}
	return nil
}

func checkSecrets(req *proto.ExecuteRequest) *apiError {
	if len(req.Secrets) > proto.MaxSecrets {
		return invalid("secrets", "at most %d entries (got %d)", proto.MaxSecrets, len(req.Secrets))
	}
	total := 0
	for _, name := range sortedNames(req.Secrets) {
		if err := proto.ValidateSecretName(name); err != nil {
			return invalid("secrets."+name, "%v", err)
		}
		if v := req.Secrets[name]; v != nil {
			if len(*v) > proto.MaxSecretValueBytes {
				return invalid("secrets."+name, "value at most %d bytes", proto.MaxSecretValueBytes)
			}
			total += len(*v)
		}
	}
	if total > proto.MaxSecretsTotalBytes {
		return invalid("secrets", "values at most %d bytes in total", proto.MaxSecretsTotalBytes)
	}
	for i, name := range req.WithheldSecrets {
		if _, ok := req.Secrets[name]; ok {
			return invalid("withheld_secrets["+itoa(i)+"]", "%s is also in secrets; a secret is either sent or withheld", name)
		}
	}
	return nil
}

// checkInsideManifest: the execution fields must stay inside the pinned
// manifest (sandbox.md §4.2.2).
func checkInsideManifest(req proto.ExecuteRequest) *apiError {
	m, err := req.Manifest.Normalize()
	if err != nil {
		return invalid("manifest", "%v", err)
	}
	if !req.AllowedHosts.Any {
		for i, h := range req.AllowedHosts.Hosts {
			if !hostCovered(h, m.Hosts) {
				return invalid("allowed_hosts["+itoa(i)+"]", "%s is not in manifest.hosts; only hosts the version was pinned with may be allowed", h)
			}
		}
	}
	for i, p := range req.ExtraPackages {
		if !slices.Contains(m.Packages, p) {
			return invalid("extra_packages["+itoa(i)+"]", "%s is not in manifest.packages", p)
		}
	}
	for _, name := range sortedNames(req.Secrets) {
		if !slices.Contains(m.Secrets, name) {
			return invalid("secrets."+name, "not in manifest.secrets; only secrets the code was pinned with may be sent")
		}
	}
	for i, name := range req.WithheldSecrets {
		if !slices.Contains(m.Secrets, name) {
			return invalid("withheld_secrets["+itoa(i)+"]", "%s is not in manifest.secrets", name)
		}
	}
	if req.Limits.TimeoutMS != m.TimeoutMS {
		return invalid("limits.timeout_ms", "must equal manifest.timeout_ms (%d)", m.TimeoutMS)
	}
	if req.Limits.MemoryMB != m.MemoryMB {
		return invalid("limits.memory_mb", "must equal manifest.memory_mb (%d)", m.MemoryMB)
	}
	return nil
}

// hostCovered: an entry is covered by the same entry or, for host:port, by
// the bare host (any port).
func hostCovered(entry string, manifest []string) bool {
	if slices.Contains(manifest, entry) {
		return true
	}
	host, _ := splitPort(entry)
	return host != entry && slices.Contains(manifest, host)
}

// Executor runs jobs in workers (the pool) and counts each request's final
// outcome (mcpbox_sandbox_executions_total, sandbox.md §15.1).
type Executor interface {
	Execute(ctx context.Context, job pool.Job) (pool.Outcome, error)
	RecordExecution(outcome string, d time.Duration)
}

// executeHandler serves POST /v1/execute: sandbox.md §4.2.3 steps 1–10.
// Without an executor (the pool is not wired) a valid request is answered
// 501, never with a fake result.
func executeHandler(d Deps) http.Handler {
	checks := newValidators()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		outcome := "invalid_request"
		if d.Pool != nil {
			defer func() { d.Pool.RecordExecution(outcome, time.Since(start)) }()
		}
		body, e := readBody(r, proto.MaxExecuteBodyBytes)
		var req proto.ExecuteRequest
		if e == nil {
			req, e = decodeExecute(body, d.MaxMemoryMB)
		}
		if e == nil {
			e = adoptRequestID(w, r, req.RequestID)
		}
		if e != nil {
			if e.Err.Code == proto.CodeHashMismatch {
				outcome = "hash_mismatch"
			}
			writeError(w, r, e)
			return
		}
		// Step 3: analysis (cached); any error ends the request, no worker used.
		res := d.Analyzer.Analyze(r.Context(), proto.AnalyzeRequest{Code: req.Code, ExtraPackages: req.ExtraPackages})
		if res.Refusal != nil {
			resp := noWorker(res.ExecutionError(), start)
			outcome = resp.Error.Type.SnakeCase()
			writeJSON(w, resp)
			return
		}
		// Step 4: the arguments against the caller's or the derived schema.
		schema := req.InputSchema
		if len(schema) == 0 {
			schema = res.Response.InputSchema
		}
		if bad := checks.check(schema, req.Arguments); bad != nil {
			outcome = bad.Type.SnakeCase()
			writeJSON(w, noWorker(bad, start))
			return
		}
		if d.Pool == nil {
			writeError(w, r, &apiError{Status: http.StatusNotImplemented, Err: proto.Error{
				Code:    proto.CodeNotImplemented,
				Message: "The request is valid, but tool execution is not built into this sandbox yet; nothing ran.",
			}})
			return
		}
		allow, err := egress.ParseAllowedHosts(req.AllowedHosts)
		if err != nil {
			writeError(w, r, ruleErrors(err))
			return
		}
		session := d.Broker.NewSession(allow, egress.SourceTool, egress.ToolLimits())
		defer session.Close()
		out, err := d.Pool.Execute(r.Context(), pool.Job{
			Mode: ipc.ModeRun, Code: req.Code, InputType: res.Response.Main.InputType, Arguments: req.Arguments,
			Secrets: req.Secrets, Withheld: req.WithheldSecrets, ExtraPackages: req.ExtraPackages,
			Timeout: time.Duration(req.Limits.TimeoutMS) * time.Millisecond, MemoryMB: req.Limits.MemoryMB, Egress: session,
		})
		switch {
		case errors.Is(err, pool.ErrSaturated):
			outcome = "saturated"
			writeError(w, r, statusOf(err))
		case err != nil:
			// Not ready (draining, spawns failing) has no outcome of its own in
			// the closed set: it is capacity the caller could not get.
			outcome = "cancelled"
			if r.Context().Err() == nil {
				outcome = "saturated"
				writeError(w, r, statusOf(err))
			}
		case out.Cancelled: // the caller is gone: no body (sandbox.md §10 row 1)
			outcome = "cancelled"
		default:
			resp := respond(req, out)
			outcome = "ok"
			if resp.Error != nil {
				outcome = resp.Error.Type.SnakeCase()
			}
			writeJSON(w, resp)
		}
	})
}

// noWorker is the response of a request that ended before a worker ran.
func noWorker(e *proto.ExecutionError, start time.Time) proto.ExecuteResponse {
	return proto.ExecuteResponse{
		Result: json.RawMessage("null"), Error: e, ContentText: proto.FailureText(e, ""),
		DurationMS: time.Since(start).Milliseconds(),
	}
}
