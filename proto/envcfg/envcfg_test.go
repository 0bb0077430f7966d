package envcfg_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto/envcfg"
)

type testConfig struct {
	envcfg.Common
	Listen   string        `env:"MCPBOX_SANDBOX_LISTEN" default:":8001" rule:"listen"`
	Local    string        `env:"MCPBOX_GATEWAY_LOCAL_LISTEN" default:"127.0.0.1:8002" rule:"listen" off:"true"`
	Token    envcfg.Token  `env:"MCPBOX_SANDBOX_TOKEN" required:"true"`
	Previous envcfg.Token  `env:"MCPBOX_SANDBOX_TOKEN_PREVIOUS"`
	Other    envcfg.Token  `env:"MCPBOX_BACKEND_TOKEN"`
	Key      envcfg.Token  `env:"MCPBOX_ENCRYPTION_KEY" rule:"hex64"`
	DB       envcfg.DSN    `env:"MCPBOX_DATABASE_URL"`
	Code     envcfg.Secret `env:"MCPBOX_SETUP_CODE" min:"16"`
	Wait     int           `env:"MCPBOX_SANDBOX_QUEUE_WAIT_MS" default:"10000" min:"0" max:"600000"`
	Idle     time.Duration `env:"MCPBOX_SANDBOX_WORKER_MAX_IDLE" default:"5m"`
	Body     envcfg.Size   `env:"MCPBOX_EDGE_MAX_BODY" default:"1MiB"`
	Deny     []string      `env:"MCPBOX_SANDBOX_EGRESS_DENY"`
	Insecure bool          `env:"MCPBOX_SANDBOX_INSECURE_DEV" default:"false"`
	Origin   string        `env:"MCPBOX_SANDBOX_URL" rule:"url"`
}

const goodToken = "3f8a1c9e5b7d2046af13c8e9d0b5a7f21e4c6b8d0a2f4e6c8b1d3f5a7c9e0b2d"

func load(env map[string]string) (testConfig, *envcfg.Report) {
	var c testConfig
	rep := envcfg.Load(&c, func(k string) string { return env[k] }, map[string]string{"MCPBOX_SHUTDOWN_TIMEOUT": "30s"})
	return c, rep
}

func problems(t *testing.T, rep *envcfg.Report) []string {
	t.Helper()
	err := rep.Err()
	if err == nil {
		return nil
	}
	var cerr *envcfg.Error
	if !errors.As(err, &cerr) {
		t.Fatalf("Err() = %T, want *envcfg.Error", err)
	}
	return cerr.Problems
}

func TestLoadDefaultsAndTypes(t *testing.T) {
	t.Parallel()
	c, rep := load(map[string]string{
		"MCPBOX_SANDBOX_TOKEN": goodToken, "MCPBOX_SANDBOX_EGRESS_DENY": "10.0.0.0/8, , evil.example ",
		"MCPBOX_EDGE_MAX_BODY": "4MiB", "MCPBOX_SANDBOX_WORKER_MAX_IDLE": "90s",
	})
	if p := problems(t, rep); p != nil {
		t.Fatalf("problems: %v", p)
	}
	if c.Listen != ":8001" || c.ShutdownTimeout != 30*time.Second || c.Mode != "prod" || c.Wait != 10000 {
		t.Errorf("defaults not applied: %+v", c)
	}
	if c.Body != 4<<20 || c.Idle != 90*time.Second {
		t.Errorf("Body=%d Idle=%s", c.Body, c.Idle)
	}
	if len(c.Deny) != 2 || c.Deny[1] != "evil.example" {
		t.Errorf("Deny = %q", c.Deny)
	}
}

// OPS-11: an empty environment reports every missing variable, one line each.
func TestOPS11_EmptyEnvironmentNamesEachMissingVariable(t *testing.T) {
	t.Parallel()
	_, rep := load(map[string]string{})
	p := problems(t, rep)
	if len(p) != 1 || !strings.HasPrefix(p[0], "MCPBOX_SANDBOX_TOKEN: required") {
		t.Fatalf("problems = %q", p)
	}
}

