package e2e

import (
	"debug/elf"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mcpbox/mcpbox/db/dbtest"
)

// healthListen is, per service, the variable its healthcheck reads and the
// e2e stack's address for it (dev port + 10000). The backend, sandbox and
// edge use the ":port" form of their compose defaults, which the
// healthcheck probes on 127.0.0.1; the gateway its local listener, as
// compose sets it (an explicit address).
func healthListen() map[string][2]string {
	return map[string][2]string{
		"backend": {"MCPBOX_BACKEND_LISTEN", ":18000"},
		"sandbox": {"MCPBOX_SANDBOX_LISTEN", ":18001"},
		"gateway": {"MCPBOX_GATEWAY_LOCAL_LISTEN", "127.0.0.1:18002"},
		"edge":    {"MCPBOX_EDGE_ADMIN_LISTEN", ":19080"},
	}
}

// healthcheck runs `bin/<service> healthcheck` with listen as the address
// its healthcheck reads, and returns the exit code and output.
func healthcheck(t *testing.T, service, listen string) (int, string) {
	t.Helper()
	cmd := command(t, service, map[string]string{healthListen()[service][0]: listen}, "healthcheck")
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("%s healthcheck did not run: %v", service, err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// OPS-34 "Binaries are static" (§5.3): every binary the images ship (the
// four services and the sandbox's worker) has no PT_INTERP program header,
// so it runs on FROM scratch with no dynamic loader.
func TestOPS34_ServiceBinariesAreStatic(t *testing.T) {
	t.Parallel()
	for _, name := range append(services(), "sandbox-worker") {
		f, err := elf.Open(filepath.Join(binDir(t), name))
		if err != nil {
			t.Errorf("bin/%s: not an ELF file: %v", name, err)
			continue
		}
		if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
			t.Errorf("bin/%s: ELF type %v, want an executable", name, f.Type)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("bin/%s: has a PT_INTERP header, so it is dynamically linked; build with CGO_ENABLED=0", name)
			}
		}
		_ = f.Close()
	}
}

// OPS-34: `<service> healthcheck` exits 1 when /healthz answers anything
// but 200 (here 503 from a loopback server), for each of the four binaries.
func TestOPS34_HealthcheckFailsOnUnhealthyAnswer(t *testing.T) {
	t.Parallel()
	hits := make(chan string, len(healthListen()))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits <- r.URL.Path
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range services() {
		if code, out := healthcheck(t, name, ":"+port); code != 1 {
			t.Errorf("%s healthcheck against a 503 /healthz: exit %d, want 1\n%s", name, code, out)
		}
		// The handler ran before the answer the binary waited for, so its
		// path is already queued when the process has exited.
		select {
		case path := <-hits:
			if path != "/healthz" {
				t.Errorf("%s healthcheck asked for %s, want /healthz", name, path)
			}
		default:
			t.Errorf("%s healthcheck never reached the server", name)
		}
	}
}

// OPS-34: against the running e2e stack, each binary's healthcheck exits 0;
// after the stack has stopped, each exits 1.
//
//nolint:paralleltest // owns the e2e ports while it runs
func TestOPS34_HealthcheckExitsZeroWhenHealthyAndOneWhenStopped(t *testing.T) {
	s := startStackWith(t, t.TempDir(), "MCPBOX_DATABASE_URL="+dbtest.EmptyURL(t))
	for _, name := range services() {
		if code, out := healthcheck(t, name, healthListen()[name][1]); code != 0 {
			t.Errorf("%s healthcheck against the running stack: exit %d, want 0\n%s", name, code, out)
		}
	}
	if err := s.Stop(t); err != nil {
		t.Fatalf("devstack did not stop cleanly: %v\n%s", err, s.out.String())
	}
	for _, name := range services() {
		if code, out := healthcheck(t, name, healthListen()[name][1]); code != 1 {
			t.Errorf("%s healthcheck after the stack stopped: exit %d, want 1\n%s", name, code, out)
		}
	}
}
