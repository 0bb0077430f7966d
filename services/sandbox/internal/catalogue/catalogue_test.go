package catalogue_test

import (
	"errors"
	"path"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/catalogue"
)

// The tiers exactly as sandbox.md §6 lists them.
var (
	specDefault = []string{
		"fmt", "strings", "strconv", "bytes", "unicode", "unicode/utf8", "unicode/utf16", "regexp", "text/tabwriter", "html",
		"encoding/json", "encoding/base64", "encoding/base32", "encoding/hex", "encoding/csv", "encoding/binary",
		"time", "math", "math/big", "math/bits", "math/cmplx", "math/rand", "math/rand/v2",
		"net/url", "net/netip", "net/mail",
		"sort", "container/heap", "container/list", "container/ring", "slices", "maps", "cmp",
		"errors", "context", "sync", "io", "bufio", "path",
		"crypto/sha256", "crypto/sha1", "crypto/sha512", "crypto/md5", "crypto/hmac", "crypto/subtle", "crypto/rand",
		"hash", "hash/crc32", "hash/fnv",
		"net/http", "mcpbox",
	}
	specOptIn = []string{
		"encoding/xml", "encoding/pem", "encoding/asn1", "compress/gzip", "compress/zlib", "compress/flate",
		"archive/tar", "archive/zip", "crypto/aes", "crypto/cipher", "crypto/rsa", "crypto/ecdsa", "crypto/ed25519",
		"crypto/elliptic", "crypto/x509", "hash/crc64", "hash/adler32", "image", "image/color", "image/png",
		"image/jpeg", "image/gif", "mime", "mime/multipart", "mime/quotedprintable", "index/suffixarray",
		"text/scanner", "log", "sync/atomic",
	}
	specNever = []string{
		"os", "os/exec", "os/signal", "os/user", "syscall", "unsafe", "reflect", "runtime", "runtime/debug",
		"runtime/pprof", "plugin", "C", "net", "net/http/httptest", "net/http/pprof", "net/http/cookiejar",
		"net/rpc", "net/rpc/jsonrpc", "net/smtp", "net/textproto", "crypto/tls", "io/ioutil", "io/fs",
		"path/filepath", "embed", "log/syslog", "log/slog", "debug/elf", "debug/buildinfo", "go/ast", "go/parser",
		"testing", "testing/fstest", "expvar", "database/sql", "database/sql/driver", "text/template",
		"text/template/parse", "html/template", "iter", "github.com/traefik/yaegi",
		"github.com/traefik/yaegi/stdlib", "github.com/traefik/yaegi/interp", "github.com/traefik/yaegi/stdlib/unsafe",
	}
)

func pathsOf(tier proto.PackageTier) []string {
	var out []string
	for _, p := range catalogue.Packages() {
		if p.Tier == tier {
			out = append(out, p.Path)
		}
	}
	return out
}

