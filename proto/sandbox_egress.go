package proto

import "strings"

// PrivateLookingName reports whether a normalised host name (NormalizeHost,
// without port; IP literals report false) looks like a local or LAN name
// (backend.md §6.5): localhost or *.localhost, a single label, or a name
// ending in .local, .internal, .lan, .home.arpa or .localdomain. The sandbox
// broker lets an approved private-looking name resolve into private ranges
// (sandbox.md §12.1); the backend withholds such hosts from unreviewed code.
func PrivateLookingName(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "" || strings.HasPrefix(h, "[") {
		return false
	}
	if h == "localhost" || !strings.Contains(h, ".") {
		return true
	}
	for _, suffix := range []string{".localhost", ".local", ".internal", ".lan", ".home.arpa", ".localdomain"} {
		if strings.HasSuffix(h, suffix) {
			return true
		}
	}
	return false
}
