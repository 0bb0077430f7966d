package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/tools/internal/testport"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// The process tests run the real devstack binary against fake service binaries (testdata/fakechild)
// and the real devidp, on free ports with a temporary data directory.

var (
	buildOnce sync.Once
	buildDir  string
	errBuild  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binaries builds devstack, the fake services and devidp once per test binary.
func binaries(t *testing.T) (devstack, bin string) {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, errBuild = os.MkdirTemp("", "devstack-test-")
		if errBuild != nil {
			return
		}
		binDir := filepath.Join(buildDir, "bin")
		for _, b := range []struct{ out, pkg string }{
			{filepath.Join(buildDir, "devstack"), "."},
			{filepath.Join(buildDir, "fakechild"), "./testdata/fakechild"},
			{filepath.Join(binDir, "devidp"), "../devidp"},
		} {
			cmd := exec.CommandContext(context.Background(), "go", "build", "-o", b.out, b.pkg)
			cmd.Env = append(os.Environ(), "GOWORK=off")
			if out, err := cmd.CombinedOutput(); err != nil {
				errBuild = fmt.Errorf("go build %s: %w\n%s", b.pkg, err, out)
				return
			}
		}
		for _, role := range []string{"backend", "sandbox", "sandbox-e2e", "gateway", "edge"} {
			if errBuild = os.Link(filepath.Join(buildDir, "fakechild"), filepath.Join(binDir, role)); errBuild != nil {
				return
			}
		}
	})
	if errBuild != nil {
		t.Fatal(errBuild)
	}
	return filepath.Join(buildDir, "devstack"), filepath.Join(buildDir, "bin")
}

// syncBuffer is a bytes.Buffer safe for the copying goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// portVars are the variables that place every listener; each test gets free ports.
var portVars = []string{
	"MCPBOX_SANDBOX_LISTEN", "MCPBOX_BACKEND_LISTEN", "MCPBOX_BACKEND_INTERNAL_LISTEN", "MCPBOX_GATEWAY_LOCAL_LISTEN",
	"MCPBOX_GATEWAY_REMOTE_LISTEN", "MCPBOX_DEVIDP_ADDR", "MCPBOX_EDGE_LISTEN", "MCPBOX_EDGE_ADMIN_LISTEN",
}

type running struct {
	t      *testing.T
	cmd    *exec.Cmd
	out    *syncBuffer
	addrs  map[string]string
	data   string
	events string
	done   chan struct{} // closed when devstack has exited
	err    error         // its exit, valid after done
}

type runOpts struct {
	data  string            // reuse a data directory (second run)
	addrs map[string]string // reuse addresses
	env   []string          // extra KEY=value
	noDB  bool              // do not set MCPBOX_DATABASE_URL
	args  []string          // extra flags
}

func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		out[i] = testport.Addr(t)
	}
	return out
}

func startDevstack(t *testing.T, o runOpts) *running {
	t.Helper()
	devstack, bin := binaries(t)
	if o.data == "" {
		o.data = filepath.Join(t.TempDir(), "data")
	}
	if o.addrs == nil {
		o.addrs = map[string]string{}
		for i, a := range freeAddrs(t, len(portVars)) {
			o.addrs[portVars[i]] = a
		}
	}
	events := filepath.Join(o.data+"-events", "events")
	if err := os.MkdirAll(filepath.Dir(events), 0o700); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MCPBOX_") && !strings.HasPrefix(kv, "FAKE_") {
			env = append(env, kv)
		}
	}
	for k, v := range o.addrs {
		env = append(env, k+"="+v)
	}
	if !o.noDB {
		env = append(env, "MCPBOX_DATABASE_URL=postgres://nobody@127.0.0.1:1/unused")
	}
	env = append(env, "FAKE_EVENTS="+events, "MCPBOX_SHUTDOWN_TIMEOUT=5s")
	env = append(env, o.env...)

	args := append([]string{"-root", filepath.Dir(o.data), "-bin", bin, "-data", o.data, "-probe-addr", "off"}, o.args...)
	cmd := exec.CommandContext(context.Background(), devstack, args...)
	cmd.Env = env
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &running{t: t, cmd: cmd, out: out, addrs: o.addrs, data: o.data, events: events, done: make(chan struct{})}
	go func() {
		r.err = cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = cmd.Process.Kill()
			<-r.done
		}
		if t.Failed() {
			t.Logf("devstack output:\n%s", out.String())
		}
	})
	return r
}

