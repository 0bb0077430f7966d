package proto

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// Limits of a tool version (backend.md §2, §5.2; contracts.md §10).
const (
	// MaxCodeBytes is the largest tool source, in bytes of UTF-8.
	MaxCodeBytes = 102_400
	// MinTimeoutMS, MaxTimeoutMS and DefaultTimeoutMS bound manifest.timeout_ms.
	MinTimeoutMS     = 1000
	MaxTimeoutMS     = 300_000
	DefaultTimeoutMS = 30_000
	// MinMemoryMB, MaxMemoryMB and DefaultMemoryMB bound manifest.memory_mb of
	// a go tool; an external tool's is always 0.
	MinMemoryMB     = 32
	MaxMemoryMB     = 1024
	DefaultMemoryMB = 128
	// MaxManifestEntries is the longest hosts, packages or secrets list.
	MaxManifestEntries = 32
	// MaxPackagePathLen is the longest package import path.
	MaxPackagePathLen = 128
	// PackagePathPattern is the rule for a package import path.
	PackagePathPattern = `^[a-z0-9]+(/[a-z0-9]+)*$`
	// MaxHostNameLen and MaxHostLabelLen are the DNS limits of §6.5.
	MaxHostNameLen  = 253
	MaxHostLabelLen = 63
)

var packagePathRe = lazyRegexp(PackagePathPattern) //nolint:gochecknoglobals // read-only pattern, compiled on first use

// Manifest is what a tool version may do (backend.md §5.2). It is part of the
// pinned hash, always in normalised form (Normalize): lists are never null,
// deduplicated and sorted by byte order.
type Manifest struct {
	// Hosts are "host" (any port) or "host:port" entries, IPv6 as "[addr]" or
	// "[addr]:port", normalised by NormalizeHost.
	Hosts []string `json:"hosts"`
	// Packages are the opt-in import paths the code uses.
	Packages []string `json:"packages"`
	// Secrets are the secret names the code reads.
	Secrets []string `json:"secrets"`
	// TimeoutMS is the execution timeout, 1000–300000.
	TimeoutMS int `json:"timeout_ms"`
	// MemoryMB is the memory limit of a go tool, 32–1024; 0 for an external tool.
	MemoryMB int `json:"memory_mb"`
}

// ExternalDefinition is the pinned definition of an external tool (backend.md
// §5.3): exactly the upstream fields an admin approved. Its canonical JSON is
// part of the pinned hash and is what the sandbox compares with the
// upstream's current tools/list entry.
type ExternalDefinition struct {
	// Annotations are the upstream annotations object, or JSON null.
	Annotations json.RawMessage `json:"annotations"`
	// Description is the upstream description, "" when it has none.
	Description string `json:"description"`
	// InputSchema is the upstream inputSchema.
	InputSchema json.RawMessage `json:"input_schema"`
	// Name is the tool's name on the external server.
	Name string `json:"name"`
	// SourceID is the id of the external source (a lowercase UUID).
	SourceID string `json:"source_id"`
}

// Normalize returns the manifest in the form that is hashed and stored
// (backend.md §5.2): every host normalised (NormalizeHost), a "host:port"
// entry dropped when the bare host is present, every list deduplicated and
// sorted by byte order, and nil lists made empty. Packages and secrets are
// not rewritten; Validate checks their rules. The error is a *RuleError (or
// several, joined) naming "hosts[i]".
func (m Manifest) Normalize() (Manifest, error) {
	var errs []error
	hosts := make([]string, 0, len(m.Hosts))
	for i, h := range m.Hosts {
		n, err := NormalizeHost(h)
		if err != nil {
			errs = append(errs, withField(err, fmt.Sprintf("hosts[%d]", i)))
			continue
		}
		hosts = append(hosts, n)
	}
	if len(errs) > 0 {
		return Manifest{}, errors.Join(errs...)
	}
	bare := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		if _, port := SplitNormalizedHost(h); port == "" {
			bare[h] = true
		}
	}
	hosts = slices.DeleteFunc(hosts, func(h string) bool {
		host, port := SplitNormalizedHost(h)
		return port != "" && bare[host]
	})
	return Manifest{
		Hosts:     sortedUnique(hosts),
		Packages:  sortedUnique(m.Packages),
		Secrets:   sortedUnique(m.Secrets),
		TimeoutMS: m.TimeoutMS,
		MemoryMB:  m.MemoryMB,
	}, nil
}

