package gotest

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Allowlist names the skips that may happen under CI=true
// (tools/testrun/allowed-skips.txt). Each line is
//
//	<import path> <test name>    # why the skip is expected
//
// where the test name is the full name go test prints, subtests included
// ("TestX/case"). Blank lines and lines starting with # are ignored.
type Allowlist struct {
	entries map[string]bool
}

// ParseAllowlist reads an allowlist. A line with fewer or more than two
// fields before its comment is an error naming the line.
func ParseAllowlist(r io.Reader) (Allowlist, error) {
	a := Allowlist{entries: map[string]bool{}}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		switch len(fields) {
		case 0:
			continue
		case 2:
			a.entries[fields[0]+" "+fields[1]] = true
		default:
			return Allowlist{}, fmt.Errorf("allowlist line %d: want \"<import path> <test name>  # reason\", got %q", n, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		return Allowlist{}, fmt.Errorf("read allowlist: %w", err)
	}
	return a, nil
}

// Allows reports whether a skip of test in package pkg is expected.
func (a Allowlist) Allows(pkg, test string) bool {
	return a.entries[pkg+" "+test]
}

// Len is the number of entries.
func (a Allowlist) Len() int { return len(a.entries) }
