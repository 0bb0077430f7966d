// Package config is the backend's configuration (spec/backend.md §3,
// operations.md §2.3), loaded once from MCPBOX_* variables.
package config

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mcpbox/mcpbox/proto/envcfg"
)

// Store is what `backend migrate` needs and nothing more: the Kubernetes
// migrate Job gets only these variables (backend.md §3).
type Store struct {
	DatabaseURL   envcfg.DSN   `env:"MCPBOX_DATABASE_URL" required:"true" help:"PostgreSQL URL (pgx syntax)"`
	EncryptionKey envcfg.Token `env:"MCPBOX_ENCRYPTION_KEY" required:"true" rule:"hex64" help:"64 hex characters, the AES-256 key for new ciphertexts"`
	KeyID         int          `env:"MCPBOX_ENCRYPTION_KEY_ID" default:"1" min:"1" max:"255" help:"id of the current key, stored with each ciphertext"`
	OldKeys       envcfg.Token `env:"MCPBOX_ENCRYPTION_OLD_KEYS" rule:"keylist" help:"id:hex64,… keys used only to decrypt during a rotation"`
	DBMaxConns    int          `env:"MCPBOX_DB_MAX_CONNS" default:"20" min:"2" max:"1000" help:"pool size per replica"`
}

// MigrateConfig is the configuration of `backend migrate`.
type MigrateConfig struct {
	envcfg.Common
	Store
}

// Config is the backend's effective configuration.
type Config struct {
	envcfg.Common
	Store

	Listen          string        `env:"MCPBOX_BACKEND_LISTEN" default:":8000" rule:"listen" help:"main listener: UI, /api/v1, health"`
	InternalListen  string        `env:"MCPBOX_BACKEND_INTERNAL_LISTEN" default:":8004" rule:"listen" help:"internal listener: /internal/v1 (gateway), /metrics, health"`
	Token           envcfg.Token  `env:"MCPBOX_BACKEND_TOKEN" required:"true" help:"accepted on /internal/v1"`
	TokenPrevious   envcfg.Token  `env:"MCPBOX_BACKEND_TOKEN_PREVIOUS" help:"also accepted during a token rotation"`
	SandboxURL      string        `env:"MCPBOX_SANDBOX_URL" default:"http://127.0.0.1:8001" rule:"url" help:"sandbox base URL"`
	SandboxToken    envcfg.Token  `env:"MCPBOX_SANDBOX_TOKEN" required:"true" help:"sent to the sandbox"`
	PublicOrigin    string        `env:"MCPBOX_PUBLIC_ORIGIN" help:"admin UI origin for Origin checks and OAuth redirect URIs (empty: the request's own)"`
	TrustedProxies  []string      `env:"MCPBOX_TRUSTED_PROXIES" help:"CIDRs whose X-Forwarded-For and X-Forwarded-Proto are trusted"`
	SetupCode       envcfg.Secret `env:"MCPBOX_SETUP_CODE" min:"16" help:"first-run setup code (default: derived from the encryption key)"`
	CookieSecure    string        `env:"MCPBOX_COOKIE_SECURE" default:"auto" enum:"auto,true" help:"session cookie Secure flag: auto (over HTTPS) or always"`
	SessionIdle     time.Duration `env:"MCPBOX_SESSION_IDLE" default:"30m" help:"idle timeout of an admin session"`
	SessionMax      time.Duration `env:"MCPBOX_SESSION_MAX" default:"168h" help:"absolute lifetime of an admin session"`
	LocalMCPURL     string        `env:"MCPBOX_LOCAL_MCP_URL" default:"http://127.0.0.1:8002/mcp" rule:"url" help:"local MCP URL the UI shows"`
	HashConcurrency int           `env:"MCPBOX_HASH_CONCURRENCY" default:"2" min:"1" max:"64" help:"concurrent Argon2id hashes"`
	TestRunConc     int           `env:"MCPBOX_TEST_RUN_CONCURRENCY" default:"4" min:"1" max:"256" help:"concurrent sandbox test runs per process"`
	MigrateOnStart  bool          `env:"MCPBOX_MIGRATE_ON_START" default:"true" help:"apply pending migrations at start (k8s: false; the Job migrates)"`
}

func defaults() map[string]string { return map[string]string{"MCPBOX_SHUTDOWN_TIMEOUT": "20s"} }

// Load reads and validates the configuration, reporting every problem.
func Load(getenv func(string) string) (Config, error) {
	var c Config
	rep := envcfg.Load(&c, getenv, defaults())
	checkStore(rep, c.Store)
	if c.Listen == c.InternalListen && !strings.HasSuffix(c.Listen, ":0") {
		rep.Problemf("MCPBOX_BACKEND_INTERNAL_LISTEN", "must differ from MCPBOX_BACKEND_LISTEN")
	}
	if c.PublicOrigin != "" {
		if err := envcfg.CheckURL(c.PublicOrigin); err != nil {
			rep.Problemf("MCPBOX_PUBLIC_ORIGIN", "%v", err)
		}
	}
	if c.SessionIdle <= 0 || c.SessionMax < c.SessionIdle {
		rep.Problemf("MCPBOX_SESSION_MAX", "must be at least MCPBOX_SESSION_IDLE, and both positive")
	}
	c.Warnings = rep.Warnings()
	return c, rep.Err()
}

// LoadMigrate reads only the variables `backend migrate` needs.
func LoadMigrate(getenv func(string) string) (MigrateConfig, error) {
	var c MigrateConfig
	rep := envcfg.Load(&c, getenv, defaults())
	checkStore(rep, c.Store)
	c.Warnings = rep.Warnings()
	return c, rep.Err()
}

// checkStore validates MCPBOX_ENCRYPTION_OLD_KEYS: id:hex64 pairs, ids 1–255
// distinct from the current id.
func checkStore(rep *envcfg.Report, s Store) {
	if s.OldKeys == "" {
		return
	}
	seen := map[int]bool{s.KeyID: true}
	for _, pair := range strings.Split(string(s.OldKeys), ",") {
		idText, hexKey, ok := strings.Cut(strings.TrimSpace(pair), ":")
		id, err := strconv.Atoi(idText)
		switch {
		case !ok || err != nil || id < 1 || id > 255:
			rep.Problemf("MCPBOX_ENCRYPTION_OLD_KEYS", "each entry must be id:hex64 with id 1–255 (entry %s)", entryLabel(idText))
			continue
		case seen[id]:
			rep.Problemf("MCPBOX_ENCRYPTION_OLD_KEYS", "key id %d appears twice (or equals MCPBOX_ENCRYPTION_KEY_ID)", id)
		}
		seen[id] = true
		if err := envcfg.CheckKeyHex(hexKey); err != nil {
			rep.Problemf("MCPBOX_ENCRYPTION_OLD_KEYS", "key id %d: %v", id, err)
		}
	}
}

// entryLabel names an entry without echoing key material.
func entryLabel(idText string) string {
	if _, err := strconv.Atoi(idText); err == nil {
		return "with id " + idText
	}
	return fmt.Sprintf("of %d characters", len(idText))
}

// ListenAddr returns the main listen address for the healthcheck.
func ListenAddr(getenv func(string) string) string {
	return cmp.Or(getenv("MCPBOX_BACKEND_LISTEN"), ":8000")
}

// Doc is the configuration table of the README.
func Doc() string { return envcfg.Doc(Config{}, defaults()) }

// WriteTimeout bounds a response of the main listener: the long class of
// backend.md §3 (routes that wait on the sandbox) is 330 s; shorter routes
// set their own deadlines when they get them.
const WriteTimeout = 330 * time.Second
