//go:build browser

package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mcpbox/mcpbox/db/dbtest"
)

// Environment variables of the harness.
const (
	// EnvChromium names the browser executable (default /usr/bin/chromium).
	EnvChromium = "MCPBOX_CHROMIUM"
	// EnvStrict set to "1" turns every skip of the harness into a failure
	// (make test-ui, make e2e, CI).
	EnvStrict = "MCPBOX_UI_TESTS"
	// EnvArtifacts is the screenshot directory (default test-artifacts/ui
	// under the repository root).
	EnvArtifacts = "MCPBOX_UI_ARTIFACTS"
)

const defaultChromium = "/usr/bin/chromium"

// browser is the one Chromium of the test package.
var browser struct {
	ctx    context.Context // a chromedp context whose browser has started
	err    error           // why there is no browser
	output *lockedBuffer   // the browser's stdout and stderr
}

// database is why there is no test database ("" when there is one).
var database struct {
	once sync.Once
	err  error
}

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// Main runs the test package with one browser (TestMain calls it). It
// starts Chromium with a temporary profile before the tests and stops it
// and removes the profile after them. A browser that is missing or does not
// start is not an error here: each check then skips, or fails under
// MCPBOX_UI_TESTS=1 (RequireBrowser).
func Main(m *testing.M) int {
	stop := startBrowser()
	code := m.Run()
	stop()
	if code != 0 && browser.output != nil && browser.output.Len() > 0 {
		fmt.Fprintf(os.Stderr, "browsertest: Chromium's output:\n%s\n", browser.output.String())
	}
	return code
}

// Strict reports whether MCPBOX_UI_TESTS=1 (a skip becomes a failure).
func Strict() bool { return os.Getenv(EnvStrict) == "1" }

// RequireBrowser skips t (fails it under MCPBOX_UI_TESTS=1) when the
// package has no browser.
func RequireBrowser(t testing.TB) {
	t.Helper()
	if browser.err != nil {
		unavailable(t, browser.err)
	}
}

// RequireDatabase skips t (fails it under MCPBOX_UI_TESTS=1) when no test
// database answers: MCPBOX_TEST_DATABASE_URL, else postgres@127.0.0.1:5432
// (db/dbtest's rule).
func RequireDatabase(t testing.TB) {
	t.Helper()
	database.once.Do(func() { database.err = probeDatabase() })
	if database.err != nil {
		unavailable(t, database.err)
	}
}

func unavailable(t testing.TB, err error) {
	t.Helper()
	if Strict() {
		t.Fatalf("browsertest: %v (%s=1: the browser checks must run)", err, EnvStrict)
	}
	t.Skipf("browsertest: %v; set %s=1 to make this a failure", err, EnvStrict)
}

// chromiumPath returns the browser executable or why there is none.
func chromiumPath() (string, error) {
	path := defaultChromium
	if p := os.Getenv(EnvChromium); p != "" {
		path = p
	}
	resolved, err := exec.LookPath(path)
	if err != nil {
		return "", fmt.Errorf("no Chromium at %s (install Debian's chromium, or set %s): %w", path, EnvChromium, err)
	}
	return resolved, nil
}

// needsNoSandbox: Chromium refuses to start its sandbox as root, and cannot
// inside most containers (admin-ui.md §15).
func needsNoSandbox() bool {
	if os.Geteuid() == 0 {
		return true
	}
	for _, f := range []string{"/.dockerenv", "/run/.containerenv"} {
		if _, err := os.Stat(f); err == nil {
			return true
		}
	}
	return false
}

// startBrowser starts Chromium and returns what stops it.
func startBrowser() (stop func()) {
	path, err := chromiumPath()
	if err != nil {
		browser.err = err
		return func() {}
	}
	profile, err := os.MkdirTemp("", "mcpbox-chromium-")
	if err != nil {
		browser.err = fmt.Errorf("temporary Chromium profile: %w", err)
		return func() {}
	}
	browser.output = &lockedBuffer{}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// /dev/shm is small in containers; Chromium crashes when it fills.
		chromedp.Flag("disable-dev-shm-usage", true),
		// No keyring prompt, no password manager.
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("force-color-profile", "srgb"),
		// Checks run in parallel tabs: none of them is throttled as hidden.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.CombinedOutput(browser.output),
	}
	if needsNoSandbox() {
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	stop = func() {
		cancelCtx()
		cancelAlloc() // waits for the process to exit
		_ = os.RemoveAll(profile)
	}
	// The first Do starts the browser; its context (no timeout) keeps it.
	if err := chromedp.Do(ctx); err != nil {
		browser.err = fmt.Errorf("start Chromium %s: %w; its output: %s", path, err, browser.output.String())
		stop()
		return func() {}
	}
	browser.ctx = ctx
	return stop
}

// probeDatabase checks that the test database server answers, as dbtest
// does before it skips.
func probeDatabase() error {
	raw := os.Getenv(dbtest.EnvURL)
	what := dbtest.EnvURL
	if raw == "" {
		raw, what = "postgres://postgres@127.0.0.1:5432/postgres", "postgres@127.0.0.1:5432"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" || u.Hostname()[0] == '/' {
		// A key=value DSN or a socket directory: dbtest itself decides.
		return nil
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "5432")
	}
	d := net.Dialer{Timeout: 2 * time.Second}
	conn, err := d.DialContext(context.Background(), "tcp", host)
	if err != nil {
		return fmt.Errorf("no test database: %s does not answer: %w", what, err)
	}
	_ = conn.Close()
	return nil
}

// lockedBuffer is an io.Writer safe for the browser's output goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *lockedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}