// Validate checks the manifest rules of backend.md §5.2 for a tool of the
// given kind: at most 32 entries per list, every host normalisable, package
// paths and secret names well formed, timeout_ms 1000–300000, memory_mb
// 32–1024 for a go tool, and for an external tool memory_mb 0, no packages and
// at most one secret. Every failure is reported (errors.Join of *RuleError,
// fields relative to the manifest, e.g. "hosts[2]").
func (m Manifest) Validate(kind ToolKind) error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, ruleError(field, format, args...))
	}
	for _, l := range []struct {
		field string
		list  []string
	}{{"hosts", m.Hosts}, {"packages", m.Packages}, {"secrets", m.Secrets}} {
		if len(l.list) > MaxManifestEntries {
			add(l.field, "at most %d entries; this manifest has %d.", MaxManifestEntries, len(l.list))
		}
	}
	for i, h := range m.Hosts {
		if _, err := NormalizeHost(h); err != nil {
			errs = append(errs, withField(err, fmt.Sprintf("hosts[%d]", i)))
		}
	}
	for i, p := range m.Packages {
		if len(p) > MaxPackagePathLen || !packagePathRe().MatchString(p) {
			add(fmt.Sprintf("packages[%d]", i), "must be an import path matching %s, at most %d characters, e.g. encoding/xml.",
				PackagePathPattern, MaxPackagePathLen)
		}
	}
	for i, s := range m.Secrets {
		if err := ValidateSecretName(s); err != nil {
			errs = append(errs, withField(err, fmt.Sprintf("secrets[%d]", i)))
		}
	}
	if m.TimeoutMS < MinTimeoutMS || m.TimeoutMS > MaxTimeoutMS {
		add("timeout_ms", "must be between %d and %d (milliseconds); the default is %d.", MinTimeoutMS, MaxTimeoutMS, DefaultTimeoutMS)
	}
	switch kind {
	case ToolKindGo:
		if m.MemoryMB < MinMemoryMB || m.MemoryMB > MaxMemoryMB {
			add("memory_mb", "must be between %d and %d (MiB); the default is %d.", MinMemoryMB, MaxMemoryMB, DefaultMemoryMB)
		}
	case ToolKindExternal:
		if m.MemoryMB != 0 {
			add("memory_mb", "must be 0 for an external tool, which runs no code in the sandbox.")
		}
		if len(m.Packages) != 0 {
			add("packages", "must be empty for an external tool.")
		}
		if len(m.Secrets) > 1 {
			add("secrets", "an external tool names at most one secret, its source's auth secret.")
		}
	default:
		add("kind", "must be %q or %q.", ToolKindGo, ToolKindExternal)
	}
	return errors.Join(errs...)
}

// NormalizeHost returns the canonical form of one host entry (backend.md
// §6.5): "host" or "host:port", trimmed and lowercased, one trailing dot
// stripped, an IDN converted to its A-label (punycode, IDNA lookup profile),
// an IPv4 literal in dotted-quad form, an IPv6 literal in canonical form in
// brackets ("[2001:db8::1]", "[::1]:8443"; a bare IPv6 literal is accepted and
// bracketed). It rejects schemes, paths, userinfo, wildcards, whitespace, IPv6
// zones, empty labels, labels over 63 and names over 253 characters,
// non-canonical IP literals (such as "127.1" or "0x7f000001", whose last label
// is numeric) and ports outside 1–65535 or written with a sign or leading
// zero. The error is a *RuleError without a field whose message names the
// rule and is safe to show to the caller.
func NormalizeHost(entry string) (string, error) {
	s := strings.TrimSpace(entry)
	if s == "" {
		return "", hostError("must not be empty; write a host such as api.example.com or api.example.com:443.")
	}
	switch {
	case strings.Contains(s, "://"):
		return "", hostError("must be a host, not a URL: drop the scheme (write api.example.com, not https://api.example.com).")
	case strings.ContainsAny(s, "/?#\\"):
		return "", hostError("must be a host without a path, query or fragment.")
	case strings.Contains(s, "@"):
		return "", hostError("must be a host without user information (no '@'); credentials belong in a secret.")
	case strings.Contains(s, "*"):
		return "", hostError("wildcards are not allowed; request each host separately.")
	case strings.Contains(s, "%"):
		return "", hostError("must not contain '%%' (percent-encoding or an IPv6 zone).")
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r == 0x85 || r == 0xa0 || r == 0x2028 || r == 0x2029 || r == 0xfeff {
			return "", hostError("must not contain spaces or control characters.")
		}
	}

	host, port, bracketed, err := splitHostEntry(s)
	if err != nil {
		return "", err
	}
	if port != "" {
		if err := checkPort(port); err != nil {
			return "", err
		}
	}
	if bracketed {
		return joinHostPort("["+host+"]", port), nil
	}
	name, err := normalizeHostName(host)
	if err != nil {
		return "", err
	}
	return joinHostPort(name, port), nil
}