// waitOutput waits until the output contains s.
func (r *running) waitOutput(s string, within time.Duration) {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if strings.Contains(r.out.String(), s) {
			return
		}
		select {
		case <-r.done:
			if strings.Contains(r.out.String(), s) {
				return
			}
			r.t.Fatalf("devstack exited (%v) before printing %q", r.err, s)
		case <-time.After(50 * time.Millisecond):
		}
	}
	r.t.Fatalf("devstack did not print %q within %s", s, within)
}

// wait returns devstack's exit code, failing when it takes longer than within.
func (r *running) wait(within time.Duration) int {
	r.t.Helper()
	select {
	case <-r.done:
		var ee *exec.ExitError
		if errors.As(r.err, &ee) {
			return ee.ExitCode()
		}
		if r.err != nil {
			r.t.Fatal(r.err)
		}
		return 0
	case <-time.After(within):
		r.t.Fatalf("devstack still running after %s", within)
		return -1
	}
}

func (r *running) signal(sig syscall.Signal) {
	r.t.Helper()
	if err := r.cmd.Process.Signal(sig); err != nil {
		r.t.Fatal(err)
	}
}

type event struct {
	role, what string
	pid        int
	detail     string
}

func (r *running) readEvents() []event {
	r.t.Helper()
	raw, err := os.ReadFile(r.events)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		r.t.Fatal(err)
	}
	var out []event
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		var e event
		f := strings.SplitN(sc.Text(), " ", 4)
		if len(f) < 3 {
			continue
		}
		e.role, e.what = f[0], f[1]
		_, _ = fmt.Sscan(f[2], &e.pid)
		if len(f) == 4 {
			e.detail = f[3]
		}
		out = append(out, e)
	}
	return out
}

func (r *running) rolesWith(what string) []string {
	var out []string
	for _, e := range r.readEvents() {
		if e.what == what {
			out = append(out, e.role)
		}
	}
	return out
}

// assertGone checks that every process the fakes recorded has exited and every port is free.
func (r *running) assertGone() {
	r.t.Helper()
	for _, e := range r.readEvents() {
		if e.what != "start" {
			continue
		}
		if err := syscall.Kill(e.pid, 0); !errors.Is(err, syscall.ESRCH) {
			r.t.Errorf("%s (pid %d) still exists: %v", e.role, e.pid, err)
		}
	}
	for name, addr := range r.addrs {
		ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", addr)
		if err != nil {
			r.t.Errorf("%s %s not freed: %v", name, addr, err)
			continue
		}
		_ = ln.Close()
	}
}

