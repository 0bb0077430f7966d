package repocheck

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto/envcfg"
)

// secretVariables returns the MCPBOX_* variables whose values are secrets
// (operations.md §2: the service tokens and their _PREVIOUS values, the
// encryption key and old keys, the setup code), derived from envcfg.Known so
// that a new token is scanned without editing this list.
// MCPBOX_DATABASE_URL is a secret only in its password part and has a rule of
// its own; MCPBOX_ENCRYPTION_KEY_ID and the _FILE variants are not secrets.
func secretVariables() []string {
	var out []string
	for _, k := range envcfg.Known() {
		for _, suffix := range []string{"_TOKEN", "_TOKEN_PREVIOUS", "_ENCRYPTION_KEY", "_OLD_KEYS", "_SETUP_CODE", "_PASSWORD", "_SECRET"} {
			if strings.HasSuffix(k, suffix) {
				out = append(out, k)
				break
			}
		}
	}
	return out
}

// Patterns of the secrets scan.
var (
	pemBegin = regexp.MustCompile(`-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----`)
	pemBody  = regexp.MustCompile(`^[A-Za-z0-9+/=]{16,}$`)
	// dbPassword finds a password in a PostgreSQL URL or keyword DSN.
	dbPassword = regexp.MustCompile(`postgres(?:ql)?://[^:/@\s"'` + "`" + `]*:([^@\s"'` + "`" + `]+)@|\bpassword=([^\s"'` + "`" + `&]+)`)
	// placeholder is a value that stands for a secret without being one:
	// an interpolation, a <placeholder>, an upper-case word, xxxx or ****.
	placeholder = regexp.MustCompile(`^(?:\$.*|<.*|\{\{.*|[A-Z][A-Z0-9_]*|x+|X+|\*+|\.\.\.|…|\[redacted.*)$`)
)

// assignment matches NAME=value (shell, env files, Dockerfiles, docs),
// NAME: value as a YAML key, and "NAME": "value" (JSON, Go maps) for the
// given secret variable names; group 1 is the name, group 2 the raw value.
func assignment(names []string) *regexp.Regexp {
	alt := strings.Join(names, "|")
	return regexp.MustCompile(`(?m)(?:^|[\s'"(,;])(` + alt + `)(?:=|"\s*:\s*"|'\s*:\s*')([^\s"'` + "`" + `,;)}]*)` +
		`|^\s*(?:-\s+)?(` + alt + `):[ \t]+([^\s#"'` + "`" + `]+)`)
}

// finding is one secret the scan found.
type finding struct {
	file string
	line int
	rule string
}

func (f finding) String() string { return fmt.Sprintf("%s:%d: %s", f.file, f.line, f.rule) }

// scanSecrets scans the files (paths relative to root) for PEM private keys
// with a key body, literal values of secret MCPBOX_* variables and
// passwords in MCPBOX_DATABASE_URL (operations.md §7). Exempt:
//   - files under a testdata/ directory that carry the marker "fixture";
//   - Go test files (_test.go) for the literal-value and database-URL rules:
//     the configuration tests of §2.1 (OPS-11 … OPS-14) must build
//     configurations from literal tokens, weak and strong, and URLs with
//     passwords, to prove redaction. PEM keys are never exempt there.
func scanSecrets(t *testing.T, root string, files []string) []finding {
	t.Helper()
	assign := assignment(secretVariables())
	var out []finding
	for _, rel := range files {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			if os.IsNotExist(err) {
				continue // deleted in the work tree, not yet in the index
			}
			t.Fatal(err)
		}
		if bytes.IndexByte(b, 0) >= 0 {
			continue // binary
		}
		slashed := "/" + filepath.ToSlash(rel)
		if strings.Contains(slashed, "/testdata/") && bytes.Contains(b, []byte("fixture")) {
			continue
		}
		text := string(b)
		out = append(out, pemKeys(rel, text)...)
		if strings.HasSuffix(rel, "_test.go") {
			continue
		}
		for i, line := range strings.Split(text, "\n") {
			for _, m := range assign.FindAllStringSubmatch(line, -1) {
				name, value := m[1]+m[3], m[2]+m[4]
				if value != "" && !placeholder.MatchString(value) {
					out = append(out, finding{rel, i + 1, "literal value of secret " + name + "; use an interpolation, a _FILE, or a testdata fixture"})
				}
			}
			if !strings.Contains(line, "MCPBOX_DATABASE_URL") {
				continue
			}
			for _, m := range dbPassword.FindAllStringSubmatch(line, -1) {
				if pw := m[1] + m[2]; !placeholder.MatchString(pw) {
					out = append(out, finding{rel, i + 1, "MCPBOX_DATABASE_URL with a literal password"})
				}
			}
		}
	}
	return out
}

