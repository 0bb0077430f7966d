package transfer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
)

// defaultInputSchema is the input schema of a version that has none.
const defaultInputSchema = `{"type":"object"}`

// serverPlan is a server of the document made ready to write.
type serverPlan struct {
	srv *Server
	// skip: the name was taken before the import began and on_conflict is
	// skip, so its tools were not analysed.
	skip bool
	// fail is why a tool could not be prepared; the server is not imported.
	fail  *itemError
	tools []toolPlan
}

// toolPlan is a tool with the versions to create: the approved content
// first when there is one, then the latest when its content differs
// (§14.4).
type toolPlan struct {
	t        *Tool
	versions []versionPlan
	// approved is set when versions[0] is the exported approved version;
	// restorable when its recomputed hash (recomputed) equals the exported
	// approved.hash.
	approved, restorable bool
	recomputed           string
}

// versionPlan is the content of a version to create.
type versionPlan struct {
	code *string // go
	// def is an external tool's definition; its source_id is the
	// exporter's until write replaces it with the new source's.
	def          *proto.ExternalDefinition
	manifest     proto.Manifest
	hash         string // recomputed (for an external tool: with the exporter's source id)
	description  string
	inputSchema  json.RawMessage
	outputSchema json.RawMessage
	summary      string
}

// prepare analyses every go version of the document once per distinct code
// (the sandbox derives description, schemas, packages and secrets, §5.1)
// and builds the versions of every tool, reporting progress as tools
// processed out of the tools in the document. Servers named in skip are
// not analysed. A tool whose code the sandbox rejects fails its server; a
// sandbox failure (*sandboxclient.Error) ends the import.
func (s *Service) prepare(ctx context.Context, d *Document, skip map[string]bool, progress activity.Progress) ([]serverPlan, error) {
	total, done := d.ToolCount(), 0
	progress(0, total)
	p := preparer{tools: s.d.Tools, cache: map[string]tools.Analysis{}}
	plans := make([]serverPlan, len(d.Servers))
	for i := range d.Servers {
		plan := &plans[i]
		plan.srv = &d.Servers[i]
		plan.skip = skip[plan.srv.Name]
		for j := range plan.srv.Tools {
			if !plan.skip && plan.fail == nil {
				path := fmt.Sprintf("servers[%d].tools[%d]", i, j)
				tp, err := p.tool(ctx, plan.srv.Name, path, &plan.srv.Tools[j])
				var ie *itemError
				switch {
				case errors.As(err, &ie):
					plan.fail = ie
				case err != nil:
					return nil, err
				default:
					plan.tools = append(plan.tools, tp)
				}
			}
			done++
			progress(done, total)
		}
	}
	return plans, nil
}

// preparer builds versions, analysing each distinct code once.
type preparer struct {
	tools *tools.Service
	cache map[string]tools.Analysis
}

// tool builds a tool's versions.
func (p *preparer) tool(ctx context.Context, server, path string, t *Tool) (toolPlan, error) {
	tp := toolPlan{t: t}
	first, firstPath := t.Latest, path+".latest"
	if t.Approved != nil {
		first, firstPath, tp.approved = t.Approved, path+".approved", true
	}
	v1, err := p.version(ctx, server, firstPath, t, first)
	if err != nil {
		return toolPlan{}, err
	}
	v1.summary = "Imported"
	if tp.approved {
		v1.summary = "Imported (approved version)"
	}
	tp.versions = []versionPlan{v1}
	if !tp.approved {
		return tp, nil
	}
	tp.recomputed = v1.hash
	tp.restorable = tp.recomputed == t.Approved.Hash
	latest, err := p.version(ctx, server, path+".latest", t, t.Latest)
	if err != nil {
		return toolPlan{}, err
	}
	if latest.hash != v1.hash {
		latest.summary = "Imported (latest version)"
		tp.versions = append(tp.versions, latest)
	}
	return tp, nil
}

// version builds one version: a go version from its code's analysis and
// the exported hosts and limits (packages and secrets come from the
// analysis, as on every save), an external one from its definition.
func (p *preparer) version(ctx context.Context, server, path string, t *Tool, v *Version) (versionPlan, error) {
	if t.Kind == proto.ToolKindExternal {
		def, err := definition(v.Content)
		if err != nil {
			return versionPlan{}, err // validated by Decode
		}
		m, err := v.Manifest.Normalize()
		if err != nil {
			return versionPlan{}, err
		}
		hash, err := canon.HashExternal(def, m)
		if err != nil {
			return versionPlan{}, fmt.Errorf("%s: %w", path, err)
		}
		out := versionPlan{def: &def, manifest: m, hash: hash, description: def.Description, inputSchema: def.InputSchema}
		if isNull(out.inputSchema) {
			out.inputSchema = json.RawMessage(defaultInputSchema)
		}
		return out, nil
	}
	code, err := goCode(v.Content)
	if err != nil {
		return versionPlan{}, err // validated by Decode
	}
	an, ok := p.cache[code]
	if !ok {
		an, err = p.tools.Analyze(ctx, code)
		var rule *proto.RuleError
		if errors.As(err, &rule) {
			return versionPlan{}, fail(server, path+".content", proto.CodeValidationFailed,
				"Tool '%s' of server '%s': %s; the server was not imported.", t.Name, server, rule.Message)
		}
		if err != nil {
			return versionPlan{}, err
		}
		p.cache[code] = an
	}
	if !an.Valid {
		return versionPlan{}, fail(server, path+".content", proto.CodeCodeInvalid,
			"Tool '%s' of server '%s': the sandbox rejected its code (%s); the server was not imported. Fix the code in the exporting installation and export again.",
			t.Name, server, findings(an.Errors))
	}
	m := *v.Manifest
	m.Packages, m.Secrets = an.Packages, an.Secrets
	m, err = m.Normalize()
	if err == nil {
		err = m.Validate(proto.ToolKindGo)
	}
	if err != nil {
		fe := proto.FieldErrors(err)
		return versionPlan{}, fail(server, path+".manifest", proto.CodeValidationFailed,
			"Tool '%s' of server '%s': the manifest after analysis breaks a rule (%s: %s); the server was not imported.",
			t.Name, server, fe[0].Field, fe[0].Message)
	}
	hash, err := canon.HashGo(code, m)
	if err != nil {
		return versionPlan{}, fmt.Errorf("%s: %w", path, err)
	}
	out := versionPlan{
		code: &code, manifest: m, hash: hash, description: an.Description,
		inputSchema: an.InputSchema, outputSchema: an.OutputSchema,
	}
	if isNull(out.inputSchema) {
		out.inputSchema = json.RawMessage(defaultInputSchema)
	}
	return out, nil
}

// findings renders an analysis' errors, "line L:C: message; …".
func findings(list []tools.Finding) string {
	parts := make([]string, 0, len(list))
	for _, f := range list {
		if f.Line > 0 {
			parts = append(parts, fmt.Sprintf("line %d:%d: %s", f.Line, f.Column, f.Message))
		} else {
			parts = append(parts, f.Message)
		}
	}
	return strings.Join(parts, "; ")
}

func isNull(raw json.RawMessage) bool {
	t := strings.TrimSpace(string(raw))
	return t == "" || t == "null"
}