// splitHostEntry splits an entry into host and port. For an IPv6 literal
// (bracketed, or bare with no port) it returns the canonical address without
// brackets and bracketed = true.
func splitHostEntry(s string) (host, port string, bracketed bool, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", false, hostError("an IPv6 literal must be closed with ']', e.g. [2001:db8::1]:443.")
		}
		addr, err := parseIPv6(s[1:end])
		if err != nil {
			return "", "", false, err
		}
		rest := s[end+1:]
		switch {
		case rest == "":
			return addr, "", true, nil
		case strings.HasPrefix(rest, ":") && len(rest) > 1:
			return addr, rest[1:], true, nil
		default:
			return "", "", false, hostError("after ']' only ':port' may follow, e.g. [2001:db8::1]:443.")
		}
	}
	switch strings.Count(s, ":") {
	case 0:
		return s, "", false, nil
	case 1:
		h, p, _ := strings.Cut(s, ":")
		if h == "" {
			return "", "", false, hostError("the host before ':port' is missing.")
		}
		if p == "" {
			return "", "", false, hostError("the port after ':' is missing; drop the ':' to allow every port.")
		}
		return h, p, false, nil
	default:
		addr, err := parseIPv6(s)
		if err != nil {
			return "", "", false, hostError("an IPv6 literal with a port must be written in brackets, e.g. [2001:db8::1]:443.")
		}
		return addr, "", true, nil
	}
}

// parseIPv6 parses an IPv6 literal without brackets and returns its canonical
// text.
func parseIPv6(s string) (string, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() {
		return "", hostError("%q is not a valid IPv6 address.", s)
	}
	if a.Zone() != "" {
		return "", hostError("IPv6 zones are not allowed.")
	}
	return a.String(), nil
}

// checkPort accepts a port written as plain decimal 1–65535 without a leading
// zero, so every port has exactly one spelling.
func checkPort(p string) error {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 || p[0] < '1' || p[0] > '9' {
		return hostError("port %q must be a number from 1 to 65535 without a sign or leading zero.", p)
	}
	return nil
}

// normalizeHostName normalises a DNS name or an IPv4 literal.
func normalizeHostName(host string) (string, error) {
	h := strings.ToLower(host)
	if a, err := netip.ParseAddr(strings.TrimSuffix(h, ".")); err == nil && a.Is4() {
		return a.String(), nil
	}
	ascii, err := idna.Lookup.ToASCII(h)
	if err != nil {
		return "", hostError("%q is not a valid host name (letters, digits and hyphens in dot-separated labels; IDNs are allowed).", host)
	}
	ascii = strings.TrimSuffix(ascii, ".")
	if a, err := netip.ParseAddr(ascii); err == nil && a.Is4() {
		return a.String(), nil
	}
	if ascii == "" {
		return "", hostError("must not be empty; write a host such as api.example.com.")
	}
	if len(ascii) > MaxHostNameLen {
		return "", hostError("host names have at most %d characters.", MaxHostNameLen)
	}
	labels := strings.Split(ascii, ".")
	for _, l := range labels {
		if l == "" {
			return "", hostError("%q has an empty label ('..', or a leading dot).", host)
		}
		if len(l) > MaxHostLabelLen {
			return "", hostError("each label of a host name has at most %d characters.", MaxHostLabelLen)
		}
		for i := range len(l) {
			c := l[i]
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				return "", hostError("%q is not a valid host name (letters, digits and hyphens in dot-separated labels).", host)
			}
		}
	}
	last := labels[len(labels)-1]
	if strings.HasPrefix(last, "0x") || strings.Trim(last, "0123456789") == "" {
		return "", hostError("%q is not a canonical IP address; write an IPv4 address as four decimal numbers, e.g. 192.0.2.10.", host)
	}
	return ascii, nil
}

// hostError is a host rule failure; the caller sets the field.
func hostError(format string, args ...any) error {
	return &RuleError{Message: fmt.Sprintf(format, args...)}
}

// withField returns a copy of a *RuleError with its field set; any other
// error is wrapped in a new *RuleError.
func withField(err error, field string) error {
	var re *RuleError
	if errors.As(err, &re) {
		return &RuleError{Field: field, Message: re.Message}
	}
	return &RuleError{Field: field, Message: err.Error()}
}

// joinHostPort appends ":port" when port is set; host is already bracketed
// when it is an IPv6 literal.
func joinHostPort(host, port string) string {
	if port == "" {
		return host
	}
	return host + ":" + port
}

// SplitNormalizedHost splits an entry returned by NormalizeHost into its host
// ("[addr]" for IPv6, as network_requests stores it) and port ("" when absent).
func SplitNormalizedHost(h string) (host, port string) {
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end >= 0 && end+1 < len(h) && h[end+1] == ':' {
			return h[:end+1], h[end+2:]
		}
		return h, ""
	}
	host, port, _ = strings.Cut(h, ":")
	return host, port
}

// sortedUnique returns a new sorted list without duplicates; never nil.
func sortedUnique(list []string) []string {
	out := slices.Clone(list)
	if out == nil {
		out = []string{}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
