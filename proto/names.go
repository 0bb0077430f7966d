package proto

import (
	"errors"
	"fmt"
	"strings"
)

// Name rules of backend.md §2 and contracts.md §10. The exposed name of a
// tool is "<server>__<tool>"; because neither part may contain "__", it splits
// unambiguously at its only double underscore.
//
//nolint:gosec // G101 reads "secret" in rule names as hard-coded credentials.
const (
	// NamePattern is the rule for server and tool names: lowercase letters and
	// digits, words joined by single underscores.
	NamePattern = `^[a-z][a-z0-9]*(_[a-z0-9]+)*$`
	// ExposedNamePattern is the rule for "<server>__<tool>".
	ExposedNamePattern = `^[a-z][a-z0-9]*(_[a-z0-9]+)*__[a-z][a-z0-9]*(_[a-z0-9]+)*$`
	// SecretNamePattern is the rule for secret names (the keys of a server's
	// secrets and of manifest.secrets).
	SecretNamePattern = `^[A-Z][A-Z0-9_]*$`

	// MaxServerNameLen is the longest server name, in characters.
	MaxServerNameLen = 24
	// MaxToolNameLen is the longest tool name, in characters.
	MaxToolNameLen = 38
	// MaxExposedNameLen is the longest exposed name: 24 + 2 + 38.
	MaxExposedNameLen = 64
	// MaxSecretNameLen is the longest secret name, in characters.
	MaxSecretNameLen = 64
	// ReservedPrefix starts every management tool name; no server name (and so
	// no exposed name) may start with it.
	ReservedPrefix = "mcpbox"
	// ExposedNameSeparator joins server and tool name in an exposed name.
	ExposedNameSeparator = "__"
)

//nolint:gochecknoglobals // read-only patterns, compiled on first use
var (
	nameRe        = lazyRegexp(NamePattern)
	exposedNameRe = lazyRegexp(ExposedNamePattern)
	secretNameRe  = lazyRegexp(SecretNamePattern)
)

// RuleError is a value that breaks a contract rule. Field is the JSON name or
// path of the value (for example "name" or "hosts[2]") and Message the rule
// and what to do, written for the caller (an LLM or an admin), so it can be
// sent as is in a FieldError or an Error's message.
type RuleError struct {
	Field   string
	Message string
}

// Error returns "field: message", the form of backend.md §15.1 messages.
func (e *RuleError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// FieldError converts the rule error to the details entry of an Error.
func (e *RuleError) FieldError() FieldError {
	return FieldError{Field: e.Field, Message: e.Message}
}

// ruleError builds a *RuleError with a formatted message.
func ruleError(field, format string, args ...any) *RuleError {
	return &RuleError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// ValidateServerName checks a server name: NamePattern, 1–24 characters, not
// starting with "mcpbox". The error's field is "name".
func ValidateServerName(s string) error {
	if !nameRe().MatchString(s) || len(s) > MaxServerNameLen {
		return ruleError("name", "must match %s (lowercase letters and digits, words joined by single underscores), at most %d characters.",
			NamePattern, MaxServerNameLen)
	}
	if strings.HasPrefix(s, ReservedPrefix) {
		return ruleError("name", "names starting with '%s' are reserved.", ReservedPrefix)
	}
	return nil
}

// ValidateToolName checks a tool name: NamePattern, 1–38 characters. The
// error's field is "name".
func ValidateToolName(s string) error {
	if !nameRe().MatchString(s) || len(s) > MaxToolNameLen {
		return ruleError("name", "must match %s (lowercase letters and digits, words joined by single underscores), at most %d characters.",
			NamePattern, MaxToolNameLen)
	}
	return nil
}

// ValidateExposedName checks an exposed name "<server>__<tool>": at most 64
// characters, ExposedNamePattern, not starting with "mcpbox". This is the
// gateway's catalog-entry check (gateway.md §7.3); the error's field is
// "name".
func ValidateExposedName(s string) error {
	if len(s) > MaxExposedNameLen || !exposedNameRe().MatchString(s) {
		return ruleError("name", "must be <server>__<tool> matching %s, at most %d characters.",
			ExposedNamePattern, MaxExposedNameLen)
	}
	if strings.HasPrefix(s, ReservedPrefix) {
		return ruleError("name", "names starting with '%s' are reserved for management tools.", ReservedPrefix)
	}
	return nil
}

// ValidateSecretName checks a secret name: SecretNamePattern, 1–64
// characters. The error's field is "name"; callers whose argument is called
// otherwise (mcpbox_create_server_secret's "key") set RuleError.Field.
func ValidateSecretName(s string) error {
	if !secretNameRe().MatchString(s) || len(s) > MaxSecretNameLen {
		return ruleError("name", "must match %s (uppercase letters, digits and underscores, starting with a letter), at most %d characters.",
			SecretNamePattern, MaxSecretNameLen)
	}
	return nil
}

// ExposedName joins a server and a tool name into the name clients call. It
// does not validate; the parts must have passed ValidateServerName and
// ValidateToolName.
func ExposedName(server, tool string) string {
	return server + ExposedNameSeparator + tool
}

// SplitExposedName validates an exposed name (ValidateExposedName) and splits
// it at its only "__" into the server and tool names.
func SplitExposedName(name string) (server, tool string, err error) {
	if err := ValidateExposedName(name); err != nil {
		return "", "", err
	}
	server, tool, _ = strings.Cut(name, ExposedNameSeparator)
	return server, tool, nil
}

// joinRules joins rule failures into one error; nil when there are none.
func joinRules(list []*RuleError) error {
	errs := make([]error, len(list))
	for i, e := range list {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// FieldErrors lists the failures inside err, a *RuleError or a join (or a
// wrap) of them, as the details of an Error. An error that is not a
// *RuleError becomes an entry without a field.
func FieldErrors(err error) []FieldError {
	var out []FieldError
	collectFieldErrors(err, &out)
	return out
}

// collectFieldErrors appends the failures of err to out, depth first.
func collectFieldErrors(err error, out *[]FieldError) {
	if err == nil {
		return
	}
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		for _, e := range joined.Unwrap() {
			collectFieldErrors(e, out)
		}
		return
	}
	var re *RuleError
	if errors.As(err, &re) {
		*out = append(*out, re.FieldError())
		return
	}
	*out = append(*out, FieldError{Message: err.Error()})
}
