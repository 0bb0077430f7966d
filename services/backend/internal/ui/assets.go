package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// staticFS holds the files served under /static/ (admin-ui.md §2).
//
//go:embed static
var staticFS embed.FS

// assets are the static files by their content-addressed names.
type assets struct {
	byName map[string]string // "app.js" → "app.3f2a9c0b1d.js"
	files  map[string]asset  // "app.3f2a9c0b1d.js" → the file
}

type asset struct {
	body        []byte
	contentType string
}

// contentTypes of the static files; a file of another type is a startup
// error, so nothing is served with a guessed type.
var contentTypes = map[string]string{ //nolint:gochecknoglobals // read-only table
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".svg": "image/svg+xml",
}

// loadAssets reads every static file but NOTICE and names it
// <name>.<first 10 hex digits of its SHA-256>.<ext>.
func loadAssets(fsys fs.FS) (*assets, error) {
	a := &assets{byName: map[string]string{}, files: map[string]asset{}}
	entries, err := fs.ReadDir(fsys, "static")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || name == "NOTICE" {
			continue
		}
		ext := path.Ext(name)
		ct, ok := contentTypes[ext]
		if !ok {
			return nil, fmt.Errorf("static/%s: no content type for %q files", name, ext)
		}
		body, err := fs.ReadFile(fsys, "static/"+name)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(body)
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:5]) + ext
		a.byName[name] = hashed
		a.files[hashed] = asset{body: body, contentType: ct}
	}
	return a, nil
}

// url is the template function asset: "app.js" → "/static/app.<hash>.js".
// An unknown name is an error; templates name assets as literals and
// newRenderer checks every one at start.
func (a *assets) url(name string) (string, error) {
	hashed, ok := a.byName[name]
	if !ok {
		return "", fmt.Errorf("no static asset %q", name)
	}
	return "/static/" + hashed, nil
}

// static is GET /static/{file}: a content-addressed file, cached for a
// year; anything else is 404.
func (h *handler) static(w http.ResponseWriter, r *http.Request, _ *state) error {
	f, ok := h.view.assets.files[r.PathValue("file")]
	if !ok {
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "No such static file.", http.StatusNotFound)
		return nil
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
	return nil
}
