//go:build browser

package browsertest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"

	"github.com/chromedp/chromedp"
)

// artifactsDir is where screenshots go (created on first use).
var artifacts struct {
	once sync.Once
	dir  string
	err  error
}

// ArtifactsDir returns MCPBOX_UI_ARTIFACTS, else test-artifacts/ui under the
// repository root (the directory holding go.work), creating it.
func ArtifactsDir() (string, error) {
	artifacts.once.Do(func() {
		dir := os.Getenv(EnvArtifacts)
		if dir == "" {
			root, err := repoRoot()
			if err != nil {
				artifacts.err = err
				return
			}
			dir = filepath.Join(root, "test-artifacts", "ui")
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			artifacts.err = fmt.Errorf("artifacts directory: %w", err)
			return
		}
		artifacts.dir = dir
	})
	return artifacts.dir, artifacts.err
}

// repoRoot walks up from the working directory to the one holding go.work.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.work above the working directory; set %s", EnvArtifacts)
		}
		dir = parent
	}
}

// unsafeName keeps artifact names to portable characters.
var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// writeArtifact writes data as name into the artifacts directory and
// returns its path.
func writeArtifact(name string, data []byte) (string, error) {
	dir, err := ArtifactsDir()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, unsafeName.ReplaceAllString(name, "_"))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return "", err
	}
	return path, nil
}

// Screenshot saves a full-page PNG of the page as
// <name>-<width>-<theme>.png (admin-ui.md §15) and returns its path; theme
// is what the check set ("light", "dark", "system").
func (p *Page) Screenshot(name, theme string) string {
	p.t.Helper()
	png := Run(p, chromedp.FullScreenshot(100))
	path, err := writeArtifact(fmt.Sprintf("%s-%d-%s.png", name, p.view.Width, theme), png)
	if err != nil {
		p.t.Fatalf("browsertest: save screenshot: %v", err)
	}
	return path
}

// saveFailure saves a screenshot and the DOM of a failed check, best
// effort (the browser may be the reason it failed).
func (p *Page) saveFailure() {
	ctx, cancel := p.ctx(ActionTimeout)
	defer cancel()
	base := p.t.Name() + "-failure"
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		if path, err := writeArtifact(base+".png", png); err == nil {
			p.t.Logf("browsertest: failure screenshot %s", path)
		}
	}
	if html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement ? document.documentElement.outerHTML : ""`)); err == nil {
		if path, err := writeArtifact(base+".html", []byte(html)); err == nil {
			p.t.Logf("browsertest: failure DOM %s", path)
		}
	}
}
