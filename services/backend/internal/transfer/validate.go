package transfer

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
	"github.com/mcpbox/mcpbox/proto/strictjson"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
)

// Text and list limits of backend.md §2 and §4.2.
const (
	maxTextLen       = 2000 // descriptions, justifications
	maxSourceNameLen = 64
	maxURLLen        = 2000
	maxAppVersionLen = 200
	// maxProblems bounds the details of one refusal.
	maxProblems = 100
)

// packagePathRe is the rule of package_requests.package (§4.2).
var packagePathRe = regexp.MustCompile(proto.PackagePathPattern)

// problems collects rule failures, each naming its JSON path.
type problems struct{ list []error }

// add records a failure of the field at path.
func (p *problems) add(path, format string, args ...any) {
	p.list = append(p.list, &proto.RuleError{Field: path, Message: fmt.Sprintf(format, args...)})
}

// addRule records err's rule failures with their fields placed under path:
// a field "name" of err becomes "<path>.name", an empty one path itself.
func (p *problems) addRule(path string, err error) {
	if err == nil {
		return
	}
	fields := proto.FieldErrors(err)
	if len(fields) == 0 {
		p.add(path, "%s", err.Error())
		return
	}
	for _, fe := range fields {
		field := path
		switch {
		case fe.Field != "" && path == "":
			field = fe.Field
		case fe.Field != "":
			field = path + "." + fe.Field
		}
		p.list = append(p.list, &proto.RuleError{Field: field, Message: fe.Message})
	}
}

// err joins the failures, at most maxProblems of them.
func (p *problems) err() error {
	if len(p.list) > maxProblems {
		more := len(p.list) - maxProblems
		p.list = append(p.list[:maxProblems], &proto.RuleError{Message: fmt.Sprintf(
			"%d more problems are not listed; fix these first.", more)})
	}
	return errors.Join(p.list...)
}

// validate checks every rule of a document that does not depend on the
// installation; format and format_version were checked by Decode.
func (d *Document) validate() error {
	var p problems
	if _, err := time.Parse(time.RFC3339Nano, d.ExportedAt); err != nil {
		p.add("exported_at", "must be an RFC 3339 time such as 2025-01-31T12:00:00.000Z.")
	}
	if utf8.RuneCountInString(d.AppVersion) > maxAppVersionLen {
		p.add("app_version", "must be at most %d characters.", maxAppVersionLen)
	}
	if d.Servers == nil {
		p.add("servers", "required: a list of servers (may be empty).")
	}
	if d.Packages == nil {
		p.add("packages", "required: a list of package records (may be empty).")
	}
	names := map[string]int{}
	for i := range d.Servers {
		path := fmt.Sprintf("servers[%d]", i)
		s := &d.Servers[i]
		if j, dup := names[s.Name]; dup {
			p.add(path+".name", "duplicates the name of servers[%d]; each server appears once.", j)
		} else {
			names[s.Name] = i
		}
		s.validate(&p, path)
	}
	for i, pkg := range d.Packages {
		path := fmt.Sprintf("packages[%d]", i)
		if len(pkg.Package) > proto.MaxPackagePathLen || !packagePathRe.MatchString(pkg.Package) {
			p.add(path+".package", "must be a Go import path matching %s, at most %d characters, e.g. encoding/xml.",
				proto.PackagePathPattern, proto.MaxPackagePathLen)
		}
		checkRecord(&p, path, pkg.Status, pkg.Justification)
	}
	return p.err()
}

// validate checks one server at path.
func (s *Server) validate(p *problems, path string) {
	p.addRule(path, proto.ValidateServerName(s.Name))
	checkText(p, path+".description", s.Description)
	if s.Status != "stopped" && s.Status != "running" {
		p.add(path+".status", `must be "stopped" or "running".`)
	}
	for _, l := range []struct {
		field   string
		missing bool
	}{
		{"secrets", s.Secrets == nil},
		{"network", s.Network == nil},
		{"external_mcp_sources", s.Sources == nil},
		{"tools", s.Tools == nil},
	} {
		if l.missing {
			p.add(path+"."+l.field, "required: a list (may be empty).")
		}
	}
	secrets := map[string]bool{}
	for i, sec := range s.Secrets {
		at := fmt.Sprintf("%s.secrets[%d]", path, i)
		p.addRule(at, proto.ValidateSecretName(sec.Name))
		if secrets[sec.Name] {
			p.add(at+".name", "duplicates another secret of this server.")
		}
		secrets[sec.Name] = true
		checkText(p, at+".description", sec.Description)
	}
	for i, n := range s.Network {
		at := fmt.Sprintf("%s.network[%d]", path, i)
		if _, err := approvals.ParseTarget(n.Host, n.Port); err != nil {
			p.addRule(at, err)
		}
		checkRecord(p, at, n.Status, n.Justification)
	}
	sources := map[string]bool{}
	for i := range s.Sources {
		at := fmt.Sprintf("%s.external_mcp_sources[%d]", path, i)
		if sources[s.Sources[i].Name] {
			p.add(at+".name", "duplicates another source of this server.")
		}
		sources[s.Sources[i].Name] = true
		s.Sources[i].validate(p, at)
	}
	tools := map[string]bool{}
	for i := range s.Tools {
		at := fmt.Sprintf("%s.tools[%d]", path, i)
		t := &s.Tools[i]
		if tools[t.Name] {
			p.add(at+".name", "duplicates another tool of this server.")
		}
		tools[t.Name] = true
		t.validate(p, at, sources)
	}
}