func httpGet(url string) (int, []byte) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, http.NoBody)
	if err != nil {
		return 0, nil
	}
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
	if err != nil {
		return 0, nil
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

const bannerEnd = "Press Ctrl-C to stop."

// OPS-5: after the banner, /readyz answers 200 everywhere; the banner has the admin URL, the local MCP
// URL, the exact `claude mcp add` line and a remote line whose token verifies against devidp's JWKS.
func TestOPS5_BannerAfterEveryServiceIsReady(t *testing.T) {
	t.Parallel()
	r := startDevstack(t, runOpts{})
	r.waitOutput(bannerEnd, 60*time.Second)
	a := r.addrs
	for _, u := range []string{
		"http://" + a["MCPBOX_SANDBOX_LISTEN"] + "/readyz",
		"http://" + a["MCPBOX_BACKEND_LISTEN"] + "/readyz",
		"http://" + a["MCPBOX_BACKEND_INTERNAL_LISTEN"] + "/readyz",
		"http://" + a["MCPBOX_GATEWAY_LOCAL_LISTEN"] + "/readyz",
		"http://" + a["MCPBOX_GATEWAY_REMOTE_LISTEN"] + "/readyz",
		"http://" + a["MCPBOX_EDGE_ADMIN_LISTEN"] + "/readyz",
		"http://" + a["MCPBOX_DEVIDP_ADDR"] + "/readyz",
	} {
		if status, _ := httpGet(u); status != http.StatusOK {
			t.Errorf("GET %s: %d", u, status)
		}
	}
	out := r.out.String()
	for _, want := range []string{
		"MCPbox is running (dev mode; PostgreSQL: MCPBOX_DATABASE_URL)\n",
		"  Admin UI        http://" + a["MCPBOX_BACKEND_LISTEN"] + "/   (first visit: /setup with MCPBOX_SETUP_CODE from data/dev.env)\n",
		"  Local MCP       http://" + a["MCPBOX_GATEWAY_LOCAL_LISTEN"] + "/mcp\n",
		"  Add to Claude   claude mcp add --transport http mcpbox http://" + a["MCPBOX_GATEWAY_LOCAL_LISTEN"] + "/mcp\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q", want)
		}
	}
	remote := "http://" + a["MCPBOX_EDGE_LISTEN"] + "/mcp"
	prefix := "claude mcp add --transport http mcpbox-remote " + remote + ` --header "Authorization: Bearer `
	i := strings.Index(out, prefix)
	if i < 0 {
		t.Fatalf("banner lacks the remote claude mcp add line %q", prefix)
	}
	tok, _, _ := strings.Cut(out[i+len(prefix):], `"`)
	verifyDevidpToken(t, "http://"+a["MCPBOX_DEVIDP_ADDR"], tok, remote)

	// The services received their own variables only.
	for _, e := range r.readEvents() {
		if e.what != "start" && e.what != "migrate" {
			continue
		}
		names := "," + e.detail + ","
		if !strings.Contains(names, ",MCPBOX_MODE,") {
			t.Errorf("%s did not get MCPBOX_MODE: %s", e.role, e.detail)
		}
		if strings.Contains(names, ",MCPBOX_DEV_") || strings.Contains(names, ",MCPBOX_DEVIDP_ADDR,") {
			t.Errorf("%s got devstack's own settings: %s", e.role, e.detail)
		}
		if e.role == "sandbox" && (strings.Contains(names, "DATABASE_URL") || strings.Contains(names, "ENCRYPTION_KEY") ||
			strings.Contains(names, "BACKEND_TOKEN") || strings.Contains(names, "GATEWAY_TOKEN")) {
			t.Errorf("sandbox got another service's secrets: %s", e.detail)
		}
	}

	r.signal(syscall.SIGINT)
	if code := r.wait(30 * time.Second); code != 0 {
		t.Errorf("exit code %d after SIGINT, want 0", code)
	}
}

