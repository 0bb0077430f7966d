package proto

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// The input schemas of the management tools are built from the constants
// of names.go and manifest.go by the small builder below, so a limit is
// written once and the schema cannot drift from the rule the backend
// enforces. Schemas are JSON Schema 2020-12 (MCP's default dialect, so no
// "$schema" keyword), closed with additionalProperties: false, and carry a
// description on every property because LLMs read them.

// Limits of management arguments that have no constant elsewhere in proto
// (backend.md §2, §4.2, §6.5, §10.2; gateway.md §10.4).
const (
	// MaxTextLen bounds descriptions, justifications and notes (backend.md §2).
	MaxTextLen = 2000
	// MinJustificationLen is the shortest justification of a request.
	MinJustificationLen = 10
	// MaxSourceNameLen is the longest external source name (backend.md §4.2).
	MaxSourceNameLen = 64
	// MaxSourceURLLen is the longest external source URL.
	MaxSourceURLLen = 2000
	// MaxAuthHeaderNameLen is the longest custom auth header name of a source.
	MaxAuthHeaderNameLen = 128
	// MaxImportNames is the most tool names one import takes.
	MaxImportNames = 1000
	// MaxFindQueryLen, DefaultFindLimit and MaxFindLimit bound
	// mcpbox_find_tools (gateway.md §10.4, tool 29).
	MaxFindQueryLen  = 200
	DefaultFindLimit = 10
	MaxFindLimit     = 50
	// maxHostEntryLen bounds one host argument: a name of MaxHostNameLen
	// plus the trailing dot the backend strips and ":65535". The backend's
	// rules (§6.5) are finer; the schema only keeps absurd values out.
	maxHostEntryLen = MaxHostNameLen + 1 + 6
)

// Patterns used only by the management schemas, in the ECMA-262 subset that
// Go's regexp shares, so every client's validator reads them alike.
const (
	// reservedPrefixPattern matches names starting with ReservedPrefix; the
	// schemas refuse it with "not".
	reservedPrefixPattern = "^" + ReservedPrefix
	// httpURLPattern requires an http or https URL (the backend lowercases
	// the scheme, so any case is accepted).
	httpURLPattern = `^[Hh][Tt][Tt][Pp][Ss]?://`
	// headerNamePattern is an HTTP header name (an RFC 9110 token).
	headerNamePattern = "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"
)

// schemaProp is one property schema. Pointers and omitempty keep unset keywords
// out of the JSON.
type schemaProp struct {
	Type        string      `json:"type"`
	Description string      `json:"description,omitempty"`
	Enum        []string    `json:"enum,omitempty"`
	Default     any         `json:"default,omitempty"`
	MinLength   *int        `json:"minLength,omitempty"`
	MaxLength   *int        `json:"maxLength,omitempty"`
	Pattern     string      `json:"pattern,omitempty"`
	Not         *schemaProp `json:"not,omitempty"`
	Minimum     *int        `json:"minimum,omitempty"`
	Maximum     *int        `json:"maximum,omitempty"`
	Items       *schemaProp `json:"items,omitempty"`
	MinItems    *int        `json:"minItems,omitempty"`
	MaxItems    *int        `json:"maxItems,omitempty"`
}

// objectSchema is a tool's input schema: always a closed object that lists
// its required properties (possibly none).
type objectSchema struct {
	Type                 string                `json:"type"`
	Properties           map[string]schemaProp `json:"properties"`
	Required             []string              `json:"required"`
	AdditionalProperties bool                  `json:"additionalProperties"`
}

// schemaParam is one argument of a tool: its name, schema and whether it is
// required.
type schemaParam struct {
	name     string
	schema   schemaProp
	required bool
}