// SB-77 (the /v1/packages half): every tier is listed with descriptions; no
// never-tier package is in the default or opt-in tier; nothing under
// github.com/traefik/yaegi is importable.
func TestSB77_PackagesListsEveryTier(t *testing.T) {
	t.Parallel()
	cat := catalogue.Catalogue(catalogue.Version())
	if cat.LanguageLevel != "go1.22" || cat.GoVersion != runtime.Version() || !strings.HasPrefix(cat.CatalogueVersion, "cat-") {
		t.Fatalf("header = %q %q %q", cat.CatalogueVersion, cat.GoVersion, cat.LanguageLevel)
	}
	tiers := map[proto.PackageTier]int{}
	seen := map[string]bool{}
	for _, p := range cat.Packages {
		tiers[p.Tier]++
		if seen[p.Path] {
			t.Errorf("%s listed twice", p.Path)
		}
		seen[p.Path] = true
		if p.Description == "" || strings.ContainsAny(p.Description, "\r\n") {
			t.Errorf("%s: description %q must be one non-empty line", p.Path, p.Description)
		}
		if (p.Filtered || p.Tier == proto.TierNever) && p.Note == "" {
			t.Errorf("%s: a filtered or never-tier package needs a note", p.Path)
		}
		if p.Tier != proto.TierNever && strings.HasPrefix(p.Path, "github.com/traefik/yaegi") {
			t.Errorf("%s: yaegi packages must never be importable", p.Path)
		}
	}
	for _, tier := range []proto.PackageTier{proto.TierDefault, proto.TierOptIn, proto.TierNever} {
		if tiers[tier] == 0 {
			t.Errorf("tier %s not listed", tier)
		}
	}
	if got := pathsOf(proto.TierDefault); !sameSet(got, specDefault) {
		t.Errorf("default tier = %v, want %v", got, specDefault)
	}
	if got := pathsOf(proto.TierOptIn); !sameSet(got, specOptIn) {
		t.Errorf("opt-in tier = %v, want %v", got, specOptIn)
	}
	// No never-tier package in the importable tiers: each importable path
	// decides as its own tier, and each never path decides as never.
	for _, p := range slices.Concat(specDefault, specOptIn) {
		if d := catalogue.Lookup(p); d.Kind != catalogue.KindDefault && d.Kind != catalogue.KindOptIn {
			t.Errorf("Lookup(%s) = %v, want an importable tier", p, d.Kind)
		}
	}
	for _, p := range specNever {
		d := catalogue.Lookup(p)
		if d.Kind != catalogue.KindNever || d.Tier != proto.TierNever || d.Allowed(specOptIn) {
			t.Errorf("Lookup(%s) = %+v, want never and not allowed", p, d)
		}
		if err := catalogue.ValidateExtra([]string{p}); err == nil {
			t.Errorf("ValidateExtra(%s) accepted a never-tier path", p)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestFilterPatternsAreValid(t *testing.T) {
	t.Parallel()
	for _, p := range catalogue.Packages() {
		if p.Filtered != (len(p.Include)+len(p.Exclude) > 0) {
			t.Errorf("%s: Filtered=%t but include=%v exclude=%v", p.Path, p.Filtered, p.Include, p.Exclude)
		}
		for _, pat := range slices.Concat(p.Include, p.Exclude) {
			if _, err := path.Match(pat, "X"); err != nil {
				t.Errorf("%s: bad pattern %q: %v", p.Path, pat, err)
			}
		}
	}
}

func TestHostSymbols(t *testing.T) {
	t.Parallel()
	syms := catalogue.HostSymbols()
	if !slices.IsSorted(syms) || !slices.Contains(syms, "Secret") || !slices.Contains(syms, "LookupSecret") || !slices.Contains(syms, "HTTP") {
		t.Fatalf("HostSymbols = %v", syms)
	}
}

func TestVersionIsStable(t *testing.T) {
	t.Parallel()
	if a, b := catalogue.Version(), catalogue.Version(); a != b {
		t.Fatalf("Version not stable: %s vs %s", a, b)
	}
	// Packages returns copies: mutating one leaves the catalogue intact.
	pkgs := catalogue.Packages()
	pkgs[0].Path = "changed"
	if catalogue.Packages()[0].Path == "changed" {
		t.Fatal("Packages shares its backing array")
	}
}

func TestRefusalMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path  string
		extra []string
		kind  catalogue.Kind
		want  string // "" = allowed
	}{
		{"strings", nil, catalogue.KindDefault, ""},
		{"mcpbox", nil, catalogue.KindDefault, ""},
		{"net/http", nil, catalogue.KindDefault, ""},
		{"encoding/xml", []string{"encoding/xml"}, catalogue.KindOptIn, ""},
		{"encoding/xml", nil, catalogue.KindOptIn, "ask for it with mcpbox_request_package"},
		{"os", nil, catalogue.KindNever, "not available in MCPbox tools: no files"},
		{"os/exec", nil, catalogue.KindNever, "not available in MCPbox tools:"},
		{"net/http/httptest", nil, catalogue.KindNever, "no direct network access"},
		{"github.com/traefik/yaegi/stdlib", nil, catalogue.KindNever, "isolation"},
		{"github.com/acme/lib", nil, catalogue.KindUnknown, "third-party modules are not supported; see the package catalogue"},
		{"encoding/gob", nil, catalogue.KindUnknown, "not in the MCPbox package catalogue"},
		{"../../tmp/x", nil, catalogue.KindInvalid, "relative imports are not supported"},
		{"./x", nil, catalogue.KindInvalid, "relative imports are not supported"},
		{"/etc", nil, catalogue.KindInvalid, "absolute paths are not supported"},
		{"a/../b", nil, catalogue.KindInvalid, `".." elements`},
		{"", nil, catalogue.KindInvalid, "empty"},
		{`a\b`, nil, catalogue.KindInvalid, "character"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			d := catalogue.Lookup(tt.path)
			if d.Kind != tt.kind {
				t.Fatalf("kind = %v, want %v", d.Kind, tt.kind)
			}
			msg := d.Refusal(tt.extra)
			if tt.want == "" {
				if msg != "" || !d.Allowed(tt.extra) {
					t.Fatalf("refused: %q", msg)
				}
				return
			}
			if !strings.Contains(msg, tt.want) || d.Allowed(tt.extra) {
				t.Fatalf("refusal = %q, want it to contain %q", msg, tt.want)
			}
		})
	}
}

func TestValidateExtra(t *testing.T) {
	t.Parallel()
	if err := catalogue.ValidateExtra([]string{"encoding/xml", "strings", "log"}); err != nil {
		t.Fatalf("opt-in and default paths refused: %v", err)
	}
	for _, bad := range []string{"os", "github.com/acme/lib", "../x", "encoding/gob"} {
		err := catalogue.ValidateExtra([]string{"log", bad})
		var e *catalogue.ExtraPackageError
		if !errors.As(err, &e) || e.Index != 1 || e.Field() != "extra_packages[1]" || e.Path != bad {
			t.Errorf("ValidateExtra(%q) = %v", bad, err)
		}
	}
}