// pemKeys finds PEM private keys with a body: a BEGIN line followed, after
// optional headers (Proc-Type: …), by lines of base64 only, at least 64
// characters in all. A bare marker, as tests of PEM parsing use, is not a
// key; neither is code that happens to follow a marker in a string.
func pemKeys(rel, text string) []finding {
	var out []finding
	for _, loc := range pemBegin.FindAllStringIndex(text, -1) {
		body := text[loc[1]:min(len(text), loc[1]+8192)]
		body = strings.ReplaceAll(body, `\n`, "\n") // a key inside a Go or JSON string
		n := 0
		for line := range strings.SplitSeq(body, "\n") {
			line = strings.TrimSpace(line)
			if n == 0 && (line == "" || strings.Contains(line, ": ")) {
				continue // the rest of the BEGIN line, a header, the blank line after headers
			}
			if !pemBody.MatchString(line) {
				break
			}
			n += len(line)
		}
		if n >= 64 {
			out = append(out, finding{rel, strings.Count(text[:loc[0]], "\n") + 1, "PEM private key (" + strings.Trim(text[loc[0]:loc[1]], "-") + ")"})
		}
	}
	return out
}

// trackedFiles lists the files git tracks under root, plus untracked files
// that are not ignored, so that a secret is found before it is committed.
func trackedFiles(t *testing.T, root string) []string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files in %s: %v", root, err)
	}
	var files []string
	for f := range strings.SplitSeq(string(out), "\x00") {
		if f != "" && !slices.Contains(files, f) {
			files = append(files, f)
		}
	}
	return files
}

// TestOPS42_SecretsScanRepositoryClean: no tracked file holds a PEM private
// key, a literal secret MCPBOX_* value or a database URL password (OPS-42).
func TestOPS42_SecretsScanRepositoryClean(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	files := trackedFiles(t, root)
	if len(files) < 100 {
		t.Fatalf("git ls-files found %d files; is %s a git work tree?", len(files), root)
	}
	for _, f := range scanSecrets(t, root, files) {
		t.Error(f)
	}
}

