package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ExceptionsFile is the committed list of accepted findings, relative to the
// repository root (operations.md §7).
const ExceptionsFile = "deploy/security/vuln-exceptions.yaml"

// Exception accepts one advisory in one module until a date.
type Exception struct {
	// ID is the OSV id, e.g. GO-2021-0113.
	ID string
	// Module is the vulnerable module ("stdlib" for the standard library).
	Module string
	// Reason says why the finding is acceptable; it is required.
	Reason string
	// Expires is the last day the exception holds (UTC).
	Expires time.Time
	// Line is the line of the entry's "- " in the file.
	Line int
}

// ParseExceptions reads the exceptions file. It accepts the YAML subset the
// file uses, and nothing else, so that a typo fails instead of being
// ignored:
//
//	exceptions:            # or `exceptions: []`
//	  - id: GO-2021-0113
//	    module: golang.org/x/text
//	    reason: "not reachable with untrusted input: ..."
//	    expires: 2027-01-31
//
// Values are plain scalars or double-quoted strings; comments start with #.
// (tools/go.mod has gopkg.in/yaml.v3 only as an indirect requirement, and
// this subset keeps the gate free of a go.mod change.)
func ParseExceptions(name string, r io.Reader) ([]Exception, error) {
	var out []Exception
	var cur *Exception
	seen := map[string]bool{}
	header, empty := false, false
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, err := stripComment(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		switch {
		case !header:
			switch strings.TrimSpace(line) {
			case "exceptions:":
			case "exceptions: []":
				empty = true
			default:
				return nil, fmt.Errorf("%s:%d: want the top-level key `exceptions:`, got %q", name, n, line)
			}
			header = true
			continue
		case empty:
			return nil, fmt.Errorf("%s:%d: nothing may follow `exceptions: []`", name, n)
		}
		body := strings.TrimLeft(line, " ")
		if strings.HasPrefix(body, "- ") {
			out = append(out, Exception{Line: n})
			cur = &out[len(out)-1]
			seen = map[string]bool{}
			body = strings.TrimLeft(body[2:], " ")
		} else if cur == nil || len(line)-len(body) < 2 {
			return nil, fmt.Errorf("%s:%d: want a list entry `- id: ...` under exceptions, got %q", name, n, line)
		}
		key, value, ok := strings.Cut(body, ":")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want `key: value`, got %q", name, n, body)
		}
		if seen[key] {
			return nil, fmt.Errorf("%s:%d: field %s given twice in one exception", name, n, key)
		}
		seen[key] = true
		v, err := scalar(strings.TrimSpace(value))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: field %s: %w", name, n, key, err)
		}
		if err := cur.set(key, v); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if !header {
		return nil, fmt.Errorf("%s: no `exceptions:` key (write `exceptions: []` for none)", name)
	}
	return out, nil
}

func (e *Exception) set(key, v string) error {
	switch key {
	case "id":
		e.ID = v
	case "module":
		e.Module = v
	case "reason":
		e.Reason = v
	case "expires":
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return fmt.Errorf("field expires: %q is not a date (want YYYY-MM-DD)", v)
		}
		e.Expires = t
	default:
		return fmt.Errorf("unknown field %q (want id, module, reason, expires)", key)
	}
	return nil
}

// stripComment drops a # comment that is not inside a double-quoted string.
func stripComment(line string) (string, error) {
	inQuote := false
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case c == '#' && !inQuote && (i == 0 || line[i-1] == ' '):
			return line[:i], nil
		case c == '\t':
			return "", fmt.Errorf("tab character: indent with spaces")
		}
	}
	return line, nil
}

// scalar decodes a plain or double-quoted scalar.
func scalar(v string) (string, error) {
	switch {
	case strings.HasPrefix(v, `"`):
		s, err := strconv.Unquote(v)
		if err != nil {
			return "", fmt.Errorf("bad double-quoted string %s", v)
		}
		return s, nil
	case strings.HasPrefix(v, "'"), strings.HasPrefix(v, "|"), strings.HasPrefix(v, ">"),
		strings.HasPrefix(v, "["), strings.HasPrefix(v, "{"), strings.HasPrefix(v, "&"), strings.HasPrefix(v, "*"):
		return "", fmt.Errorf("%q: only plain or double-quoted one-line values are supported", v)
	}
	return v, nil
}
