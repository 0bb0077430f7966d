package ui_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

// An import form carries a whole export file: a body far over the 64 KiB
// of other forms reaches the handler, which names the file's problem
// (here: not an export), instead of a 403 from the form limit.
func TestSettingsImportAcceptsLargeFiles(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	br := b.browser(t, "192.0.2.77")
	br.setup(t, "strict") // signs the admin in
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{"_csrf": br.token(t), "mode": "dry_run", "on_conflict": "skip"} {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", "big.json")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write([]byte(`{"not":"an export","pad":"` + strings.Repeat("x", 300<<10) + `"}`))
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	p := br.do(t, http.MethodPost, "/settings/import", &body, "Content-Type", mw.FormDataContentType(), "Origin", b.srv.URL)
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("a 300 KiB import: %d, want 422 naming the file's problem; %.300s", p.status, p.body)
	}
}