// TestOPS42_SecretsScanFindsPlantedSecrets plants a PEM key, literal tokens
// in several syntaxes and a database password in a temporary git tree: each
// is found and named by file, line and rule, while interpolations,
// placeholders, the empty values of .env.example, a bare PEM marker, Go test
// files and a marked testdata fixture pass.
func TestOPS42_SecretsScanFindsPlantedSecrets(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	// The markers are split so that this file holds no key itself.
	begin, end := "-----BEGIN ", " KEY-----"
	key := begin + "RSA PRIVATE" + end + "\n" + strings.Repeat("MIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n", 3) + "-----END RSA PRIVATE" + end + "\n"
	token := "9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c"
	plant := map[string]string{
		"deploy/key.pem": key,
		"deploy/legacy.key": begin + "RSA PRIVATE" + end + "\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,3F17F5316E2BAC89\n\n" +
			strings.Repeat("hhAmRNQZt6EBBmBrhIBJ5WHDbeINjT9Y2yPdCDaWGCh8Nx2ER1CTTpHHYOvvAM3L\n", 2) + "-----END RSA PRIVATE" + end + "\n",
		"deploy/prod.env":                   "MCPBOX_MODE=prod\nMCPBOX_BACKEND_TOKEN=" + token + "\n",
		"deploy/values.yaml":                "env:\n  - MCPBOX_GATEWAY_TOKEN_PREVIOUS: " + token + "\n",
		"services/x/config.go":              "package x\n\nvar env = map[string]string{\"MCPBOX_SETUP_CODE\": \"q7Wm2Xk9Lp4Rt8Zv\"}\n",
		"docs/db.md":                        "run with MCPBOX_DATABASE_URL=postgres://mcpbox:s3cr3t-pw@db:5432/mcpbox\n",
		"docs/go.md":                        "x := \"" + begin + "PRIVATE" + end + "\\n" + strings.Repeat("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7", 2) + "\\n-----END PRIVATE" + end + "\"\n",
		"tools/x/unmarked/testdata/cfg.env": "MCPBOX_SANDBOX_TOKEN=" + token + "\n",
		// Not secrets:
		"deploy/compose.yaml":             "environment:\n  MCPBOX_BACKEND_TOKEN: ${MCPBOX_BACKEND_TOKEN:?required}\n  MCPBOX_DATABASE_URL: postgres://mcpbox:${MCPBOX_POSTGRES_PASSWORD}@db/mcpbox\n",
		".env.example":                    "MCPBOX_BACKEND_TOKEN=\nMCPBOX_ENCRYPTION_KEY_ID=1\nMCPBOX_ENCRYPTION_KEY_FILE=/run/secrets/key\n",
		"README.md":                       "set MCPBOX_DATABASE_URL=postgres://USER:PASSWORD@127.0.0.1:5432/mcpbox or MCPBOX_SETUP_CODE=<16 characters>\n",
		"services/x/errs.go":              "package x\n\nconst msg = \"MCPBOX_SANDBOX_TOKEN: must be set\"\nconst k = \"" + begin + "EC PRIVATE" + end + "\\nAAAA\\n-----END EC PRIVATE" + end + "\"\n",
		"services/x/x_test.go":            "package x\n\nvar env = map[string]string{\"MCPBOX_BACKEND_TOKEN\": \"" + token + "\"}\n",
		"deploy/k8s/testdata/bad/cm.yaml": "# Negative fixture: a token in a ConfigMap.\ndata:\n  MCPBOX_BACKEND_TOKEN: " + token + "\n",
	}
	var files []string
	for name, text := range plant {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, name)
	}
	slices.Sort(files)
	var got []string
	for _, f := range scanSecrets(t, root, files) {
		got = append(got, f.String())
	}
	want := []string{
		"deploy/key.pem:1: PEM private key (BEGIN RSA PRIVATE KEY)",
		"deploy/legacy.key:1: PEM private key (BEGIN RSA PRIVATE KEY)",
		"deploy/prod.env:2: literal value of secret MCPBOX_BACKEND_TOKEN; use an interpolation, a _FILE, or a testdata fixture",
		"deploy/values.yaml:2: literal value of secret MCPBOX_GATEWAY_TOKEN_PREVIOUS; use an interpolation, a _FILE, or a testdata fixture",
		"docs/db.md:1: MCPBOX_DATABASE_URL with a literal password",
		"docs/go.md:1: PEM private key (BEGIN PRIVATE KEY)",
		"services/x/config.go:3: literal value of secret MCPBOX_SETUP_CODE; use an interpolation, a _FILE, or a testdata fixture",
		"tools/x/unmarked/testdata/cfg.env:1: literal value of secret MCPBOX_SANDBOX_TOKEN; use an interpolation, a _FILE, or a testdata fixture",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestOPS42_SecretVariables: the scanned names are exactly the secrets of
// operations.md §2 (tokens, keys, setup code), derived from envcfg.Known.
func TestOPS42_SecretVariables(t *testing.T) {
	t.Parallel()
	want := []string{
		"MCPBOX_BACKEND_TOKEN", "MCPBOX_BACKEND_TOKEN_PREVIOUS", "MCPBOX_ENCRYPTION_KEY", "MCPBOX_ENCRYPTION_OLD_KEYS",
		"MCPBOX_GATEWAY_TOKEN", "MCPBOX_GATEWAY_TOKEN_PREVIOUS", "MCPBOX_SANDBOX_TOKEN", "MCPBOX_SANDBOX_TOKEN_PREVIOUS", "MCPBOX_SETUP_CODE",
	}
	if got := secretVariables(); !slices.Equal(got, want) {
		t.Errorf("secretVariables = %q, want %q", got, want)
	}
}