// mgmtInput builds the closed input schema of a tool from its parameters.
func mgmtInput(params ...schemaParam) json.RawMessage {
	s := objectSchema{Type: "object", Properties: map[string]schemaProp{}, Required: []string{}}
	for _, p := range params {
		s.Properties[p.name] = p.schema
		if p.required {
			s.Required = append(s.Required, p.name)
		}
	}
	// No HTML escaping: the patterns and descriptions stay readable as
	// written ("<server>__<tool>", "&").
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		// Only strings, ints, bools and maps of them are marshalled here.
		panic(fmt.Sprintf("proto: marshal a management input schema: %v", err))
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// reqParam marks a parameter required; optParam makes it optional.
func reqParam(name string, p schemaProp) schemaParam {
	return schemaParam{name: name, schema: p, required: true}
}
func optParam(name string, p schemaProp) schemaParam { return schemaParam{name: name, schema: p} }

func intp(n int) *int { return &n }

// strProp is a string property.
func strProp(description string, minLen, maxLen int) schemaProp {
	p := schemaProp{Type: "string", Description: description}
	if minLen > 0 {
		p.MinLength = intp(minLen)
	}
	if maxLen > 0 {
		p.MaxLength = intp(maxLen)
	}
	return p
}

// intProp is an integer property from minimum to maximum.
func intProp(description string, minimum, maximum int) schemaProp {
	p := schemaProp{Type: "integer", Description: description, Minimum: intp(minimum)}
	if maximum > 0 {
		p.Maximum = intp(maximum)
	}
	return p
}

// withDefault returns p with a default value (documentation only: the
// gateway does not apply defaults, the backend does).
func (p schemaProp) withDefault(v any) schemaProp {
	p.Default = v
	return p
}

// idProp is a UUID argument. It is a plain string in the schema (formats are
// not asserted, gateway.md §8.2); the backend answers "<name>: must be a
// UUID." for a malformed one.
func idProp(what string) schemaProp {
	return strProp(fmt.Sprintf("The %s's id (a UUID string).", what), 0, 0)
}

// serverNameProp is a server name: NamePattern, 1–24 characters, never
// starting with "mcpbox".
func serverNameProp(description string) schemaProp {
	p := strProp(description+fmt.Sprintf(" Lowercase letters and digits, words joined by single underscores "+
		"(%s), at most %d characters, not starting with '%s'.", NamePattern, MaxServerNameLen, ReservedPrefix),
		1, MaxServerNameLen)
	p.Pattern = NamePattern
	p.Not = &schemaProp{Type: "string", Pattern: reservedPrefixPattern}
	return p
}

// toolNameProp is a tool name: NamePattern, 1–38 characters.
func toolNameProp(description string) schemaProp {
	p := strProp(description+fmt.Sprintf(" Lowercase letters and digits, words joined by single underscores "+
		"(%s), at most %d characters.", NamePattern, MaxToolNameLen), 1, MaxToolNameLen)
	p.Pattern = NamePattern
	return p
}

// secretNameProp is a secret name: SecretNamePattern, 1–64 characters.
func secretNameProp(description string) schemaProp {
	p := strProp(description+fmt.Sprintf(" Uppercase letters, digits and underscores, starting with a letter "+
		"(%s), at most %d characters.", SecretNamePattern, MaxSecretNameLen), 1, MaxSecretNameLen)
	p.Pattern = SecretNamePattern
	return p
}

// codeProp is Go tool source, at most MaxCodeBytes. JSON Schema counts
// characters, the backend bytes: the schema bound is the looser one and the
// backend refuses the rest with the byte count.
func codeProp(description string) schemaProp {
	return strProp(description+fmt.Sprintf(" At most %d bytes.", MaxCodeBytes), 1, MaxCodeBytes)
}

// hostProp is one host entry: a name or IP literal, with an optional port.
func hostProp(description string) schemaProp {
	return strProp(description, 1, maxHostEntryLen)
}

// hostsProp is the hosts argument of create and update.
func hostsProp() schemaProp {
	return schemaProp{
		Type: "array",
		Description: fmt.Sprintf("Hosts the code may call over HTTP: 'host' (any port) or 'host:port', IPv6 as "+
			"'[addr]' or '[addr]:port'; at most %d entries. An admin approves each host before the "+
			"tool can reach it.", MaxManifestEntries),
		Items:    &schemaProp{Type: "string", MinLength: intp(1), MaxLength: intp(maxHostEntryLen)},
		MaxItems: intp(MaxManifestEntries),
	}
}

// timeoutProp and memoryProp are the manifest limits of create (with
// their defaults) and update (where omitting them keeps the current value).
func timeoutProp(create bool) schemaProp {
	p := intProp(fmt.Sprintf("Execution timeout in milliseconds, %d to %d%s", MinTimeoutMS, MaxTimeoutMS,
		limitSuffix(create, DefaultTimeoutMS)), MinTimeoutMS, MaxTimeoutMS)
	if create {
		p = p.withDefault(DefaultTimeoutMS)
	}
	return p
}

func memoryProp(create bool) schemaProp {
	p := intProp(fmt.Sprintf("Memory limit in MiB, %d to %d%s", MinMemoryMB, MaxMemoryMB,
		limitSuffix(create, DefaultMemoryMB)), MinMemoryMB, MaxMemoryMB)
	if create {
		p = p.withDefault(DefaultMemoryMB)
	}
	return p
}

// limitSuffix ends the description of a manifest limit.
func limitSuffix(create bool, deflt int) string {
	if create {
		return fmt.Sprintf(" (default %d).", deflt)
	}
	return "; omit it to keep the current value."
}

// versionProp is a tool version number.
func versionProp(description string) schemaProp { return intProp(description, 1, 0) }

// justificationProp is the reason of a network or package request.
func justificationProp() schemaProp {
	return strProp(fmt.Sprintf("What the tool needs it for, %d to %d characters; the admin reads it.",
		MinJustificationLen, MaxTextLen), MinJustificationLen, MaxTextLen)
}

// textProp is an optional free text of at most MaxTextLen characters.
func textProp(description string) schemaProp {
	return strProp(fmt.Sprintf("%s At most %d characters.", description, MaxTextLen), 0, MaxTextLen)
}

// pageParams are the cursor and limit of a list (backend.md §10.1, §15.2).
func pageParams() []schemaParam {
	return []schemaParam{
		optParam("cursor", strProp("Opaque cursor from the previous page's next_cursor; omit it for the first page.", 0, 0)),
		optParam("limit", intProp(fmt.Sprintf("Items per page, 1 to %d (default %d).", MaxListLimit, DefaultListLimit),
			1, MaxListLimit).withDefault(DefaultListLimit)),
	}
}

// listInput is a list tool's input: its own parameters followed by cursor and
// limit.
func listInput(params ...schemaParam) json.RawMessage {
	return mgmtInput(append(params, pageParams()...)...)
}

// argumentsProp is the arguments object passed to a tool.
func argumentsProp(description string) schemaProp {
	return schemaProp{Type: "object", Description: description, Default: map[string]any{}}
}

// packageProp is a Go import path (backend.md §4.2 package_requests).
func packageProp() schemaProp {
	p := strProp(fmt.Sprintf("The Go import path, e.g. encoding/xml (%s, at most %d characters).",
		PackagePathPattern, MaxPackagePathLen), 1, MaxPackagePathLen)
	p.Pattern = PackagePathPattern
	return p
}

// toolNamesProp is the tool_names of an import: names as the upstream
// spells them, so only their count and non-emptiness are rules.
func toolNamesProp() schemaProp {
	return schemaProp{
		Type: "array",
		Description: fmt.Sprintf("Names of discovered tools to import, as mcpbox_discover_external_tools "+
			"listed them; 1 to %d.", MaxImportNames),
		Items:    &schemaProp{Type: "string", MinLength: intp(1)},
		MinItems: intp(1),
		MaxItems: intp(MaxImportNames),
	}
}

// exposedNameProp is the name argument of mcpbox_run_tool: an exposed
// name (gateway.md §7.3), never a management tool's.
func exposedNameProp() schemaProp {
	p := strProp(fmt.Sprintf("The tool's name, <server>__<tool> (%s, at most %d characters), as "+
		"mcpbox_find_tools lists it.", ExposedNamePattern, MaxExposedNameLen), 1, MaxExposedNameLen)
	p.Pattern = ExposedNamePattern
	p.Not = &schemaProp{Type: "string", Pattern: reservedPrefixPattern}
	return p
}

// addExternalSourceInput is the input of mcpbox_add_external_source
// (backend.md §10.2, §4.2 external_mcp_sources).
func addExternalSourceInput(serverID schemaParam) json.RawMessage {
	name := strProp(fmt.Sprintf("A name for the source, unique in the server: 1 to %d printable characters.",
		MaxSourceNameLen), 1, MaxSourceNameLen)
	url := strProp(fmt.Sprintf("The MCP endpoint, an http or https URL without user information or fragment, "+
		"at most %d characters, e.g. https://mcp.example.com/mcp.", MaxSourceURLLen), 1, MaxSourceURLLen)
	url.Pattern = httpURLPattern
	authType := strProp("How MCPbox authenticates to the source: none (default), bearer (sends "+
		"'Authorization: Bearer <secret>') or header (sends the secret in auth_header_name). OAuth sources are "+
		"set up by an admin in the MCPbox UI.", 0, 0).withDefault(string(AuthNone))
	authType.Enum = []string{string(AuthNone), string(AuthBearer), string(AuthHeader)}
	header := strProp(fmt.Sprintf("For auth_type header: the header that carries the secret (default "+
		"Authorization), an HTTP header name of at most %d characters, e.g. X-API-Key.", MaxAuthHeaderNameLen),
		1, MaxAuthHeaderNameLen)
	header.Pattern = headerNamePattern
	transport := strProp("The MCP transport: streamable_http, the default and only value.", 0, 0).
		withDefault(string(TransportStreamableHTTP))
	transport.Enum = []string{string(TransportStreamableHTTP)}
	return mgmtInput(
		serverID,
		reqParam("name", name),
		reqParam("url", url),
		optParam("auth_type", authType),
		optParam("auth_secret_name", secretNameProp("For auth_type bearer or header: the server secret that "+
			"holds the credential, declared with mcpbox_create_server_secret.")),
		optParam("auth_header_name", header),
		optParam("transport_type", transport),
	)
}
