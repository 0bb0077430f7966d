package proto

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalizeHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"api.example.com", "api.example.com"},
		{"API.Example.COM.", "api.example.com"}, // BE-49
		{"  api.example.com:443  ", "api.example.com:443"},
		{"api.example.com.:8443", "api.example.com:8443"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"XN--BCHER-KVA.example", "xn--bcher-kva.example"},
		{"bücher.example", "xn--bcher-kva.example"},
		{"BÜCHER.example:443", "xn--bcher-kva.example:443"},
		{"ＡＰＩ.example.com", "api.example.com"}, // fullwidth letters map to ASCII
		{"münchen.de", "xn--mnchen-3ya.de"},
		{"nas.local", "nas.local"},
		{"printer", "printer"},
		{"localhost:8080", "localhost:8080"},
		{"a-b.c-d.example", "a-b.c-d.example"},
		{"192.0.2.10", "192.0.2.10"},
		{"10.0.0.5:8443", "10.0.0.5:8443"},
		{"[2001:DB8::1]", "[2001:db8::1]"},
		{"[2001:db8:0:0:0:0:0:1]:443", "[2001:db8::1]:443"},
		{"2001:db8::1", "[2001:db8::1]"},
		{"::1", "[::1]"},
		{"[fd00::1]:8443", "[fd00::1]:8443"},
		{"[::ffff:192.0.2.1]", "[::ffff:192.0.2.1]"},
		{"host:1", "host:1"},
		{"host:65535", "host:65535"},
		{strings.Repeat("a", 63) + ".example", strings.Repeat("a", 63) + ".example"},
	}
	for _, tt := range tests {
		got, err := NormalizeHost(tt.in)
		if err != nil {
			t.Errorf("NormalizeHost(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("NormalizeHost(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizeHostRefuses(t *testing.T) {
	t.Parallel()
	long := strings.Repeat(strings.Repeat("a", 60)+".", 5) + "example" // 312 characters
	tests := []struct {
		in   string
		rule string // a word of the message
	}{
		{"", "empty"},
		{"   ", "empty"},
		{"https://api.example.com", "URL"}, // BE-49
		{"api.example.com/v1", "path"},
		{"api.example.com?q=1", "path"},
		{"api.example.com#x", "path"},
		{"user@api.example.com", "user"},
		{"user:pw@api.example.com", "user"},
		{"*.example.com", "wildcard"},
		{"api example.com", "spaces"},
		{"api.exa\tmple.com", "spaces"},
		{"api..example.com", "empty label"},
		{".example.com", "empty label"},
		{"example.com..", "empty label"},
		{strings.Repeat("a", 64) + ".example", "63"},
		{long, "253"},
		{"api_x.example.com", "valid host name"},
		{"-api.example.com", "valid host name"},
		{"api.example.com:0", "port"},
		{"api.example.com:65536", "port"},
		{"api.example.com:0443", "port"},
		{"api.example.com:+443", "port"},
		{"api.example.com:https", "port"},
		{"api.example.com:", "port"},
		{":443", "host"},
		{"[2001:db8::1", "closed"},
		{"[2001:db8::1]x", "port"},
		{"[2001:db8::1]:", "port"},
		{"[192.0.2.1]", "IPv6"},
		{"[fe80::1%25eth0]", "%"},
		{"fe80::1%eth0", "%"},
		{"2001:db8::1:443:x", "brackets"},
		{"127.1", "canonical"},
		{"0x7f000001", "canonical"},
		{"2130706433", "canonical"},
		{"0177.0.0.1", "canonical"},
		{"256.1.1.1", "canonical"},
		{"example.0x1", "canonical"},
		{"a%2eb", "%"},
		{"a\\b", "path"},
	}
	for _, tt := range tests {
		got, err := NormalizeHost(tt.in)
		if err == nil {
			t.Errorf("NormalizeHost(%q) = %q, want an error about %q", tt.in, got, tt.rule)
			continue
		}
		var re *RuleError
		if !errors.As(err, &re) || re.Field != "" || !strings.HasSuffix(re.Message, ".") {
			t.Errorf("NormalizeHost(%q) error %#v, want a *RuleError sentence without field", tt.in, err)
		}
		if !strings.Contains(err.Error(), tt.rule) {
			t.Errorf("NormalizeHost(%q) error %q does not mention %q", tt.in, err, tt.rule)
		}
	}
}

// FuzzNormalizeHost checks that the normaliser never panics, that its output
// is a fixed point, and that the output is lowercase printable ASCII of
// bounded length.
func FuzzNormalizeHost(f *testing.F) {
	for _, s := range []string{
		"api.example.com", "API.Example.COM.", "api.example.com:443", "bücher.example", "[2001:db8::1]:443",
		"2001:db8::1", "::ffff:1.2.3.4", "127.1", "0x7f000001", "https://x", "a..b", "*.x", "x:0443",
		"[fe80::1%eth0]", "ＡＰＩ.example。com", "xn--bcher-kva.example", "a\u200db.example", "1.2.3.4.",
		strings.Repeat("a.", 130),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizeHost(in)
		if err != nil {
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("NormalizeHost(%q) error %T, want *RuleError", in, err)
			}
			return
		}
		again, err := NormalizeHost(out)
		if err != nil || again != out {
			t.Fatalf("NormalizeHost(%q) = %q, but NormalizeHost(%q) = %q, %v", in, out, out, again, err)
		}
		if len(out) > MaxHostNameLen+len(":65535") {
			t.Fatalf("NormalizeHost(%q) = %q: too long", in, out)
		}
		for i := range len(out) {
			c := out[i]
			if c <= ' ' || c >= 0x7f || (c >= 'A' && c <= 'Z') {
				t.Fatalf("NormalizeHost(%q) = %q: byte %#x", in, out, c)
			}
		}
	})
}

func TestManifestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   Manifest
		want Manifest
	}{
		{
			name: "nil lists become empty",
			in:   Manifest{TimeoutMS: 30000, MemoryMB: 128},
			want: Manifest{Hosts: []string{}, Packages: []string{}, Secrets: []string{}, TimeoutMS: 30000, MemoryMB: 128},
		},
		{
			name: "host:port dropped when the bare host is present, sorted, deduplicated",
			in: Manifest{
				Hosts:    []string{"b.example:443", "A.example:443", "b.example", "a.example:8443", "B.EXAMPLE.", "[::1]:80", "::1", "[::2]:80"},
				Packages: []string{"math/big", "encoding/xml", "math/big"},
				Secrets:  []string{"TOKEN", "API_KEY", "TOKEN"},
			},
			want: Manifest{
				Hosts:    []string{"[::1]", "[::2]:80", "a.example:443", "a.example:8443", "b.example"},
				Packages: []string{"encoding/xml", "math/big"},
				Secrets:  []string{"API_KEY", "TOKEN"},
			},
		},
		{
			name: "ports do not cover each other",
			in:   Manifest{Hosts: []string{"x.example:443", "x.example:80", "x.example:443"}},
			want: Manifest{Hosts: []string{"x.example:443", "x.example:80"}, Packages: []string{}, Secrets: []string{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.in.Normalize()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Normalize mismatch (-want +got):\n%s", diff)
			}
			again, err := got.Normalize()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("Normalize is not idempotent (-first +second):\n%s", diff)
			}
		})
	}
}

