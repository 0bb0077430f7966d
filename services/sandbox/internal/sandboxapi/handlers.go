package sandboxapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/analyze"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/catalogue"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/egress"
)

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// ruleErrors turns joined *proto.RuleError values into one 400 naming the
// first field and listing every failure in details.
func ruleErrors(err error) *apiError {
	details := proto.FieldErrors(err)
	if len(details) == 0 {
		return invalid("", "%v", err)
	}
	e := invalid(details[0].Field, "%s", details[0].Message)
	if len(details) > 1 {
		e.Err.Details = details
	}
	return e
}

// packagesHandler serves GET /v1/packages: the catalogue of sandbox.md §6.
func packagesHandler(version string) http.Handler {
	body := catalogue.Catalogue(version)
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, body) })
}

// analyzeHandler serves POST /v1/analyze (sandbox.md §4.3): static analysis
// only. A compile request that passes static analysis needs a worker; that
// part answers 501 until the pool is wired, and never pretends it compiled.
func analyzeHandler(a *analyze.Analyzer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, e := readBody(r, proto.MaxAnalyzeBodyBytes)
		var req proto.AnalyzeRequest
		if e == nil {
			e = decodeStrict(body, &req, 8, "code")
		}
		if e == nil {
			if err := catalogue.ValidateExtra(req.ExtraPackages); err != nil {
				var xe *catalogue.ExtraPackageError
				if errors.As(err, &xe) {
					e = invalid(xe.Field(), "%s", xe.Message)
				} else {
					e = invalid("extra_packages", "%v", err)
				}
			}
		}
		if e != nil {
			writeError(w, r, e)
			return
		}
		res := a.Analyze(r.Context(), req)
		if res.Compile != nil {
			writeError(w, r, &apiError{Status: http.StatusNotImplemented, Err: proto.Error{
				Code:    proto.CodeNotImplemented,
				Message: "static analysis passed, but compiling in a worker (compile: true) is not built into this sandbox yet; send compile: false",
			}})
			return
		}
		writeJSON(w, res.Response)
	})
}

// fetchHandler serves POST /v1/fetch (sandbox.md §4.7) through the broker's
// SSRF policy: any upstream status is a 200, redirects are returned.
func fetchHandler(b *egress.Broker) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, e := readBody(r, proto.MaxExecuteBodyBytes)
		var req proto.FetchRequest
		if e == nil {
			e = allowedHostsHint(decodeStrict(body, &req, 8, "method", "url", "allowed_hosts", "purpose"))
		}
		if e != nil {
			writeError(w, r, e)
			return
		}
		resp, err := b.Fetch(r.Context(), req)
		if err != nil {
			writeError(w, r, ruleErrors(err))
			return
		}
		writeJSON(w, resp)
	})
}
