package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// Config is govulncheck's "config" message: which scanner and database
// produced the findings.
type Config struct {
	ScannerVersion string `json:"scanner_version"`
	DB             string `json:"db"`
	DBLastModified string `json:"db_last_modified"`
	GoVersion      string `json:"go_version"`
	ScanLevel      string `json:"scan_level"`
}

// Frame is one entry of a finding's trace; trace[0] is the vulnerable
// symbol, the last entry the caller in the scanned code.
type Frame struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Package  string `json:"package"`
	Function string `json:"function"`
	Receiver string `json:"receiver"`
}

// Finding is one govulncheck "finding" message, reduced to what the gate
// reads.
type Finding struct {
	OSV          string  `json:"osv"`
	FixedVersion string  `json:"fixed_version"`
	Trace        []Frame `json:"trace"`
}

// Module is the vulnerable module ("stdlib" for the standard library).
func (f Finding) Module() string {
	if len(f.Trace) == 0 {
		return ""
	}
	return f.Trace[0].Module
}

// Reachable reports whether the finding is symbol-level: its trace reaches a
// vulnerable function, so the scanned code calls it. Module- and
// package-level findings (the vulnerable code is only required or imported)
// are reported but never fail the gate, as govulncheck's own exit code does.
func (f Finding) Reachable() bool {
	return len(f.Trace) > 0 && f.Trace[0].Function != ""
}

// Symbol is the vulnerable function, e.g. "golang.org/x/text/language.Parse".
func (f Finding) Symbol() string {
	if !f.Reachable() {
		return ""
	}
	fr := f.Trace[0]
	if fr.Receiver != "" {
		return fr.Package + "." + strings.TrimPrefix(fr.Receiver, "*") + "." + fr.Function
	}
	return fr.Package + "." + fr.Function
}

// Entry is the scanned code's frame that leads to the vulnerable symbol.
func (f Finding) Entry() string {
	if len(f.Trace) < 2 {
		return ""
	}
	fr := f.Trace[len(f.Trace)-1]
	return fr.Package + "." + fr.Function
}

// message is one JSON value of govulncheck's -format json stream.
type message struct {
	Config  *Config  `json:"config"`
	Finding *Finding `json:"finding"`
}

// Output is a decoded govulncheck -format json stream.
type Output struct {
	Config   Config
	Findings []Finding
}

// Decode reads govulncheck's -format json stream (a sequence of JSON
// objects, not an array). Messages other than config and finding (progress,
// osv, SBOM) are skipped.
func Decode(r io.Reader) (Output, error) {
	var out Output
	dec := json.NewDecoder(r)
	sawConfig := false
	for {
		var m message
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Output{}, fmt.Errorf("decode govulncheck output: %w", err)
		}
		if m.Config != nil {
			out.Config, sawConfig = *m.Config, true
		}
		if m.Finding != nil {
			out.Findings = append(out.Findings, *m.Finding)
		}
	}
	if !sawConfig {
		return Output{}, errors.New("decode govulncheck output: no config message; is this govulncheck -format json output?")
	}
	return out, nil
}

// Scan runs `govulncheck -db file://<db> -format json <patterns>` in dir with
// env and decodes its output.
func Scan(ctx context.Context, bin, db, dir string, env, patterns []string) (Output, error) {
	args := append([]string{"-db", "file://" + db, "-format", "json"}, patterns...)
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return Output{}, fmt.Errorf("(cd %s && %s %s): %w: %s", dir, bin, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return Decode(&stdout)
}