// OPS-12: weak secrets are refused outside dev mode and only warned about in it.
func TestOPS12_WeakSecrets(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, variable, value, rule string
	}{
		{"31 bytes", "MCPBOX_SANDBOX_TOKEN", goodToken[:31], "at least 32 bytes"},
		{"one char", "MCPBOX_SANDBOX_TOKEN", strings.Repeat("a", 40), "pattern repeated every 1 character"},
		{"period 4", "MCPBOX_SANDBOX_TOKEN", strings.Repeat("abcd", 10), "pattern repeated every 4"},
		{"few distinct", "MCPBOX_SANDBOX_TOKEN", strings.Repeat("abcdefghijk", 4), "distinct characters"},
		{"placeholder", "MCPBOX_SANDBOX_TOKEN", "changeme-" + goodToken[:30], "placeholder"},
		{"bad key", "MCPBOX_ENCRYPTION_KEY", strings.Repeat("0", 64), "must not repeat one digit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"MCPBOX_SANDBOX_TOKEN": goodToken, tc.variable: tc.value}
			_, rep := load(env)
			p := problems(t, rep)
			if len(p) != 1 || !strings.HasPrefix(p[0], tc.variable+": ") || !strings.Contains(p[0], tc.rule) {
				t.Fatalf("prod problems = %q, want one naming %s and %q", p, tc.variable, tc.rule)
			}
			if strings.Contains(p[0], tc.value) {
				t.Errorf("problem echoes the secret value: %q", p[0])
			}
			env["MCPBOX_MODE"] = "dev"
			env["MCPBOX_SANDBOX_LISTEN"] = "127.0.0.1:8001"
			c, rep := load(env)
			if p := problems(t, rep); p != nil {
				t.Fatalf("dev mode refused a weak value: %q", p)
			}
			if len(c.Warnings) != 1 || !strings.HasPrefix(c.Warnings[0], tc.variable) {
				t.Errorf("dev warnings = %q", c.Warnings)
			}
		})
	}
	t.Run("equal tokens", func(t *testing.T) {
		t.Parallel()
		_, rep := load(map[string]string{"MCPBOX_SANDBOX_TOKEN": goodToken, "MCPBOX_BACKEND_TOKEN": goodToken})
		p := problems(t, rep)
		if len(p) != 1 || !strings.Contains(p[0], "must differ from MCPBOX_SANDBOX_TOKEN") {
			t.Fatalf("problems = %q", p)
		}
	})
	t.Run("not hex key", func(t *testing.T) {
		t.Parallel()
		env := map[string]string{"MCPBOX_SANDBOX_TOKEN": goodToken, "MCPBOX_ENCRYPTION_KEY": "zz" + goodToken[2:]}
		env["MCPBOX_MODE"] = "dev"
		env["MCPBOX_SANDBOX_LISTEN"] = "127.0.0.1:1"
		_, rep := load(env)
		if p := problems(t, rep); len(p) != 1 || !strings.Contains(p[0], "64 hex characters") {
			t.Fatalf("an unusable key must be refused even in dev mode: %q", p)
		}
	})
	t.Run("dev refuses non-loopback listeners", func(t *testing.T) {
		t.Parallel()
		_, rep := load(map[string]string{"MCPBOX_SANDBOX_TOKEN": goodToken, "MCPBOX_MODE": "dev"})
		p := problems(t, rep)
		if len(p) != 1 || !strings.HasPrefix(p[0], "MCPBOX_SANDBOX_LISTEN: dev mode listens on loopback only") {
			t.Fatalf("problems = %q", p)
		}
	})
	t.Run("missing stays an error in dev", func(t *testing.T) {
		t.Parallel()
		_, rep := load(map[string]string{"MCPBOX_MODE": "dev", "MCPBOX_SANDBOX_LISTEN": "127.0.0.1:1"})
		if p := problems(t, rep); len(p) != 1 || !strings.Contains(p[0], "required") {
			t.Fatalf("problems = %q", p)
		}
	})
}

func TestCheckStrengthAcceptsGeneratedTokens(t *testing.T) {
	t.Parallel()
	for _, v := range []string{goodToken, "Zx9_kLq2-Vb7Tn4Rw8Yh3Jd6Mf1Gc5Ps0AeXuWoIiNnSsBb"} {
		if err := envcfg.CheckStrength(v, envcfg.MinTokenBytes); err != nil {
			t.Errorf("CheckStrength(%q) = %v", v, err)
		}
	}
}

func TestEveryRuleNamesTheVariable(t *testing.T) {
	t.Parallel()
	_, rep := load(map[string]string{
		"MCPBOX_SANDBOX_TOKEN": goodToken, "MCPBOX_SANDBOX_QUEUE_WAIT_MS": "700000", "MCPBOX_SANDBOX_WORKER_MAX_IDLE": "5 minutes",
		"MCPBOX_EDGE_MAX_BODY": "lots", "MCPBOX_SANDBOX_INSECURE_DEV": "yes please", "MCPBOX_MODE": "production",
		"MCPBOX_SANDBOX_URL": "ftp://x", "MCPBOX_SANDBOX_LISTEN": "nohost", "MCPBOX_SETUP_CODE": "short",
		"MCPBOX_GATEWAY_LOCAL_LISTEN": "off",
	})
	p := problems(t, rep)
	want := []string{
		"MCPBOX_MODE: must be one of prod, dev", "MCPBOX_SANDBOX_LISTEN: must be a listen address",
		"MCPBOX_SETUP_CODE: must be at least 16 bytes", "MCPBOX_SANDBOX_QUEUE_WAIT_MS: must be at most 600000",
		"MCPBOX_SANDBOX_WORKER_MAX_IDLE: must be a duration", "MCPBOX_EDGE_MAX_BODY: must be a size",
		"MCPBOX_SANDBOX_INSECURE_DEV: must be true or false", "MCPBOX_SANDBOX_URL: must be an absolute http",
	}
	if len(p) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(p), len(want), strings.Join(p, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(p[i], want[i]) {
			t.Errorf("problem %d = %q, want prefix %q", i, p[i], want[i])
		}
	}
}

