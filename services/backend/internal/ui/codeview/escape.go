package codeview

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Displayable is the text a code view shows for s: s with every invalid
// UTF-8 sequence and every NUL replaced by U+FFFD, the two things an HTML
// document cannot carry. Everything else, CR and other control characters
// included, is shown and copied as it is.
func Displayable(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// special reports whether r is shown with a visible label (class code-ctl):
// control characters other than tab and newline, the bidirectional
// formatting characters that can make code read differently from how it
// runs ("Trojan Source", CVE-2021-42574), the line and paragraph separators
// and the byte-order mark.
func special(r rune) bool {
	switch {
	case r == '\t' || r == '\n':
		return false
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
		return true
	case r == 0x061c || r == 0x200e || r == 0x200f,
		r >= 0x202a && r <= 0x202e,
		r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x2028 || r == 0x2029 || r == 0xfeff:
		return true
	}
	return false
}

// writeSpecial writes r inside <bdi class="code-ctl" data-cp="U+XXXX">. The
// bdi element isolates a bidirectional control from the rest of the line
// even without CSS; code.css shows the data-cp label as generated content,
// which is neither copied nor part of the text. C0 controls and DEL are
// written as numeric character references (a raw CR would become LF when
// parsed); C1 controls stay raw, because HTML maps the references
// &#128;–&#159; to other characters.
func writeSpecial(b *strings.Builder, r rune) {
	fmt.Fprintf(b, `<bdi class="code-ctl" data-cp="U+%04X">`, r)
	if r < 0x20 || r == 0x7f {
		b.WriteString("&#")
		b.WriteString(strconv.Itoa(int(r)))
		b.WriteByte(';')
	} else {
		b.WriteRune(r)
	}
	b.WriteString("</bdi>")
}

// writeText writes Displayable text as HTML: the five HTML metacharacters
// escaped, special runes labelled, everything else as it is.
func writeText(b *strings.Builder, s string) {
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&#34;")
		case '\'':
			b.WriteString("&#39;")
		default:
			if special(r) {
				writeSpecial(b, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
}

// escapeText returns s (made Displayable) as HTML text.
func escapeText(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	writeText(&b, Displayable(s))
	return b.String()
}
