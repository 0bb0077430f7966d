// Package devenv reads and writes KEY=value files: .data/dev.env, where make run keeps the secrets it
// generated (operations.md §1.3 step 3), and deploy/compose/.env.
//
// A file is written once with mode 0600; later runs only append the keys it lacks, so a value never
// changes under a running database, and a line the developer deletes is regenerated on the next run
// (operations.md §6.5). Every generated secret passes the strength check of operations.md §2.1.
package devenv

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/mcpbox/mcpbox/proto/envcfg"
)

// Names of the keys devstack writes.
const (
	BackendToken    = "MCPBOX_BACKEND_TOKEN"
	SandboxToken    = "MCPBOX_SANDBOX_TOKEN"
	GatewayToken    = "MCPBOX_GATEWAY_TOKEN"
	EncryptionKey   = "MCPBOX_ENCRYPTION_KEY"
	EncryptionKeyID = "MCPBOX_ENCRYPTION_KEY_ID"
	SetupCode       = "MCPBOX_SETUP_CODE"
	DevDB           = "MCPBOX_DEV_DB"
	DatabaseURL     = "MCPBOX_DATABASE_URL"
)

// Entry is one KEY=value line.
type Entry struct {
	Key, Value string
}

// Read parses path. A missing file is an empty map, not an error. Blank lines and # comments are
// skipped, an "export " prefix is allowed, and one pair of matching quotes around a value is removed.
func Read(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return Parse(raw), nil
}

// Parse reads KEY=value lines; a later duplicate wins, as in a shell.
func Parse(raw []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out[k] = v
	}
	return out
}

// Ensure makes path hold every entry. A missing file is created (0600) with header (comment lines,
// may be empty) and all entries; an existing one only gets the entries whose keys it lacks appended,
// and is left byte-identical when it lacks none. Its mode is tightened to 0600. Ensure returns the keys
// it wrote.
func Ensure(path, header string, entries []Entry) ([]string, error) {
	raw, err := os.ReadFile(path)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	have := Parse(raw)
	var buf bytes.Buffer
	if !exists {
		buf.WriteString(header)
	} else if len(raw) > 0 && raw[len(raw)-1] != '\n' {
		buf.WriteByte('\n')
	}
	var added []string
	for _, e := range entries {
		if _, ok := have[e.Key]; ok && exists {
			continue
		}
		fmt.Fprintf(&buf, "%s=%s\n", e.Key, e.Value)
		added = append(added, e.Key)
	}
	if !exists {
		if err := writeNew(path, buf.Bytes()); err != nil {
			return nil, err
		}
		return added, nil
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("chmod %s: %w", path, err)
	}
	if len(added) == 0 {
		return nil, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("append to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("append to %s: %w", path, err)
	}
	return added, nil
}

func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Secrets generates the secret entries of dev.env (operations.md §1.3 step 3): three service tokens,
// the encryption key with key id 1, and the setup code.
func Secrets() ([]Entry, error) {
	var out []Entry
	for _, name := range []string{BackendToken, SandboxToken, GatewayToken} {
		tok, err := Token()
		if err != nil {
			return nil, err
		}
		out = append(out, Entry{name, tok})
	}
	key, err := EncryptionKeyHex()
	if err != nil {
		return nil, err
	}
	code, err := NewSetupCode()
	if err != nil {
		return nil, err
	}
	return append(out, Entry{EncryptionKey, key}, Entry{EncryptionKeyID, "1"}, Entry{SetupCode, code}), nil
}

// Token returns 32 random bytes as hex that pass the strength check.
func Token() (string, error) {
	return generate(func() (string, error) { return randHex(32) }, func(s string) error {
		return envcfg.CheckStrength(s, envcfg.MinTokenBytes)
	})
}

// EncryptionKeyHex returns a random AES-256 key as 64 hex digits that pass the key rules.
func EncryptionKeyHex() (string, error) {
	return generate(func() (string, error) { return randHex(32) }, envcfg.CheckKeyHex)
}

// setupAlphabet is RFC 4648 base32: no 0/O or 1/I to confuse when typed.
const setupAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// NewSetupCode returns 16 random characters of the base32 alphabet that pass the strength check.
func NewSetupCode() (string, error) {
	return generate(func() (string, error) {
		b := make([]byte, MinSetupCodeChars)
		if _, err := rand.Read(b); err != nil {
			return "", fmt.Errorf("random: %w", err)
		}
		for i := range b {
			b[i] = setupAlphabet[b[i]&31] // 256 is a multiple of 32: no bias
		}
		return string(b), nil
	}, func(s string) error { return envcfg.CheckStrength(s, MinSetupCodeChars) })
}

// generate draws until check passes; a random value fails only by rare chance (a placeholder word or
// too few distinct characters), so a few draws always suffice.
func generate(draw func() (string, error), check func(string) error) (string, error) {
	var last error
	for range 100 {
		s, err := draw()
		if err != nil {
			return "", err
		}
		if last = check(s); last == nil {
			return s, nil
		}
	}
	return "", fmt.Errorf("generate secret: %w", last)
}

func randHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// MinSetupCodeChars is the minimum length of MCPBOX_SETUP_CODE (backend.md §3).
const MinSetupCodeChars = 16

// CheckDistinct reports the first of names whose value equals an earlier
// one's: every secret of a service must have its own value (operations.md §2.1).
func CheckDistinct(names []string, values map[string]string) error {
	seen := map[string]string{}
	for _, n := range names {
		v := values[n]
		if v == "" {
			continue
		}
		if other, ok := seen[v]; ok {
			return fmt.Errorf("%s: must differ from %s", n, other)
		}
		seen[v] = n
	}
	return nil
}
