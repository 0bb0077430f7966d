package redact

import "unicode/utf8"

// Cutting belongs with redaction: a text is always redacted first and cut
// second (backend.md §12.3, gateway.md §9), so no cut leaves a prefix of a
// secret that a later redaction could no longer recognise. Both helpers
// count or cut whole UTF-8 sequences only, so a cut text stays valid UTF-8
// wherever the input was.

// CutChars returns the first n characters (runes) of s and the number of
// characters it left out; s itself and 0 when it is not longer than n.
func CutChars(s string, n int) (kept string, cut int) {
	n = max(n, 0)
	if len(s) <= n { // n bytes hold at least n characters
		return s, 0
	}
	i := 0
	for c := 0; c < n && i < len(s); c++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	if i == len(s) {
		return s, 0
	}
	return s[:i], utf8.RuneCountInString(s[i:])
}

// CutBytes returns the longest prefix of s of at most n bytes that does not
// end inside a UTF-8 sequence.
func CutBytes(s string, n int) string {
	n = max(n, 0)
	if len(s) <= n {
		return s
	}
	i := n
	// Back off over continuation bytes to the start of the sequence that
	// straddles the cut, then keep it only if it ends at or before n.
	for i > 0 && !utf8.RuneStart(s[i]) && n-i < utf8.UTFMax {
		i--
	}
	return s[:i]
}
