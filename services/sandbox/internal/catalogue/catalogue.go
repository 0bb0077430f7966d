package catalogue

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
)

// LanguageLevel is the Go language level tools are written against (§5.6).
const LanguageLevel = "go1.22"

// HostPackage is the import path of the mcpbox host package (§5.5).
const HostPackage = "mcpbox"

// HostSymbols are the exported names of the mcpbox host package (§5.5),
// sorted; the analyzer reports any other mcpbox.X.
func HostSymbols() []string {
	return []string{
		"Client", "EgressError", "HTTP", "HTTPError", "Header", "Log",
		"LookupSecret", "Response", "Secret", "SecretNames",
	}
}

// RequestHint is the next step for an opt-in package that is not approved.
const RequestHint = "ask for it with mcpbox_request_package"

// Package is one entry of the catalogue. The symbol-map generator reads
// Path, Tier, Filtered, Include and Exclude; /v1/packages shows Path, Tier,
// Description, Filtered and Note.
type Package struct {
	// Path is the import path; a never-tier path ending in "/..." covers the
	// path itself and every path below it.
	Path string
	// Tier is default, opt_in or never.
	Tier proto.PackageTier
	// Description is one line.
	Description string
	// Filtered says only some exported symbols are exposed.
	Filtered bool
	// Include lists the exposed symbols of a filtered package as path.Match
	// patterns over the symbol name ("Status*"); empty means all exported
	// symbols minus Exclude.
	Include []string
	// Exclude lists symbols (path.Match patterns) removed from a filtered
	// package.
	Exclude []string
	// Note explains filtering or limits, or for never the reason.
	Note string
}

// Pattern reports whether the entry covers a path prefix ("os/...").
func (p Package) Pattern() bool { return strings.HasSuffix(p.Path, "/...") }

// Covers reports whether the entry applies to the import path.
func (p Package) Covers(path string) bool {
	if !p.Pattern() {
		return p.Path == path
	}
	base := strings.TrimSuffix(p.Path, "/...")
	return path == base || strings.HasPrefix(path, base+"/")
}

// Packages returns the whole catalogue, in the order of tiers.go: every
// default-tier, opt-in and never-tier entry. The result is a fresh copy.
func Packages() []Package {
	pkgs := slices.Concat(defaultTier(), optInTier(), neverTier())
	for i := range pkgs {
		pkgs[i].Include = slices.Clone(pkgs[i].Include)
		pkgs[i].Exclude = slices.Clone(pkgs[i].Exclude)
	}
	return pkgs
}

// GoVersion is the Go version of the build; the symbol tables follow it.
// Experiments ("-X:norandomizedheapbase64", which sandbox-worker is built
// with) are left out: the parent and its worker must agree, and an
// experiment that changed a package's API would break the generated
// symbol maps at compile time instead.
func GoVersion() string {
	v, _, _ := strings.Cut(runtime.Version(), "-X:")
	return v
}

// Version is the catalogue_version: a digest of the catalogue table (symbol
// filters included) and the Go version of the build. It changes whenever a
// symbol table can change, and is part of the analysis-cache key.
//
// Every worker reports it when ready, so it must be cheap: the table's part
// is [tableDigest], computed from [TableText] when the table changes and
// checked by TestTableDigestIsCurrent (`make update-golden` rewrites it);
// hashing the table in every fresh worker process cost about 2 % of an
// execution's CPU.
func Version() string {
	h := sha256.Sum256([]byte("go=" + GoVersion() + "\nlevel=" + LanguageLevel + "\ntable=" + tableDigest + "\n"))
	return "cat-" + hex.EncodeToString(h[:6])
}

// TableText is the canonical text of the catalogue table that [tableDigest]
// is the SHA-256 of: one line per entry with the fields the symbol-map
// generator reads.
func TableText() string {
	var b strings.Builder
	for _, p := range Packages() {
		// %q keeps entries unambiguous whatever their content.
		_, _ = fmt.Fprintf(&b, "%q %q %t %q %q\n", p.Path, p.Tier, p.Filtered, p.Include, p.Exclude)
	}
	return b.String()
}

// Catalogue is the body of GET /v1/packages (§4.4) for the given
// catalogue_version (normally [Version]).
func Catalogue(version string) proto.PackageCatalogue {
	all := Packages()
	out := proto.PackageCatalogue{
		CatalogueVersion: version,
		GoVersion:        GoVersion(),
		LanguageLevel:    LanguageLevel,
		Packages:         make([]proto.Package, 0, len(all)),
	}
	for _, p := range all {
		out.Packages = append(out.Packages, proto.Package{
			Path:        p.Path,
			Tier:        p.Tier,
			Description: p.Description,
			Filtered:    p.Filtered,
			Note:        p.Note,
		})
	}
	return out
}

// Kind classifies an import path for the analyzer.
type Kind int

// Kinds of import path.
const (
	// KindDefault is always importable.
	KindDefault Kind = iota + 1
	// KindOptIn is importable once approved and listed in extra_packages.
	KindOptIn
	// KindNever is a never-tier path.
	KindNever
	// KindUnknown is in no tier (third-party, or a standard package the
	// catalogue does not list); treated like never.
	KindUnknown
	// KindInvalid is not an import path a tool can use at all: relative,
	// absolute, containing "..", or malformed.
	KindInvalid
)