func TestManifestNormalizeDoesNotAlias(t *testing.T) {
	t.Parallel()
	in := Manifest{Hosts: []string{"b.example", "a.example"}, Secrets: []string{"B", "A"}}
	if _, err := in.Normalize(); err != nil {
		t.Fatal(err)
	}
	if in.Hosts[0] != "b.example" || in.Secrets[0] != "B" {
		t.Errorf("Normalize changed its receiver's lists: %v %v", in.Hosts, in.Secrets)
	}
}

func TestManifestNormalizeErrors(t *testing.T) {
	t.Parallel()
	_, err := Manifest{Hosts: []string{"ok.example", "https://x.example", "*.y"}}.Normalize()
	got := FieldErrors(err)
	if len(got) != 2 || got[0].Field != "hosts[1]" || got[1].Field != "hosts[2]" {
		t.Errorf("Normalize errors = %+v, want hosts[1] and hosts[2]", got)
	}
}

func TestManifestValidate(t *testing.T) {
	t.Parallel()
	good := Manifest{
		Hosts: []string{"api.example.com:443"}, Packages: []string{"encoding/xml", "math/rand/v2"},
		Secrets: []string{"API_KEY"}, TimeoutMS: DefaultTimeoutMS, MemoryMB: DefaultMemoryMB,
	}
	many := make([]string, MaxManifestEntries+1)
	for i := range many {
		many[i] = "H" + strings.Repeat("X", i)
	}
	tests := []struct {
		name   string
		kind   ToolKind
		change func(*Manifest)
		fields []string
	}{
		{"valid go", ToolKindGo, func(*Manifest) {}, nil},
		{"valid bounds", ToolKindGo, func(m *Manifest) { m.TimeoutMS, m.MemoryMB = MinTimeoutMS, MaxMemoryMB }, nil},
		{"valid external", ToolKindExternal, func(m *Manifest) { m.Packages, m.MemoryMB = nil, 0 }, nil},
		{"timeout low", ToolKindGo, func(m *Manifest) { m.TimeoutMS = 999 }, []string{"timeout_ms"}},
		{"timeout high", ToolKindGo, func(m *Manifest) { m.TimeoutMS = 300001 }, []string{"timeout_ms"}},
		{"memory low", ToolKindGo, func(m *Manifest) { m.MemoryMB = 31 }, []string{"memory_mb"}},
		{"memory high", ToolKindGo, func(m *Manifest) { m.MemoryMB = 1025 }, []string{"memory_mb"}},
		{"bad host", ToolKindGo, func(m *Manifest) { m.Hosts = []string{"ok.example", "a/b"} }, []string{"hosts[1]"}},
		{
			"bad package", ToolKindGo, func(m *Manifest) { m.Packages = []string{"Encoding/xml", "encoding/xml/", "github.com/x"} },
			[]string{"packages[0]", "packages[1]", "packages[2]"},
		},
		{"long package", ToolKindGo, func(m *Manifest) { m.Packages = []string{strings.Repeat("a", 129)} }, []string{"packages[0]"}},
		{"bad secret", ToolKindGo, func(m *Manifest) { m.Secrets = []string{"API_KEY", "lower"} }, []string{"secrets[1]"}},
		{"too many secrets", ToolKindGo, func(m *Manifest) { m.Secrets = many }, []string{"secrets"}},
		{"external memory", ToolKindExternal, func(m *Manifest) { m.Packages = nil }, []string{"memory_mb"}},
		{"external packages", ToolKindExternal, func(m *Manifest) { m.MemoryMB = 0 }, []string{"packages"}},
		{"external secrets", ToolKindExternal, func(m *Manifest) {
			m.Packages, m.MemoryMB, m.Secrets = nil, 0, []string{"A", "B"}
		}, []string{"secrets"}},
		{"unknown kind", ToolKind("python"), func(*Manifest) {}, []string{"kind"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := good
			m.Hosts, m.Packages, m.Secrets = append([]string(nil), good.Hosts...), append([]string(nil), good.Packages...), append([]string(nil), good.Secrets...)
			tt.change(&m)
			var fields []string
			for _, fe := range FieldErrors(m.Validate(tt.kind)) {
				fields = append(fields, fe.Field)
			}
			if diff := cmp.Diff(tt.fields, fields); diff != "" {
				t.Errorf("Validate fields mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