// checkText checks a description or justification.
func checkText(p *problems, path, s string) {
	if utf8.RuneCountInString(s) > maxTextLen || strings.ContainsRune(s, 0) {
		p.add(path, "must be at most %d characters, without NUL.", maxTextLen)
	}
}

// checkRecord checks the status and justification of a network or package
// record.
func checkRecord(p *problems, path, status, justification string) {
	if status != statusApproved && status != statusPending {
		p.add(path+".status", `must be "approved" or "pending".`)
	}
	checkText(p, path+".justification", justification)
}

// validate checks one external source at path: the rules of §4.2.
func (s *Source) validate(p *problems, path string) {
	if n := utf8.RuneCountInString(s.Name); n < 1 || n > maxSourceNameLen || strings.ContainsFunc(s.Name, isControl) {
		p.add(path+".name", "must be 1–%d printable characters.", maxSourceNameLen)
	}
	if err := checkSourceURL(s.URL); err != "" {
		p.add(path+".url", "%s", err)
	}
	if s.Transport != string(proto.TransportStreamableHTTP) {
		p.add(path+".transport", "must be %q.", proto.TransportStreamableHTTP)
	}
	switch proto.SourceAuthType(s.AuthType) {
	case proto.AuthNone, proto.AuthOAuth, proto.AuthBearer, proto.AuthHeader:
	default:
		p.add(path+".auth_type", `must be "none", "bearer", "header" or "oauth".`)
	}
	needsSecret := s.AuthType == string(proto.AuthBearer) || s.AuthType == string(proto.AuthHeader)
	switch {
	case s.AuthSecretName != nil:
		if err := proto.ValidateSecretName(*s.AuthSecretName); err != nil {
			p.add(path+".auth_secret_name", "%s", proto.FieldErrors(err)[0].Message)
		}
	case needsSecret:
		p.add(path+".auth_secret_name", "required for auth_type %q: the secret whose value is sent.", s.AuthType)
	}
	if s.AuthHeaderName == nil && s.AuthType == string(proto.AuthHeader) {
		p.add(path+".auth_header_name", `required for auth_type "header".`)
	}
	if s.AuthHeaderName != nil && (*s.AuthHeaderName == "" || len(*s.AuthHeaderName) > 256 || strings.ContainsFunc(*s.AuthHeaderName, isControl)) {
		p.add(path+".auth_header_name", "must be 1–256 printable characters.")
	}
	switch proto.SourceStatus(s.Status) {
	case proto.SourcePendingReview, proto.SourceActive, proto.SourceError, proto.SourceDisabled:
	default:
		p.add(path+".status", `must be "pending_review", "active", "error" or "disabled".`)
	}
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// checkSourceURL returns what is wrong with a source URL (§4.2), or "".
func checkSourceURL(s string) string {
	const rule = "must be an http or https URL with a host, without user information or fragment, at most 2000 characters."
	u, err := url.Parse(s)
	switch {
	case err != nil, len(s) > maxURLLen, u.Scheme != "http" && u.Scheme != "https", u.Host == "",
		u.User != nil, u.Fragment != "", strings.Contains(s, "#"), strings.ContainsAny(s, " \t\r\n"),
		!strings.HasPrefix(s, u.Scheme+"://"):
		return rule
	}
	if _, err := proto.NormalizeHost(u.Host); err != nil {
		return rule
	}
	return ""
}

// validate checks one tool at path; sources are the names of its server's
// sources.
func (t *Tool) validate(p *problems, path string, sources map[string]bool) {
	p.addRule(path, proto.ValidateToolName(t.Name))
	if t.Enabled == nil {
		p.add(path+".enabled", "required: true or false.")
	}
	switch t.Kind {
	case proto.ToolKindGo:
		if t.ExternalSource != nil || t.ExternalToolName != nil {
			p.add(path+".external_source", "must be null for a go tool, as must external_tool_name.")
		}
	case proto.ToolKindExternal:
		switch {
		case t.ExternalSource == nil:
			p.add(path+".external_source", "required for an external tool: the name of one of this server's external_mcp_sources.")
		case !sources[*t.ExternalSource]:
			p.add(path+".external_source", "names no source of this server; it must be one of its external_mcp_sources.")
		}
		if t.ExternalToolName == nil || *t.ExternalToolName == "" {
			p.add(path+".external_tool_name", "required for an external tool: its name on the external server.")
		}
	default:
		p.add(path+".kind", `must be "go" or "external".`)
		return
	}
	if t.Latest == nil {
		p.add(path+".latest", "required: the tool's latest version {content, manifest, hash}.")
	} else {
		t.Latest.validate(p, path+".latest", t)
	}
	if t.Approved != nil {
		t.Approved.validate(p, path+".approved", t)
	}
}

// validate checks a version of tool t at path.
func (v *Version) validate(p *problems, path string, t *Tool) {
	if !canon.ValidHash(v.Hash) {
		p.add(path+".hash", "must be sha256: and 64 lowercase hex digits.")
	}
	if v.Manifest == nil {
		p.add(path+".manifest", "required: the version's manifest.")
	} else if m, err := v.Manifest.Normalize(); err != nil {
		p.addRule(path+".manifest", err)
	} else {
		p.addRule(path+".manifest", m.Validate(t.Kind))
	}
	if t.Kind == proto.ToolKindGo {
		if _, err := goCode(v.Content); err != nil {
			p.add(path+".content", "%s", err.Error())
		}
		return
	}
	def, err := definition(v.Content)
	if err != nil {
		p.addRule(path+".content", err)
		return
	}
	if t.ExternalToolName != nil && def.Name != *t.ExternalToolName {
		p.add(path+".content.name", "must equal the tool's external_tool_name %q.", *t.ExternalToolName)
	}
}

// goCode decodes the content of a go version: the code as a JSON string,
// normalised (§2), not empty and at most proto.MaxCodeBytes bytes.
func goCode(content json.RawMessage) (string, error) {
	var code string
	if len(content) == 0 || json.Unmarshal(content, &code) != nil {
		return "", errors.New("must be the tool's code as a JSON string")
	}
	code, err := canon.NormalizeCode(code)
	switch {
	case err != nil:
		return "", errors.New("must be valid UTF-8 without NUL bytes")
	case strings.TrimSpace(code) == "":
		return "", errors.New("must not be empty")
	case len(code) > proto.MaxCodeBytes:
		return "", fmt.Errorf("must be at most %d bytes; this code has %d", proto.MaxCodeBytes, len(code))
	}
	return code, nil
}

// definition decodes the content of an external version strictly: the
// definition of §5.3, whose source_id is the exporting installation's.
func definition(content json.RawMessage) (proto.ExternalDefinition, error) {
	var def proto.ExternalDefinition
	if len(content) == 0 || string(content) == "null" {
		return def, &proto.RuleError{Message: "must be the external definition {annotations, description, input_schema, name, source_id}."}
	}
	if err := strictjson.Decode(content, &def, strictjson.Options{}); err != nil {
		var se *strictjson.Error
		if errors.As(err, &se) {
			return def, &proto.RuleError{Field: bracketIndexes(se.Path), Message: se.Rule + "."}
		}
		return def, &proto.RuleError{Message: "must be the external definition {annotations, description, input_schema, name, source_id}."}
	}
	var errs []error
	if def.Name == "" {
		errs = append(errs, &proto.RuleError{Field: "name", Message: "required: the tool's name on the external server."})
	}
	if _, err := uuid.Parse(def.SourceID); err != nil {
		errs = append(errs, &proto.RuleError{Field: "source_id", Message: "must be a UUID."})
	}
	for _, f := range []struct {
		field string
		raw   json.RawMessage
	}{{"annotations", def.Annotations}, {"input_schema", def.InputSchema}} {
		if len(f.raw) > 0 && string(f.raw) != "null" && f.raw[0] != '{' {
			errs = append(errs, &proto.RuleError{Field: f.field, Message: "must be a JSON object or null."})
		}
	}
	return def, errors.Join(errs...)
}
