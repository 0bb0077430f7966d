package migrationlint

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokenKind classifies a token of the SQL lexer.
type tokenKind int

const (
	tokWord   tokenKind = iota // keyword or unquoted identifier; text is upper-cased, raw keeps the source
	tokIdent                   // "quoted identifier"; text is the identifier without quotes
	tokString                  // string or dollar-quoted literal; text is the contents
	tokNumber                  // numeric literal
	tokParam                   // $1
	tokPunct                   // any other single character
)

type token struct {
	kind tokenKind
	text string // upper-cased for words
	raw  string // as written (words) or the contents (identifiers, strings)
	line int
}

// statement is one ';'-terminated SQL statement of a section.
type statement struct {
	line   int // line of its first token
	tokens []token
}

// word reports whether the i-th token is the keyword kw (upper case).
func (s statement) word(i int, kw string) bool {
	return i >= 0 && i < len(s.tokens) && s.tokens[i].kind == tokWord && s.tokens[i].text == kw
}

// indexOf returns the index of the first keyword kw at or after from, or -1.
func (s statement) indexOf(from int, kw string) int {
	for i := max(from, 0); i < len(s.tokens); i++ {
		if s.word(i, kw) {
			return i
		}
	}
	return -1
}

// lexer splits SQL text into statements. It understands what PostgreSQL needs
// to find statement boundaries: -- and nested /* */ comments, '…' and E'…'
// strings, "…" identifiers and $tag$…$tag$ bodies. It never fails: an
// unterminated construct runs to the end of the input.
type lexer struct {
	src  string
	pos  int
	line int
}

// splitStatements lexes src, whose first line is firstLine, into statements.
func splitStatements(src string, firstLine int) []statement {
	lx := lexer{src: src, line: firstLine}
	var (
		out []statement
		cur statement
	)
	for {
		tok, ok := lx.next()
		if !ok {
			break
		}
		if tok.kind == tokPunct && tok.text == ";" {
			if len(cur.tokens) > 0 {
				out = append(out, cur)
			}
			cur = statement{}
			continue
		}
		if len(cur.tokens) == 0 {
			cur.line = tok.line
		}
		cur.tokens = append(cur.tokens, tok)
	}
	if len(cur.tokens) > 0 {
		out = append(out, cur)
	}
	return out
}

func (lx *lexer) peek(off int) byte {
	if lx.pos+off < len(lx.src) {
		return lx.src[lx.pos+off]
	}
	return 0
}

// advance moves over n bytes, counting newlines.
func (lx *lexer) advance(n int) {
	end := min(lx.pos+n, len(lx.src))
	lx.line += strings.Count(lx.src[lx.pos:end], "\n")
	lx.pos = end
}

// next returns the next token, skipping whitespace and comments.
func (lx *lexer) next() (token, bool) {
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		switch {
		case c == '\n' || c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			lx.advance(1)
		case c == '-' && lx.peek(1) == '-':
			end := strings.IndexByte(lx.src[lx.pos:], '\n')
			if end < 0 {
				end = len(lx.src) - lx.pos
			}
			lx.advance(end)
		case c == '/' && lx.peek(1) == '*':
			lx.blockComment()
		default:
			return lx.token(), true
		}
	}
	return token{}, false
}

func (lx *lexer) blockComment() {
	depth := 0
	for lx.pos < len(lx.src) {
		switch {
		case lx.peek(0) == '/' && lx.peek(1) == '*':
			depth++
			lx.advance(2)
		case lx.peek(0) == '*' && lx.peek(1) == '/':
			depth--
			lx.advance(2)
			if depth == 0 {
				return
			}
		default:
			lx.advance(1)
		}
	}
}

func (lx *lexer) token() token {
	line := lx.line
	c := lx.src[lx.pos]
	switch {
	case c == '\'':
		return token{kind: tokString, text: lx.quoted('\'', false), line: line}
	case (c == 'E' || c == 'e') && lx.peek(1) == '\'':
		lx.advance(1)
		return token{kind: tokString, text: lx.quoted('\'', true), line: line}
	case c == '"':
		s := lx.quoted('"', false)
		return token{kind: tokIdent, text: s, raw: s, line: line}
	case c == '$':
		if tag, ok := lx.dollarTag(); ok {
			return token{kind: tokString, text: lx.dollarBody(tag), line: line}
		}
		start := lx.pos
		lx.advance(1)
		for lx.pos < len(lx.src) && isDigit(lx.src[lx.pos]) {
			lx.advance(1)
		}
		return token{kind: tokParam, text: lx.src[start:lx.pos], line: line}
	case isDigit(c) || (c == '.' && isDigit(lx.peek(1))):
		start := lx.pos
		for lx.pos < len(lx.src) && (isDigit(lx.src[lx.pos]) || lx.src[lx.pos] == '.' || isLetter(lx.src[lx.pos])) {
			lx.advance(1)
		}
		return token{kind: tokNumber, text: lx.src[start:lx.pos], line: line}
	case isIdentStart(lx.src[lx.pos:]):
		start := lx.pos
		for lx.pos < len(lx.src) && isIdentPart(lx.src[lx.pos:]) {
			_, size := utf8.DecodeRuneInString(lx.src[lx.pos:])
			lx.advance(size)
		}
		raw := lx.src[start:lx.pos]
		return token{kind: tokWord, text: strings.ToUpper(raw), raw: raw, line: line}
	default:
		_, size := utf8.DecodeRuneInString(lx.src[lx.pos:])
		text := lx.src[lx.pos : lx.pos+size]
		lx.advance(size)
		return token{kind: tokPunct, text: text, raw: text, line: line}
	}
}

// quoted reads a literal delimited by q, where a doubled q is an escaped q
// and, for E” strings, a backslash escapes the next byte.
func (lx *lexer) quoted(q byte, backslash bool) string {
	lx.advance(1)
	var b strings.Builder
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		switch {
		case backslash && c == '\\' && lx.pos+1 < len(lx.src):
			b.WriteByte(lx.src[lx.pos+1])
			lx.advance(2)
		case c == q && lx.peek(1) == q:
			b.WriteByte(q)
			lx.advance(2)
		case c == q:
			lx.advance(1)
			return b.String()
		default:
			b.WriteByte(c)
			lx.advance(1)
		}
	}
	return b.String()
}

// dollarTag recognises $tag$ or $$ at the current position.
func (lx *lexer) dollarTag() (string, bool) {
	rest := lx.src[lx.pos+1:]
	if rest != "" && isDigit(rest[0]) {
		return "", false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if c == '$' {
			return lx.src[lx.pos : lx.pos+i+2], true
		}
		if c != '_' && !isLetter(c) && !isDigit(c) {
			return "", false
		}
	}
	return "", false
}

func (lx *lexer) dollarBody(tag string) string {
	lx.advance(len(tag))
	end := strings.Index(lx.src[lx.pos:], tag)
	if end < 0 {
		body := lx.src[lx.pos:]
		lx.advance(len(body))
		return body
	}
	body := lx.src[lx.pos : lx.pos+end]
	lx.advance(end + len(tag))
	return body
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func isIdentStart(s string) bool {
	if s[0] < utf8.RuneSelf {
		return isLetter(s[0]) || s[0] == '_'
	}
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsLetter(r)
}

func isIdentPart(s string) bool {
	if s[0] < utf8.RuneSelf {
		return isLetter(s[0]) || isDigit(s[0]) || s[0] == '_' || s[0] == '$'
	}
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}
