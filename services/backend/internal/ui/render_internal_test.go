package ui

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto/obs"
)

// fixtureFS is a minimal template and static tree; mutate adjusts it.
func fixtureFS(mutate func(fstest.MapFS)) fstest.MapFS {
	fsys := fstest.MapFS{
		"templates/layout.html":     {Data: []byte(`{{define "layout"}}<link href="{{asset "app.css"}}">{{template "content" .}}{{end}}`)},
		"templates/partials/a.html": {Data: []byte(`{{define "part"}}<p>{{pending 2}}</p>{{end}}`)},
		"templates/dialogs/d.html":  {Data: []byte(`{{define "dlg"}}<dialog></dialog>{{end}}`)},
		"templates/pages/home.html": {Data: []byte(`{{define "content"}}<h1>Home</h1>{{template "part" .}}{{end}}`)},
		"static/app.css":            {Data: []byte("body{}")},
		"static/NOTICE":             {Data: []byte("notice")},
	}
	if mutate != nil {
		mutate(fsys)
	}
	return fsys
}

// A missing template, template function, asset or content type stops the
// UI at start: newRenderer fails, never a request.
func TestStartupFailsOnMissingPieces(t *testing.T) {
	t.Parallel()
	if _, err := parseTemplates(fixtureFS(nil), fixtureFS(nil)); err != nil {
		t.Fatalf("the fixture itself: %v", err)
	}
	for name, c := range map[string]struct {
		mutate func(fstest.MapFS)
		want   string
	}{
		"missing template": {func(f fstest.MapFS) {
			f["templates/pages/home.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{template "nowhere" .}}{{end}}`)}
		}, `{{template "nowhere"}} is not defined`},
		"missing function": {func(f fstest.MapFS) {
			f["templates/pages/home.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{shout .}}{{end}}`)}
		}, `function "shout" not defined`},
		"missing asset": {func(f fstest.MapFS) {
			f["templates/pages/home.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}<script src="{{asset "gone.js"}}"></script>{{end}}`)}
		}, `no static asset "gone.js"`},
		"asset by variable": {func(f fstest.MapFS) {
			f["templates/pages/home.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}<img src="{{asset .Name}}">{{end}}`)}
		}, "asset takes a string literal"},
		"no content": {func(f fstest.MapFS) {
			f["templates/pages/home.html"] = &fstest.MapFile{Data: []byte(`{{define "other"}}x{{end}}`)}
		}, `no template "content"`},
		"no pages": {func(f fstest.MapFS) { delete(f, "templates/pages/home.html") }, "no page templates"},
		"unknown static type": {func(f fstest.MapFS) {
			f["static/logo.png"] = &fstest.MapFile{Data: []byte{0x89}}
		}, `no content type for ".png"`},
		"template syntax": {func(f fstest.MapFS) {
			f["templates/partials/a.html"] = &fstest.MapFile{Data: []byte(`{{define "part"}}{{if}}{{end}}`)}
		}, "missing value for if"},
	} {
		fsys := fixtureFS(c.mutate)
		_, err := parseTemplates(fsys, fsys)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, c.want)
		}
	}
}

// The embedded UI parses, and every page set has the layout.
func TestEmbeddedTemplatesParse(t *testing.T) {
	t.Parallel()
	rd, err := newRenderer()
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(templateFS, "templates/pages/*.html")
	if err != nil {
		t.Fatal(err)
	}
	want := make([]string, 0, len(files))
	for _, f := range files {
		want = append(want, strings.TrimSuffix(path.Base(f), ".html"))
	}
	if got := rd.Pages(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("pages %v, want %v", got, want)
	}
	for _, name := range []string{"app.js", "app.css", "htmx.min.js", "icons.svg", "favicon.svg"} {
		u, err := rd.assets.url(name)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^/static/[a-z.]+\.[0-9a-f]{10}\.(js|css|svg)$`).MatchString(u) {
			t.Errorf("asset %s → %s", name, u)
		}
	}
	if _, err := rd.assets.url("NOTICE"); err == nil {
		t.Error("NOTICE is served")
	}
}

// The vendored htmx is the file the NOTICE names (version, source,
// SHA-256, licence).
func TestVendoredHTMXMatchesNotice(t *testing.T) {
	t.Parallel()
	js, err := fs.ReadFile(staticFS, "static/htmx.min.js")
	if err != nil {
		t.Fatal(err)
	}
	notice, err := fs.ReadFile(staticFS, "static/NOTICE")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(js)
	for _, want := range []string{hex.EncodeToString(sum[:]), "Version:  2.0.", "https://registry.npmjs.org/htmx.org/-/htmx.org-2.0.", "0BSD"} {
		if !bytes.Contains(notice, []byte(want)) {
			t.Errorf("NOTICE lacks %q", want)
		}
	}
	if !bytes.Contains(js, []byte(`version:"2.0.`)) {
		t.Error("htmx.min.js is not htmx 2.0.x")
	}
}

// app.js stays small, builds DOM with textContent only (nothing it shows
// is parsed as HTML), never evaluates strings and never stores anything in
// browser storage (it only removes the path htmx records there).
func TestAppJSRules(t *testing.T) {
	t.Parallel()
	js, err := fs.ReadFile(staticFS, "static/app.js")
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(js, []byte("\n")); n > 400 {
		t.Errorf("app.js has %d lines; the budget is about 400", n)
	}
	for _, banned := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "localStorage", "sessionStorage.setItem", "sessionStorage.getItem", "sessionStorage[", ".style."} {
		if bytes.Contains(js, []byte(banned)) {
			t.Errorf("app.js uses %s", banned)
		}
	}
	css, err := fs.ReadFile(staticFS, "static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	for _, banned := range []string{"@import", "url(", "@font-face"} {
		if bytes.Contains(css, []byte(banned)) {
			t.Errorf("app.css uses %s: no external request of any kind", banned)
		}
	}
}

// Both palettes meet WCAG 2.1 AA: text 4.5:1 on every background it is
// drawn on; borders, controls and the focus ring 3:1 (admin-ui.md §5, §8).
// The System theme's dark block is the Dark theme's.
func TestPaletteContrast(t *testing.T) {
	t.Parallel()
	css, err := fs.ReadFile(staticFS, "static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string]map[string]string{}
	for name, re := range map[string]*regexp.Regexp{
		"light":  regexp.MustCompile(`(?s)html\[data-theme="light"\] \{(.*?)\}`),
		"dark":   regexp.MustCompile(`(?s)\nhtml\[data-theme="dark"\] \{(.*?)\}`),
		"system": regexp.MustCompile(`(?s)html\[data-theme="system"\] \{(.*?)\}`),
	} {
		m := re.FindSubmatch(css)
		if m == nil {
			t.Fatalf("no %s palette", name)
		}
		vars := map[string]string{}
		for _, v := range regexp.MustCompile(`--([a-z-]+): (#[0-9a-f]{6});`).FindAllSubmatch(m[1], -1) {
			vars[string(v[1])] = string(v[2])
		}
		blocks[name] = vars
	}
	if len(blocks["dark"]) == 0 || !equalMaps(blocks["dark"], blocks["system"]) {
		t.Errorf("the System dark palette differs from Dark:\n%v\n%v", blocks["dark"], blocks["system"])
	}
	type pair struct {
		fg, bg string
		min    float64
	}
	var pairs []pair
	for _, fg := range []string{"text", "muted", "accent", "danger", "warn", "good"} {
		for _, bg := range []string{"bg", "surface"} {
			pairs = append(pairs, pair{fg, bg, 4.5})
		}
	}
	pairs = append(pairs, pair{"text", "raised", 4.5}, pair{"on-accent", "accent", 4.5}, pair{"on-danger", "danger", 4.5})
	for _, fg := range []string{"border", "focus", "accent", "danger"} {
		for _, bg := range []string{"bg", "surface", "raised"} {
			pairs = append(pairs, pair{fg, bg, 3})
		}
	}
	for _, theme := range []string{"light", "dark"} {
		p := blocks[theme]
		for _, c := range pairs {
			r := contrast(p[c.fg], p[c.bg])
			if r < c.min {
				t.Errorf("%s: --%s %s on --%s %s is %.2f:1, want %.1f:1", theme, c.fg, p[c.fg], c.bg, p[c.bg], r, c.min)
			}
		}
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// contrast is the WCAG 2.1 contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05)
}

func luminance(hexColor string) float64 {
	if len(hexColor) != 7 {
		return math.NaN()
	}
	ch := func(i int) float64 {
		v, _ := strconv.ParseUint(hexColor[i:i+2], 16, 8)
		c := float64(v) / 255
		if c <= 0.03928 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(1) + 0.7152*ch(3) + 0.0722*ch(5)
}

// The 500 page names the request id and links to the dashboard, and is
// rendered without touching the database.
func TestServerErrorPage(t *testing.T) {
	t.Parallel()
	view, err := newRenderer()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	h := &handler{d: Deps{Log: slog.New(slog.NewJSONHandler(&logs, nil))}, view: view, hub: newHub()}
	h.secure = func(*http.Request) bool { return false }
	for _, htmx := range []bool{false, true} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/servers", nil)
		req = req.WithContext(obs.WithRequestID(req.Context(), "4bf92f35-77b3-4da6-a3ce-929d0e0e4736"))
		h.serverError(rec, req, &state{theme: "system", htmx: htmx, reqID: obs.RequestID(req.Context())}, io.ErrUnexpectedEOF)
		body := rec.Body.String()
		if rec.Code != http.StatusInternalServerError || !strings.Contains(body, "4bf92f35-77b3-4da6-a3ce-929d0e0e4736") {
			t.Errorf("htmx=%v: %d %s", htmx, rec.Code, body)
		}
		if htmx {
			if trig := rec.Header().Get("HX-Trigger"); !strings.Contains(trig, `"request_id":"4bf92f35-77b3-4da6-a3ce-929d0e0e4736"`) || !strings.Contains(trig, `"level":"error"`) {
				t.Errorf("toast %q", trig)
			}
			continue
		}
		if !strings.Contains(body, `<a href="/" id="error-home">`) || !strings.Contains(body, "<h1>Something went wrong</h1>") || strings.Contains(body, "unexpected EOF") {
			t.Errorf("500 page: %s", body)
		}
	}
	if !strings.Contains(logs.String(), "unexpected EOF") {
		t.Error("the error was not logged")
	}
}

// The hub closes the oldest of a session's streams beyond 8 and forgets
// closed ones.
func TestHubLimitsStreams(t *testing.T) {
	t.Parallel()
	h := newHub()
	s, other := uuid.New(), uuid.New()
	closed := make([]bool, 10)
	leaves := make([]func(), 10)
	for i := range 9 {
		leaves[i] = h.join(s, func() { closed[i] = true })
	}
	leaves[9] = h.join(other, func() { closed[9] = true })
	if !closed[0] || closed[1] || closed[8] || closed[9] || h.count(s) != 8 || h.count(other) != 1 {
		t.Errorf("closed %v, counts %d %d", closed, h.count(s), h.count(other))
	}
	leaves[0]() // already dropped: nothing happens
	leaves[4]()
	leaves[9]()
	if h.count(s) != 7 || h.count(other) != 0 {
		t.Errorf("counts after leaving: %d %d", h.count(s), h.count(other))
	}
}

// asciiJSON keeps a toast header Latin-1-safe and equal in meaning.
func TestASCIIJSON(t *testing.T) {
	t.Parallel()
	in := `{"m":"Offline — retrying… 🙂"}`
	out := asciiJSON(in)
	if out != `{"m":"Offline \u2014 retrying\u2026 \ud83d\ude42"}` {
		t.Errorf("asciiJSON = %s", out)
	}
}

// An answer carrying a toast and the last progress report holds both in
// one HX-Trigger header, non-ASCII escaped.
func TestTriggerMergesEvents(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	toast(rec, "info", "Import finished — 40 tools.", "")
	trigger(rec, "mcpbox:progress", progressEvent{RequestID: "r-1", Operation: "import", Done: 40, Total: 40})
	raw := rec.Header().Get("HX-Trigger")
	for _, r := range raw {
		if r >= utf8.RuneSelf {
			t.Fatalf("HX-Trigger is not ASCII: %q", raw)
		}
	}
	var got struct {
		Toast    map[string]string `json:"mcpbox:toast"`
		Progress progressEvent     `json:"mcpbox:progress"`
	}
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Fatalf("HX-Trigger %q: %v", raw, err)
	}
	if got.Toast["message"] != "Import finished — 40 tools." || got.Toast["level"] != "info" {
		t.Errorf("toast %v", got.Toast)
	}
	if got.Progress != (progressEvent{RequestID: "r-1", Operation: "import", Done: 40, Total: 40}) {
		t.Errorf("progress %+v", got.Progress)
	}
}
