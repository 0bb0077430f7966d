package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
)

// defaultInputSchema is the input schema of a Main without input.
const defaultInputSchema = `{"type":"object"}`

// msgNoDescription is the rule for Main's doc comment (backend.md §5.1).
const msgNoDescription = "add a doc comment to Main; it becomes the tool description."

// derived is what a version takes from the analysis of its code.
type derived struct {
	code            string // normalised
	description     string
	inputSchema     json.RawMessage
	outputSchema    json.RawMessage // nil for none
	packages        []string
	secrets         []string
	analyzerVersion string
}

// normalizeCode checks and normalises tool code (backend.md §2): valid
// UTF-8 without NUL, CRLF and lone CR made LF, at most proto.MaxCodeBytes
// bytes. Failures are *proto.RuleError on "code".
func normalizeCode(code string) (string, error) {
	n, err := canon.NormalizeCode(code)
	switch {
	case errors.Is(err, canon.ErrCodeNUL):
		return "", &proto.RuleError{Field: "code", Message: "must not contain a NUL byte."}
	case err != nil:
		return "", &proto.RuleError{Field: "code", Message: "must be valid UTF-8."}
	case n == "":
		return "", &proto.RuleError{Field: "code", Message: "must not be empty; send the Go source of the tool."}
	case len(n) > proto.MaxCodeBytes:
		return "", &proto.RuleError{Field: "code", Message: fmt.Sprintf(
			"must be at most %d bytes; this code has %d.", proto.MaxCodeBytes, len(n))}
	}
	return n, nil
}

// analyze normalises code, sends it to /v1/analyze once (compile: true)
// and judges the answer (backend.md §11.1): a never-tier or unknown import
// is a *PackageForbiddenError, any other error diagnostic a
// *CodeInvalidError, an empty description a *proto.RuleError on "code".
// Sandbox failures are *sandboxclient.Error.
func (s *Service) analyze(ctx context.Context, code string) (derived, error) {
	n, err := normalizeCode(code)
	if err != nil {
		return derived{}, err
	}
	res, err := s.sandbox.Analyze(ctx, proto.AnalyzeRequest{Code: n, Compile: true})
	if err != nil {
		return derived{}, err
	}
	d, err := judge(res)
	if err != nil {
		return derived{}, err
	}
	d.code = n
	return d, nil
}

// judge turns an analyze answer into a version's derived content, or the
// reason the code cannot be saved.
func judge(res proto.AnalyzeResponse) (derived, error) {
	if forbidden := forbiddenImports(res); len(forbidden) > 0 {
		return derived{}, &PackageForbiddenError{Paths: forbidden}
	}
	var errs []proto.Diagnostic
	for _, d := range res.Diagnostics {
		if d.Severity == proto.SeverityError {
			errs = append(errs, d)
		}
	}
	if len(errs) > 0 {
		return derived{}, &CodeInvalidError{Diagnostics: errs}
	}
	if res.Description == "" {
		return derived{}, &proto.RuleError{Field: "code", Message: msgNoDescription}
	}
	out := derived{
		description:     res.Description,
		inputSchema:     json.RawMessage(defaultInputSchema),
		packages:        optInImports(res),
		secrets:         slices.Clone(res.Secrets),
		analyzerVersion: res.AnalyzerVersion,
	}
	if !isNull(res.InputSchema) {
		out.inputSchema = res.InputSchema
	}
	if !isNull(res.OutputSchema) {
		out.outputSchema = res.OutputSchema
	}
	if out.secrets == nil {
		out.secrets = []string{}
	}
	return out, nil
}

// forbiddenImports lists the imports tools may never use: the never tier
// and paths the catalogue does not know (sandbox.md §4.3), sorted.
func forbiddenImports(res proto.AnalyzeResponse) []string {
	var out []string
	for _, im := range res.Imports {
		switch im.Tier {
		case proto.TierDefault, proto.TierOptIn:
		default:
			out = append(out, im.Path)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// optInImports lists the opt-in imports, which become manifest.packages.
func optInImports(res proto.AnalyzeResponse) []string {
	out := []string{}
	for _, im := range res.Imports {
		if im.Tier == proto.TierOptIn {
			out = append(out, im.Path)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// Finding is one problem of an analysis, as POST /tools/analyze lists it.
type Finding struct {
	Line    int
	Column  int
	Message string
}

// Analysis is the answer of POST /tools/analyze: nothing is saved.
type Analysis struct {
	// Valid is true when the code could be saved as a tool version.
	Valid        bool
	Errors       []Finding
	Description  string
	InputSchema  json.RawMessage // nil when the sandbox derived none
	OutputSchema json.RawMessage // nil when none
	// Packages are the opt-in packages the code imports (its
	// manifest.packages).
	Packages []string
	Secrets  []string
}

// Analyze analyses code without saving anything (POST /tools/analyze,
// mcpbox_validate_code). Code the sandbox rejects is an answer with Valid
// false and its errors; a malformed request a *proto.RuleError on "code";
// sandbox failures a *sandboxclient.Error.
func (s *Service) Analyze(ctx context.Context, code string) (Analysis, error) {
	n, err := normalizeCode(code)
	if err != nil {
		return Analysis{}, err
	}
	res, err := s.sandbox.Analyze(ctx, proto.AnalyzeRequest{Code: n, Compile: true})
	if err != nil {
		return Analysis{}, err
	}
	out := Analysis{
		Errors: []Finding{}, Description: res.Description, Packages: optInImports(res),
		Secrets: slices.Clone(res.Secrets),
	}
	if out.Secrets == nil {
		out.Secrets = []string{}
	}
	if !isNull(res.InputSchema) {
		out.InputSchema = res.InputSchema
	}
	if !isNull(res.OutputSchema) {
		out.OutputSchema = res.OutputSchema
	}
	for _, d := range res.Diagnostics {
		if d.Severity == proto.SeverityError {
			out.Errors = append(out.Errors, Finding{Line: d.Line, Column: d.Column, Message: d.Message})
		}
	}
	for _, p := range forbiddenImports(res) {
		if !slices.ContainsFunc(res.Diagnostics, func(d proto.Diagnostic) bool {
			return d.Severity == proto.SeverityError && d.Type == proto.ErrTypeImportError
		}) {
			out.Errors = append(out.Errors, Finding{Message: fmt.Sprintf("package '%s' is not available to tools.", p)})
		}
	}
	if res.Description == "" {
		out.Errors = append(out.Errors, Finding{Message: msgNoDescription})
	}
	out.Valid = len(out.Errors) == 0
	return out, nil
}
