package proto_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
)

// fixtureTypes maps a fixture's file name, without ".json", to the wire type
// it holds. Every file under testdata/<release>/ must be listed; a new wire
// type gets a fixture in the current release directory.
func fixtureTypes() map[string]func() any {
	return map[string]func() any{
		"catalog":                 func() any { return new(proto.Catalog) },
		"policy":                  func() any { return new(proto.Policy) },
		"event_hello":             func() any { return new(proto.HelloData) },
		"event_catalog_changed":   func() any { return new(proto.RevisionData) },
		"event_policy_changed":    func() any { return new(proto.RevisionData) },
		"event_secrets_changed":   func() any { return new(proto.SecretsChangedData) },
		"plan_go":                 func() any { return new(proto.Plan) },
		"plan_external":           func() any { return new(proto.Plan) },
		"manage_request":          func() any { return new(proto.ManageRequest) },
		"manage_response_ok":      func() any { return new(proto.ManageResponse) },
		"manage_response_error":   func() any { return new(proto.ManageResponse) },
		"error_body":              func() any { return new(proto.ErrorBody) },
		"execution_batch":         func() any { return new(proto.ExecutionBatch) },
		"execution_batch_result":  func() any { return new(proto.ExecutionBatchResult) },
		"execute_request":         func() any { return new(proto.ExecuteRequest) },
		"execute_response_ok":     func() any { return new(proto.ExecuteResponse) },
		"execute_response_error":  func() any { return new(proto.ExecuteResponse) },
		"analyze_request":         func() any { return new(proto.AnalyzeRequest) },
		"analyze_response":        func() any { return new(proto.AnalyzeResponse) },
		"packages":                func() any { return new(proto.PackageCatalogue) },
		"discover_request":        func() any { return new(proto.DiscoverRequest) },
		"discover_response":       func() any { return new(proto.DiscoverResponse) },
		"discover_response_error": func() any { return new(proto.DiscoverResponse) },
		"mcp_call_request":        func() any { return new(proto.MCPCallRequest) },
		"mcp_call_response":       func() any { return new(proto.MCPCallResponse) },
		"mcp_call_response_error": func() any { return new(proto.MCPCallResponse) },
		"fetch_request":           func() any { return new(proto.FetchRequest) },
		"fetch_response":          func() any { return new(proto.FetchResponse) },
		"fetch_response_error":    func() any { return new(proto.FetchResponse) },
		"sandbox_readiness":       func() any { return new(proto.SandboxReadiness) },
	}
}

var releaseRe = regexp.MustCompile(`^v(\d+)\.(\d+)\.(\d+)$`)

// TestOPS39_FixturesDecode: every proto/testdata/<release>/ fixture decodes
// strictly (unknown fields and trailing data refused) into its type, so a
// release keeps reading what the previous one sends (operations.md §6.3).
// Fixtures of the newest release must also re-encode to the same canonical
// JSON: no field is lost or renamed. Older releases are only decoded, since
// a later release may add fields.
func TestOPS39_FixturesDecode(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var releases []string
	for _, e := range entries {
		if e.IsDir() && releaseRe.MatchString(e.Name()) {
			releases = append(releases, e.Name())
		}
	}
	if len(releases) == 0 {
		t.Fatal("no testdata/<release>/ directory")
	}
	slices.SortFunc(releases, compareReleases)
	newest := releases[len(releases)-1]
	types := fixtureTypes()
	for _, release := range releases {
		files, err := filepath.Glob(filepath.Join("testdata", release, "*"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Errorf("testdata/%s holds no fixture", release)
		}
		for _, file := range files {
			name := strings.TrimSuffix(filepath.Base(file), ".json")
			newT, ok := types[name]
			if !ok || !strings.HasSuffix(file, ".json") {
				t.Errorf("%s: no wire type registered in fixtureTypes", file)
				continue
			}
			t.Run(release+"/"+name, func(t *testing.T) {
				t.Parallel()
				raw, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				v := newT()
				if err := decodeStrict(raw, v); err != nil {
					t.Fatalf("decode %s into %T: %v", file, v, err)
				}
				if release != newest {
					return
				}
				again, err := json.Marshal(v)
				if err != nil {
					t.Fatalf("re-encode %T: %v", v, err)
				}
				want, err := canon.Marshal(json.RawMessage(raw))
				if err != nil {
					t.Fatalf("canonicalise %s: %v", file, err)
				}
				got, err := canon.Marshal(json.RawMessage(again))
				if err != nil {
					t.Fatalf("canonicalise re-encoded %T: %v", v, err)
				}
				if !bytes.Equal(want, got) {
					t.Errorf("%s does not re-encode equivalently:\nfixture    %s\nre-encoded %s", file, want, got)
				}
			})
		}
	}
	// Every registered type has a fixture in the newest release.
	for name := range types {
		if _, err := os.Stat(filepath.Join("testdata", newest, name+".json")); err != nil {
			t.Errorf("fixture %s.json is missing from testdata/%s", name, newest)
		}
	}
}

// decodeStrict decodes one JSON value, refusing unknown fields and trailing
// data, as the receiving services do.
func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// compareReleases orders "vX.Y.Z" names numerically.
func compareReleases(a, b string) int {
	ma, mb := releaseRe.FindStringSubmatch(a), releaseRe.FindStringSubmatch(b)
	for i := 1; i <= 3; i++ {
		x, _ := strconv.Atoi(ma[i])
		y, _ := strconv.Atoi(mb[i])
		if x != y {
			return x - y
		}
	}
	return 0
}

// TestFixturesDecodeStrictly shows the decoder refuses what it must.
func TestFixturesDecodeStrictly(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`{"revision":1,"unknown":true}`, `{"revision":1} {}`, `{"revision":"1"}`} {
		if err := decodeStrict([]byte(body), new(proto.RevisionData)); err == nil {
			t.Errorf("decodeStrict(%s) succeeded", body)
		}
	}
}
