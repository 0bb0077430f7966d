package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"gopkg.in/yaml.v3"
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

// exceptionsDoc is the exceptions file.
type exceptionsDoc struct {
	Exceptions *[]exceptionEntry `yaml:"exceptions"`
}

// exceptionEntry is one entry as written.
type exceptionEntry struct {
	ID      string `yaml:"id"`
	Module  string `yaml:"module"`
	Reason  string `yaml:"reason"`
	Expires string `yaml:"expires"`
}

// ParseExceptions reads the exceptions file, strictly: an unknown or
// repeated field, a value of the wrong kind or a bad date fails, naming the
// line.
//
//	exceptions:            # or `exceptions: []`
//	  - id: GO-2021-0113
//	    module: golang.org/x/text
//	    reason: "not reachable with untrusted input: ..."
//	    expires: 2027-01-31
func ParseExceptions(name string, r io.Reader) ([]Exception, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	var doc exceptionsDoc
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if doc.Exceptions == nil {
		return nil, fmt.Errorf("%s: no `exceptions:` key (write `exceptions: []` for none)", name)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	lines := entryLines(&root)
	out := make([]Exception, 0, len(*doc.Exceptions))
	for i, e := range *doc.Exceptions {
		x := Exception{ID: e.ID, Module: e.Module, Reason: e.Reason}
		if i < len(lines) {
			x.Line = lines[i]
		}
		if x.Expires, err = time.Parse(time.DateOnly, e.Expires); err != nil {
			return nil, fmt.Errorf("%s:%d: field expires: %q is not a date (want YYYY-MM-DD)", name, x.Line, e.Expires)
		}
		out = append(out, x)
	}
	return out, nil
}

// entryLines returns the line of each entry of the exceptions sequence.
func entryLines(root *yaml.Node) []int {
	if len(root.Content) == 0 {
		return nil
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "exceptions" {
			var lines []int
			for _, item := range m.Content[i+1].Content {
				lines = append(lines, item.Line)
			}
			return lines
		}
	}
	return nil
}
