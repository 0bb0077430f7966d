package tools

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
)

// judge maps the analyze answer as backend.md §11.1 says.
func TestJudge(t *testing.T) {
	t.Parallel()
	ok := func() proto.AnalyzeResponse {
		return proto.AnalyzeResponse{
			OK: true, Description: "Does it.", InputSchema: json.RawMessage("null"),
			Imports: []proto.Import{
				{Path: "strings", Tier: proto.TierDefault},
				{Path: "encoding/xml", Tier: proto.TierOptIn},
				{Path: "encoding/xml", Tier: proto.TierOptIn},
			}, AnalyzerVersion: "v1",
		}
	}
	d, err := judge(ok())
	if err != nil || string(d.inputSchema) != defaultInputSchema || d.outputSchema != nil ||
		fmt.Sprint(d.packages) != "[encoding/xml]" || d.secrets == nil || d.analyzerVersion != "v1" {
		t.Fatalf("clean answer: %+v, %v", d, err)
	}
	forbidden := ok()
	forbidden.Imports = append(forbidden.Imports, proto.Import{Path: "os/exec", Tier: proto.TierNever}, proto.Import{Path: "x/y"})
	forbidden.Diagnostics = []proto.Diagnostic{{Severity: proto.SeverityError, Type: proto.ErrTypeImportError, Line: 1}}
	var pf *PackageForbiddenError
	if _, err := judge(forbidden); !errors.As(err, &pf) || fmt.Sprint(pf.Paths) != "[os/exec x/y]" {
		t.Fatalf("forbidden: %v", err)
	}
	invalid := ok()
	invalid.Diagnostics = []proto.Diagnostic{
		{Severity: proto.SeverityWarning, Message: "unused", Line: 1, Column: 1},
		{Severity: proto.SeverityError, Message: "bad", Line: 4, Column: 2},
	}
	var ci *CodeInvalidError
	if _, err := judge(invalid); !errors.As(err, &ci) || len(ci.Diagnostics) != 1 || err.Error() != "code: line 4:2: bad" {
		t.Fatalf("invalid: %v", err)
	}
	warned := ok()
	warned.Diagnostics = invalid.Diagnostics[:1]
	if _, err := judge(warned); err != nil {
		t.Fatalf("a warning refused the save: %v", err)
	}
	nodoc := ok()
	nodoc.Description = ""
	var re *proto.RuleError
	if _, err := judge(nodoc); !errors.As(err, &re) || re.Field != "code" {
		t.Fatalf("no description: %v", err)
	}
}

func TestSplitHost(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"api.example.com": "api.example.com|", "api.example.com:443": "api.example.com|443",
		"[::1]": "[::1]|", "[2001:db8::1]:8443": "[2001:db8::1]|8443",
	} {
		if h, p := proto.SplitNormalizedHost(in); h+"|"+p != want {
			t.Errorf("proto.SplitNormalizedHost(%q) = %q, %q", in, h, p)
		}
	}
}