func verifyDevidpToken(t *testing.T, issuer, tok, aud string) {
	t.Helper()
	status, body := httpGet(issuer + "/jwks.json")
	if status != http.StatusOK {
		t.Fatalf("jwks: %d", status)
	}
	set, err := jwk.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	hdr, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(hdr)
	if err != nil {
		t.Fatalf("token %q: %v", tok, err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	key, ok := set.LookupKeyID(h.Kid)
	if !ok {
		t.Fatalf("kid %s not published", h.Kid)
	}
	var pub rsa.PublicKey
	if err := jwk.Export(key, &pub); err != nil {
		t.Fatal(err)
	}
	if _, err := jwt.Parse([]byte(tok), jwt.WithKey(jwa.RS256(), &pub), jwt.WithIssuer(issuer), jwt.WithAudience(aud)); err != nil {
		t.Errorf("banner token does not verify: %v", err)
	}
}

// OPS-6: on SIGINT the children stop within 30 s in reverse order, ports are freed, no process remains,
// and the exit code is 0.
func TestOPS6_SIGINTStopsChildrenInReverseOrder(t *testing.T) {
	t.Parallel()
	r := startDevstack(t, runOpts{})
	r.waitOutput(bannerEnd, 60*time.Second)
	if got := strings.Join(r.rolesWith("start"), ","); got != "sandbox,backend,gateway,edge" {
		t.Errorf("start order %s", got)
	}
	r.signal(syscall.SIGINT)
	if code := r.wait(30 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if got := strings.Join(r.rolesWith("stop"), ","); got != "edge,gateway,backend,sandbox" {
		t.Errorf("stop order %s, want edge,gateway,backend,sandbox", got)
	}
	out := r.out.String()
	last := -1
	for _, name := range []string{"edge", "devidp", "gateway", "backend", "sandbox"} {
		i := strings.Index(out, "devstack | stopping "+name+"\n")
		if i < last {
			t.Errorf("stopping %s printed out of order", name)
		}
		last = i
	}
	r.assertGone()
}

// OPS-6: SIGTERM is handled like Ctrl-C. (This run also uses -sandbox-bin, as the e2e stack does.)
func TestOPS6_SIGTERMStopsCleanly(t *testing.T) {
	t.Parallel()
	_, bin := binaries(t)
	r := startDevstack(t, runOpts{args: []string{"-sandbox-bin", filepath.Join(bin, "sandbox-e2e")}})
	r.waitOutput(bannerEnd, 60*time.Second)
	if !strings.Contains(r.out.String(), "sandbox  | sandbox listening (sandbox-e2e)\n") {
		t.Error("the -sandbox-bin binary did not run as the sandbox")
	}
	r.signal(syscall.SIGTERM)
	if code := r.wait(30 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	r.assertGone()
}

// OPS-6: a taken port aborts the start and is named.
func TestOPS6_TakenPortAbortsTheStart(t *testing.T) {
	t.Parallel()
	busy, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = busy.Close() }()
	addrs := map[string]string{}
	for i, a := range freeAddrs(t, len(portVars)) {
		addrs[portVars[i]] = a
	}
	addrs["MCPBOX_GATEWAY_REMOTE_LISTEN"] = busy.Addr().String()
	r := startDevstack(t, runOpts{addrs: addrs})
	if code := r.wait(30 * time.Second); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	want := "port " + busy.Addr().String() + " (gateway) is taken; set MCPBOX_GATEWAY_REMOTE_LISTEN"
	if !strings.Contains(r.out.String(), want) {
		t.Errorf("output lacks %q", want)
	}
	if started := r.rolesWith("start"); len(started) > 0 {
		t.Errorf("services started despite the taken port: %v", started)
	}
}

// OPS-6: if a child dies, devstack stops the rest, prints its last lines and exits 1.
func TestOPS6_DyingChildStopsTheRest(t *testing.T) {
	t.Parallel()
	r := startDevstack(t, runOpts{env: []string{"FAKE_DIE=gateway:1500ms"}})
	if code := r.wait(30 * time.Second); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	out := r.out.String()
	if !strings.Contains(out, "gateway exited (exit status 3). Its last") || !strings.Contains(out, "    dying on purpose\n") {
		t.Errorf("no report of gateway's last lines in:\n%s", out)
	}
	stopped := strings.Join(r.rolesWith("stop"), ",")
	if !strings.HasSuffix(stopped, "backend,sandbox") || strings.Contains(stopped, "gateway") {
		t.Errorf("stopped %q, want the others (ending backend,sandbox) and not gateway", stopped)
	}
	r.assertGone()
}

// OPS-6: a second Ctrl-C kills everything at once and exits 130.
func TestOPS6_SecondInterruptKillsEverything(t *testing.T) {
	t.Parallel()
	r := startDevstack(t, runOpts{env: []string{"FAKE_IGNORE_TERM=backend", "MCPBOX_SHUTDOWN_TIMEOUT=120s"}})
	r.waitOutput(bannerEnd, 60*time.Second)
	r.signal(syscall.SIGINT)
	r.waitOutput("devstack | stopping backend\n", 20*time.Second)
	r.signal(syscall.SIGINT)
	if code := r.wait(15 * time.Second); code != 130 {
		t.Errorf("exit code %d, want 130", code)
	}
	r.assertGone()
}

// §1.3 step 4: a failed migration is printed and nothing starts.
func TestMigrateFailureStartsNothing(t *testing.T) {
	t.Parallel()
	r := startDevstack(t, runOpts{env: []string{"FAKE_MIGRATE_FAIL=1"}})
	if code := r.wait(30 * time.Second); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	out := r.out.String()
	for _, want := range []string{"migrate  | migration 00001 failed: boom", "backend migrate failed", "nothing was started"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if started := r.rolesWith("start"); len(started) > 0 {
		t.Errorf("services started after a failed migration: %v", started)
	}
}

// OPS-2 (and OPS-4) end to end: with no server to use, devstack creates a TCP-only private cluster in
// <data>/pg, records it in dev.env, stops it on Ctrl-C, and a second run finds the data again with
// dev.env byte-identical.
func TestOPS2_PrivateClusterAcrossTwoRuns(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("initdb"); err != nil {
		if dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(dirs) == 0 {
			t.Skip("PostgreSQL is not installed")
		}
	}
	tmp := t.TempDir()
	if os.Geteuid() == 0 { // user postgres must reach <tmp>/data/pg
		for d := tmp; d != filepath.Dir(d) && d != os.TempDir(); d = filepath.Dir(d) {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	data := filepath.Join(tmp, "data")
	pgAddr := freeAddrs(t, 1)[0]
	_, pgPort, _ := net.SplitHostPort(pgAddr)
	env := []string{"MCPBOX_DEV_PG_PORT=" + pgPort, "FAKE_MIGRATE_DB=1"}
	t.Cleanup(func() { // whatever happens, leave no server behind
		_ = exec.CommandContext(context.Background(), "runuser", "-u", "postgres", "--", "pg_ctl", "stop", "-D", filepath.Join(data, "pg", "data"), "-m", "immediate").Run()
		_ = exec.CommandContext(context.Background(), "pg_ctl", "stop", "-D", filepath.Join(data, "pg", "data"), "-m", "immediate").Run()
	})

	devEnv := filepath.Join(data, "dev.env")
	var first []byte
	for run, rows := range []string{"1", "2"} {
		r := startDevstack(t, runOpts{data: data, noDB: true, env: env})
		r.waitOutput(bannerEnd, 120*time.Second)
		out := r.out.String()
		if want := "MCPbox is running (dev mode; PostgreSQL: private cluster on " + pgAddr + ")"; !strings.Contains(out, want) {
			t.Errorf("run %d: banner lacks %q", run+1, want)
		}
		if want := "migrate  | marker rows: " + rows + "\n"; !strings.Contains(out, want) {
			t.Errorf("run %d: want %q: the data did not survive", run+1, want)
		}
		raw, err := os.ReadFile(devEnv)
		if err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(devEnv); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("dev.env mode %v (%v)", fi.Mode().Perm(), err)
		}
		if run == 0 {
			first = raw
			for _, key := range []string{
				"MCPBOX_BACKEND_TOKEN=", "MCPBOX_SANDBOX_TOKEN=", "MCPBOX_GATEWAY_TOKEN=", "MCPBOX_ENCRYPTION_KEY=",
				"MCPBOX_ENCRYPTION_KEY_ID=1\n", "MCPBOX_SETUP_CODE=", "MCPBOX_DEV_DB=private\n", "MCPBOX_DATABASE_URL=postgres://mcpbox:",
			} {
				if !bytes.Contains(raw, []byte("\n"+key)) {
					t.Errorf("dev.env lacks %s", key)
				}
			}
			if !bytes.Contains(raw, []byte("@"+pgAddr+"/mcpbox")) {
				t.Errorf("dev.env's MCPBOX_DATABASE_URL does not point at %s", pgAddr)
			}
		} else if !bytes.Equal(raw, first) {
			t.Errorf("dev.env changed on the second run:\n%s\nwas:\n%s", raw, first)
		}

		r.signal(syscall.SIGINT)
		if code := r.wait(30 * time.Second); code != 0 {
			t.Errorf("run %d: exit code %d", run+1, code)
		}
		if !strings.Contains(r.out.String(), "devstack | stopping the private cluster\n") {
			t.Errorf("run %d: the cluster was not stopped", run+1)
		}
		r.addrs["MCPBOX_DEV_PG_PORT"] = pgAddr
		r.assertGone()
		if _, err := os.Stat(filepath.Join(data, "pg", "data", "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("run %d: postmaster.pid remains (%v)", run+1, err)
		}
	}
}

// §1.3 step 6: Pdeathsig, set from the thread that forked each child, means killing devstack outright
// leaves no service behind.
func TestKillingDevstackLeavesNoOrphans(t *testing.T) {
	t.Parallel()
	r := startDevstack(t, runOpts{})
	r.waitOutput(bannerEnd, 60*time.Second)
	r.signal(syscall.SIGKILL)
	r.wait(10 * time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		alive := 0
		for _, e := range r.readEvents() {
			if e.what == "start" && syscall.Kill(e.pid, 0) == nil {
				alive++
			}
		}
		if alive == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d services outlived devstack", alive)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.assertGone()
}
