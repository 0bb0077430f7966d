package oauthflow

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/oauth2"

	"github.com/mcpbox/mcpbox/proto/redact"
)

// maxCause bounds the library text quoted in an UpstreamError.
const maxCause = 300

// explain turns the failure of one step into the error the caller sees: the
// sandbox's own failure as is (503 sandbox_unavailable and the like), a
// brokered request without response as an UpstreamError naming its host,
// anything else (a status, a metadata check of the libraries) as an
// UpstreamError quoting the cause, cut and cleaned of hidden values.
func (s *Service) explain(tr *fetchTransport, step string, err error, hidden ...string) error {
	if down := tr.sandboxDown(); down != nil {
		return fmt.Errorf("%s: %w", step, down)
	}
	var ff *fetchError
	if f := tr.failed(); errors.As(f, &ff) {
		return &UpstreamError{Message: fmt.Sprintf("OAuth failed while %s: %s.", step, ff.Error())}
	}
	return &UpstreamError{Message: fmt.Sprintf("OAuth failed while %s: %s.", step, cause(err, hidden...))}
}

// cause is err's text with every form of the hidden values removed, on one
// line, cut at maxCause bytes.
// A token endpoint's refusal is reduced to its status and RFC 6749 error
// fields: its body is not quoted.
func cause(err error, hidden ...string) string {
	msg := err.Error()
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		msg = "the token endpoint refused"
		if re.Response != nil {
			msg += " with HTTP " + strconv.Itoa(re.Response.StatusCode)
		}
		if re.ErrorCode != "" {
			msg += ": " + re.ErrorCode
		}
		if re.ErrorDescription != "" {
			msg += " (" + re.ErrorDescription + ")"
		}
	}
	msg = strings.Join(strings.Fields(msg), " ")
	secrets := make([]redact.Secret, 0, len(hidden))
	for _, h := range hidden {
		if h != "" {
			msg = strings.ReplaceAll(msg, h, "[REDACTED]")
			secrets = append(secrets, redact.Secret{Name: "value", Value: h})
		}
	}
	msg = redact.New(secrets, redact.Sandbox).String(msg)
	if len(msg) > maxCause {
		cut := maxCause
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return strings.TrimSuffix(msg, ".")
}
