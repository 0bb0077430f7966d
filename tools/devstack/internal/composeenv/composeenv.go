// Package composeenv writes deploy/compose/.env, the secrets file of the homelab compose project
// (operations.md §5.1): created once with mode 0600; a later run only appends keys it lacks, so
// existing secrets never change under a running deployment.
package composeenv

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/mcpbox/mcpbox/tools/devstack/internal/devenv"
)

// Version and PostgresPassword are the keys compose needs besides the services' secrets.
const (
	Version          = "MCPBOX_VERSION"
	PostgresPassword = "MCPBOX_POSTGRES_PASSWORD"
)

const header = `# MCPbox compose secrets, written by ` + "`go run ./tools/devstack compose-env`" + `.
# Keep this file private (mode 0600, git-ignored). To rotate a value, see spec/operations.md §6.5.
`

// Write makes path hold the compose secrets; version tags the images (mcpbox/<service>:<version>).
// It returns the keys it wrote; none when the file was complete.
func Write(path, version string) ([]string, error) {
	secrets, err := devenv.Secrets()
	if err != nil {
		return nil, err
	}
	pw, err := devenv.Token()
	if err != nil {
		return nil, err
	}
	entries := []devenv.Entry{{Key: Version, Value: version}}
	for _, e := range secrets {
		if e.Key == devenv.SetupCode { // compose derives it from the encryption key (backend.md §7.1)
			continue
		}
		entries = append(entries, e)
	}
	entries = append(entries, devenv.Entry{Key: PostgresPassword, Value: pw})
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("compose env: %w", err)
	}
	added, err := devenv.Ensure(path, header, entries)
	if err != nil {
		return nil, fmt.Errorf("compose env: %w", err)
	}
	return added, nil
}