// Decision is what the catalogue says about one import path.
type Decision struct {
	Path string
	Kind Kind
	// Tier is the wire tier: never for KindNever, KindUnknown and
	// KindInvalid.
	Tier proto.PackageTier
	// Entry is the catalogue entry that decided, when there is one.
	Entry *Package
}

// Lookup decides an import path: an exact entry wins over a never-tier
// "/..." pattern.
func Lookup(path string) Decision {
	if reason := invalidReason(path); reason != "" {
		return Decision{Path: path, Kind: KindInvalid, Tier: proto.TierNever}
	}
	all := Packages()
	for i := range all {
		if !all[i].Pattern() && all[i].Path == path {
			return decision(path, &all[i])
		}
	}
	var best *Package
	for i := range all {
		if all[i].Pattern() && all[i].Covers(path) && (best == nil || len(all[i].Path) > len(best.Path)) {
			best = &all[i]
		}
	}
	if best != nil {
		return decision(path, best)
	}
	return Decision{Path: path, Kind: KindUnknown, Tier: proto.TierNever}
}

func decision(path string, p *Package) Decision {
	d := Decision{Path: path, Tier: p.Tier, Entry: p}
	switch p.Tier {
	case proto.TierDefault:
		d.Kind = KindDefault
	case proto.TierOptIn:
		d.Kind = KindOptIn
	default:
		d.Kind = KindNever
	}
	return d
}

// Allowed reports whether the path may be imported given the approved
// opt-in paths: default always, opt-in only when listed in extra.
func (d Decision) Allowed(extra []string) bool {
	switch d.Kind {
	case KindDefault:
		return true
	case KindOptIn:
		return slices.Contains(extra, d.Path)
	default:
		return false
	}
}

// Refusal is the ImportError message for a path that is not allowed with the
// given extra packages, or "" when it is allowed (§4.2.5).
func (d Decision) Refusal(extra []string) string {
	if d.Allowed(extra) {
		return ""
	}
	q := fmt.Sprintf("%q", d.Path)
	switch d.Kind {
	case KindOptIn:
		return fmt.Sprintf("package %s is not approved for this tool: %s (it is an opt-in package of the catalogue)", q, RequestHint)
	case KindNever:
		reason := "it is outside the sandbox"
		if d.Entry != nil && d.Entry.Note != "" {
			reason = d.Entry.Note
		}
		return fmt.Sprintf("package %s is not available in MCPbox tools: %s", q, reason)
	case KindInvalid:
		return fmt.Sprintf("import path %s is not allowed: %s; tools are one file and import only catalogue packages by their standard path", q, invalidReason(d.Path))
	default:
		if looksStandard(d.Path) {
			return fmt.Sprintf("package %s is not in the MCPbox package catalogue; use a catalogue package instead (see the package catalogue)", q)
		}
		return fmt.Sprintf("package %s cannot be imported: third-party modules are not supported; see the package catalogue", q)
	}
}

// Check decides every path and returns the decisions in the given order.
func Check(paths []string) []Decision {
	out := make([]Decision, 0, len(paths))
	for _, p := range paths {
		out = append(out, Lookup(p))
	}
	return out
}

// ExtraPackageError is a path in extra_packages that cannot be approved:
// never tier, unknown or invalid (a 400 on /v1/execute and /v1/analyze).
type ExtraPackageError struct {
	// Index is the position in extra_packages.
	Index int
	Path  string
	// Message says why and what to do.
	Message string
}

func (e *ExtraPackageError) Error() string {
	return fmt.Sprintf("extra_packages[%d]: %s", e.Index, e.Message)
}

// Field is the JSON path of the offending entry.
func (e *ExtraPackageError) Field() string { return fmt.Sprintf("extra_packages[%d]", e.Index) }

// ValidateExtra checks extra_packages: opt-in and default paths are accepted
// (default ones have no effect); a never-tier, unknown or invalid path is an
// *ExtraPackageError.
func ValidateExtra(paths []string) error {
	for i, p := range paths {
		d := Lookup(p)
		switch d.Kind {
		case KindDefault, KindOptIn:
			continue
		case KindNever:
			return &ExtraPackageError{Index: i, Path: p, Message: d.Refusal(nil) + "; only opt-in catalogue packages can be approved"}
		default:
			return &ExtraPackageError{Index: i, Path: p, Message: fmt.Sprintf("%q is not a catalogue package; only opt-in catalogue packages can be approved", p)}
		}
	}
	return nil
}

// invalidReason says why a path can never name a catalogue package, or ""
// when it is well formed.
func invalidReason(path string) string {
	switch {
	case path == "":
		return "the path is empty"
	case strings.HasPrefix(path, "/"):
		return "absolute paths are not supported"
	case path == "." || path == ".." || strings.HasPrefix(path, "./") || strings.HasPrefix(path, "../"):
		return "relative imports are not supported"
	case slices.Contains(strings.Split(path, "/"), ".."), slices.Contains(strings.Split(path, "/"), "."):
		return `paths containing "." or ".." elements are not supported`
	case strings.HasSuffix(path, "/"), strings.Contains(path, "//"):
		return "the path has an empty element"
	}
	for _, r := range path {
		if r <= ' ' || r == '\\' || r == ':' || r >= 0x7f || strings.ContainsRune("!\"#$%&'()*,;<=>?[]^`{|}", r) {
			return "the path contains a character that is not allowed in import paths"
		}
	}
	return ""
}

// looksStandard reports whether the path has the shape of a standard-library
// path (no dot in its first element).
func looksStandard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}
