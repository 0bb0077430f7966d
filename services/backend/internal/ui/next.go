package ui

import (
	"net/url"
	"strings"
)

// safeNext returns next when it is a local path (a single / first, no
// scheme, host, backslash or control character), else "/" (admin-ui.md
// §3): a login link can never send the admin to another site.
func safeNext(next string) string {
	if next == "" || next[0] != '/' || len(next) > 2048 {
		return "/"
	}
	if strings.HasPrefix(next, "//") || strings.ContainsAny(next, `\`) {
		return "/"
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return next
}
