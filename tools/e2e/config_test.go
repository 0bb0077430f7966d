package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto/envcfg"
)

// OPS-11: for each service, an empty environment outside dev mode exits with
// status 2 and one line per missing variable, naming it.
func TestOPS11_EmptyEnvironmentExits2(t *testing.T) {
	t.Parallel()
	want := map[string][]string{
		"backend": {"MCPBOX_DATABASE_URL", "MCPBOX_ENCRYPTION_KEY", "MCPBOX_BACKEND_TOKEN", "MCPBOX_SANDBOX_TOKEN"},
		"gateway": {"MCPBOX_BACKEND_TOKEN", "MCPBOX_SANDBOX_TOKEN", "MCPBOX_GATEWAY_TOKEN"},
		"sandbox": {"MCPBOX_SANDBOX_TOKEN"},
		"edge":    {"MCPBOX_GATEWAY_TOKEN", "MCPBOX_EDGE_PUBLIC_URL", "MCPBOX_EDGE_ISSUER"},
	}
	for _, svc := range services() {
		t.Run(svc, func(t *testing.T) {
			t.Parallel()
			cmd := command(t, svc, nil)
			var stdout bytes.Buffer
			cmd.Stdout = &stdout
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Fatalf("exit: %v, want status 2", err)
			}
			var named []string
			sc := bufio.NewScanner(&stdout)
			for sc.Scan() {
				var line struct{ Level, Msg, Variable, Error string }
				if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
					t.Fatalf("not one JSON object per line: %q", sc.Text())
				}
				if line.Level != "ERROR" || line.Msg != "invalid configuration" || !strings.HasPrefix(line.Error, line.Variable+": required") {
					t.Errorf("line: %+v", line)
				}
				named = append(named, line.Variable)
			}
			if !slices.Equal(named, want[svc]) {
				t.Errorf("named %v, want %v", named, want[svc])
			}
		})
	}
}

// Every variable a service's config-doc lists is one envcfg knows, so the
// unknown-variable warning (OPS-13) never fires for a real setting.
func TestConfigDocNamesOnlyKnownVariables(t *testing.T) {
	t.Parallel()
	for _, svc := range services() {
		out, err := command(t, svc, nil, "config-doc").Output()
		if err != nil {
			t.Fatalf("%s config-doc: %v", svc, err)
		}
		var env []string
		for _, line := range strings.Split(string(out), "\n") {
			if name, ok := strings.CutPrefix(line, "| `"); ok {
				name, _, _ = strings.Cut(name, "`")
				env = append(env, name+"=x")
			}
		}
		if len(env) < 5 {
			t.Fatalf("%s config-doc lists %d variables", svc, len(env))
		}
		if unknown := envcfg.UnknownVariables(env); len(unknown) > 0 {
			t.Errorf("%s declares variables outside proto/envcfg.Known: %v", svc, unknown)
		}
	}
}