// OPS-13: X_FILE works, and X together with X_FILE is an error.
func TestOPS13_FileVariables(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	if err := os.WriteFile(path, []byte(goodToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, rep := load(map[string]string{"MCPBOX_SANDBOX_TOKEN_FILE": path})
	if p := problems(t, rep); p != nil {
		t.Fatal(p)
	}
	if string(c.Token) != goodToken {
		t.Errorf("token from file = %q", c.Token)
	}
	_, rep = load(map[string]string{"MCPBOX_SANDBOX_TOKEN_FILE": path, "MCPBOX_SANDBOX_TOKEN": goodToken})
	if p := problems(t, rep); len(p) != 1 || !strings.Contains(p[0], "not both") {
		t.Errorf("both set: %q", p)
	}
	_, rep = load(map[string]string{"MCPBOX_SANDBOX_TOKEN_FILE": filepath.Join(dir, "missing")})
	if p := problems(t, rep); len(p) != 1 || !strings.HasPrefix(p[0], "MCPBOX_SANDBOX_TOKEN_FILE: cannot read") {
		t.Errorf("unreadable: %q", p)
	}
}

// OPS-13: a typo gets a warning naming the right variable.
func TestOPS13_UnknownVariableSuggestsNearest(t *testing.T) {
	t.Parallel()
	got := envcfg.UnknownVariables([]string{
		"MCPBOX_GATWAY_TOKEN=x", "MCPBOX_SANDBOX_TOKEN_FILE=/x", "PATH=/bin", "MCPBOX_MODE=dev", "MCPBOX_EDGE_ISUER=y",
	})
	want := []envcfg.Unknown{{"MCPBOX_GATWAY_TOKEN", "MCPBOX_GATEWAY_TOKEN"}, {"MCPBOX_EDGE_ISUER", "MCPBOX_EDGE_ISSUER"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("UnknownVariables = %+v, want %+v", got, want)
	}
}

// OPS-14: the config line lists every variable and never a raw secret;
// tokens carry a fingerprint that is the same wherever the value is the same.
func TestOPS14_LogValueRedacts(t *testing.T) {
	t.Parallel()
	c, rep := load(map[string]string{
		"MCPBOX_SANDBOX_TOKEN": goodToken, "MCPBOX_DATABASE_URL": "postgres://app:hunter2hunter2@db:5432/mcpbox?sslmode=disable",
		"MCPBOX_SETUP_CODE": "abcdefghijklmnopqrstu",
	})
	if p := problems(t, rep); p != nil {
		t.Fatal(p)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", envcfg.LogValue(c))
	line := buf.String()
	for _, secret := range []string{goodToken, "hunter2hunter2", "abcdefghijklmnopqrstu"} {
		if strings.Contains(line, secret) {
			t.Errorf("config line leaks %q: %s", secret, line)
		}
	}
	for _, f := range envcfg.Fields(c) {
		if !strings.Contains(line, `"`+f.Name+`"`) {
			t.Errorf("config line misses %s", f.Name)
		}
	}
	fp := "[redacted sha256:" + envcfg.Token(goodToken).Fingerprint() + "]"
	if !strings.Contains(line, fp) || !strings.Contains(line, "postgres://app:xxxxx@db:5432/mcpbox") {
		t.Errorf("config line lacks the fingerprint %s or the redacted DSN: %s", fp, line)
	}
}

func TestDSNKeywordForm(t *testing.T) {
	t.Parallel()
	got := envcfg.DSN("host=db user=app password=s3cretvalue dbname=x").String()
	if strings.Contains(got, "s3cret") || !strings.Contains(got, "password=xxxxx") {
		t.Errorf("DSN = %q", got)
	}
}

func TestDocListsEveryVariable(t *testing.T) {
	t.Parallel()
	doc := envcfg.Doc(testConfig{}, map[string]string{"MCPBOX_SHUTDOWN_TIMEOUT": "30s"})
	for _, f := range envcfg.Fields(testConfig{}) {
		if !strings.Contains(doc, "`"+f.Name+"`") {
			t.Errorf("doc misses %s", f.Name)
		}
	}
	if !strings.Contains(doc, "| `MCPBOX_SHUTDOWN_TIMEOUT` | `30s` |") || !strings.Contains(doc, "| `MCPBOX_SANDBOX_TOKEN` | required |") {
		t.Errorf("doc:\n%s", doc)
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]envcfg.Size{"1MiB": 1 << 20, "512KiB": 512 << 10, "2GiB": 2 << 30, "100": 100, "7B": 7} {
		if got, err := envcfg.ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "MiB", "-1", "1.5MiB", "1TB"} {
		if _, err := envcfg.ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}
