package redact

import "unicode"

// Redacted replaces the value of a sensitive key.
const Redacted = "[REDACTED]"

// sensitiveWord reports whether w (lowercase) is one of the words of
// backend.md §12.3 step 2 that make a key sensitive on their own.
func sensitiveWord(w string) bool {
	switch w {
	case "password", "passwd", "secret", "token", "apikey", "authorization", "auth",
		"credential", "credentials", "bearer", "cookie", "session", "privatekey":
		return true
	}
	return false
}

// sensitivePair reports whether the consecutive words a, b (lowercase) are
// one of the pairs api+key, private+key, client+secret.
func sensitivePair(a, b string) bool {
	return (a == "api" || a == "private") && b == "key" || a == "client" && b == "secret"
}

// SensitiveKey reports whether a JSON object key names a value that is never
// stored or logged (backend.md §12.3 step 2, gateway.md §9): the key, split
// into words at camelCase boundaries and at every character that is not a
// letter or digit (`_`, `-`, `.`, …) and lowercased, contains one of the
// words password, passwd, secret, token, apikey, authorization, auth,
// credential, credentials, bearer, cookie, session, privatekey, or the
// consecutive words api+key, private+key or client+secret. Words are
// matched whole, so "author" and "monkey" are not sensitive, while
// "api_key", "clientSecret", "X-Auth-Token" and "APIKey" are.
func SensitiveKey(key string) bool {
	words := KeyWords(key)
	for i, w := range words {
		if sensitiveWord(w) || i > 0 && sensitivePair(words[i-1], w) {
			return true
		}
	}
	return false
}

// KeyWords splits a key into lowercase words: at every character that is
// not a letter or digit, before an upper-case letter that follows a
// lower-case letter or digit ("clientSecret" → client, secret), and before
// the last upper-case letter of a run followed by a lower-case one
// ("APIKey" → api, key).
func KeyWords(key string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, string(cur))
			cur = cur[:0]
		}
	}
	runes := []rune(key)
	for i, r := range runes {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush()
			continue
		}
		if unicode.IsUpper(r) && i > 0 && len(cur) > 0 {
			prev := runes[i-1]
			nextLower := i+1 < len(runes) && unicode.IsLower(runes[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || unicode.IsUpper(prev) && nextLower {
				flush()
			}
		}
		cur = append(cur, unicode.ToLower(r))
	}
	flush()
	return words
}
