package transfer_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
	"github.com/mcpbox/mcpbox/services/backend/internal/transfer"
)

const (
	key1         = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	key2         = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	sandboxToken = "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d"
)

var who = transfer.Audit{Actor: "admin:alice", RequestID: "req-1"}

// installation is a database with the services of an import or export and
// a fake sandbox that analyses every code cleanly.
type installation struct {
	url      string
	store    *db.Store
	tools    *tools.Service
	transfer *transfer.Service
	analyses *atomic.Int64
}

// newInstallation starts an installation with the given keyring.
func newInstallation(t *testing.T, keys *seal.Keyring) installation {
	t.Helper()
	url := dbtest.URL(t)
	store, err := db.Open(t.Context(), url, db.WithMaxConns(4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	n := &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req proto.AnalyzeRequest
		if r.URL.Path != proto.PathSandboxAnalyze || r.Header.Get(proto.HeaderServiceToken) != sandboxToken ||
			json.NewDecoder(r.Body).Decode(&req) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(proto.AnalyzeResponse{
			OK: true, CodeSHA256: "sha256:" + strings.Repeat("0", 64), AnalyzerVersion: "test-1",
			Description: "Says hello.", InputSchema: json.RawMessage(`{"type":"object"}`), OutputSchema: json.RawMessage("null"),
			Imports: []proto.Import{}, Secrets: []string{}, Diagnostics: []proto.Diagnostic{},
		})
	}))
	t.Cleanup(srv.Close)
	sandbox, err := sandboxclient.New(srv.URL, sandboxToken, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ts := tools.New(store, sandbox)
	return installation{
		url: url, store: store, tools: ts, analyses: n,
		transfer: transfer.New(transfer.Deps{Store: store, Keys: keys, Tools: ts, Version: "test"}),
	}
}

func keyring(t *testing.T, id int, key, old string) *seal.Keyring {
	t.Helper()
	k, err := seal.New(id, key, old)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (in installation) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	dbtest.QueryRow(t, in.url, query, []any{&n}, args...)
	return n
}

// seed creates servers with tools tools each through the tools service,
// every tool with its own code.
func (in installation) seed(t *testing.T, servers, tools int) {
	t.Helper()
	for s := range servers {
		var sid uuid.UUID
		dbtest.QueryRow(t, in.url, "INSERT INTO servers (name) VALUES ($1) RETURNING id", []any{&sid}, fmt.Sprintf("server%d", s))
		for i := range tools {
			code := fmt.Sprintf("package tool\n\n// Main is tool %d of server %d.\nfunc Main() int { return %d }\n", i, s, i)
			if _, err := in.tools.Create(t.Context(), toolsAudit(), sid, toolsInput(fmt.Sprintf("tool%d", i), code)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func toolsAudit() tools.Audit { return tools.Audit{Actor: "admin:alice", RequestID: "seed"} }

func toolsInput(name, code string) tools.CreateInput {
	return tools.CreateInput{Name: name, Code: code, Hosts: []string{"api.example.com"}}
}

func (in installation) export(t *testing.T) []byte {
	t.Helper()
	out, err := in.transfer.Export(t.Context(), who, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out.Body
}

// An import of 30 tools reports progress from 0 of 30 to 30 of 30, never
// going back, and analyses each tool once.
func TestImportReportsProgressPerTool(t *testing.T) {
	t.Parallel()
	keys := keyring(t, 1, key1, "")
	src, dst := newInstallation(t, keys), newInstallation(t, keys)
	src.seed(t, 2, 15)
	doc := src.export(t)
	var mu sync.Mutex
	var calls [][2]int
	res, err := dst.transfer.Import(t.Context(), who, doc, transfer.Options{}, func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, [2]int{done, total})
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.ServersCreated != 2 || res.ToolsCreated != 30 || len(res.Errors) != 0 {
		t.Fatalf("result: %+v", res)
	}
	if len(calls) < 2 || calls[0] != [2]int{0, 30} || calls[len(calls)-1] != [2]int{30, 30} {
		t.Fatalf("progress calls %v: want 0 of 30 first and 30 of 30 last", calls)
	}
	for i, c := range calls {
		if c[1] != 30 || (i > 0 && c[0] < calls[i-1][0]) {
			t.Fatalf("progress call %d is %v of %v: totals must be 30 and done must not decrease", i, c, calls)
		}
	}
	if dst.analyses.Load() != 30 {
		t.Fatalf("the sandbox analysed %d codes, want each of the 30 once", dst.analyses.Load())
	}
	if n := dst.count(t, "SELECT count(*) FROM tool_versions WHERE change_source = 'import' AND created_by = 'import:alice'"); n != 30 {
		t.Fatalf("%d imported versions, want 30", n)
	}
}

// A document signed before a key rotation imports while the old key is in
// MCPBOX_ENCRYPTION_OLD_KEYS (with a warning naming it) and is refused
// once the old key is gone.
func TestOldKeySignatureVerifiesAfterRotation(t *testing.T) {
	t.Parallel()
	src := newInstallation(t, keyring(t, 1, key1, ""))
	src.seed(t, 1, 2)
	doc := src.export(t)

	rotated := newInstallation(t, keyring(t, 2, key2, "1:"+key1))
	res, err := rotated.transfer.Import(t.Context(), who, doc, transfer.Options{}, nil)
	if err != nil {
		t.Fatalf("import signed with the old key: %v", err)
	}
	if res.ServersCreated != 1 || !slices.ContainsFunc(res.Warnings, func(p transfer.Problem) bool {
		return p.Field == "signature" && strings.Contains(p.Message, "old encryption key id 1")
	}) {
		t.Fatalf("result %+v: want the server and a warning about key id 1", res)
	}

	forgotten := newInstallation(t, keyring(t, 2, key2, ""))
	_, err = forgotten.transfer.Import(t.Context(), who, doc, transfer.Options{}, nil)
	var sig *transfer.SignatureError
	if !errors.As(err, &sig) || sig.Missing {
		t.Fatalf("without the old key: %v, want signature_invalid", err)
	}
	if n := forgotten.count(t, "SELECT count(*) FROM servers"); n != 0 || forgotten.analyses.Load() != 0 {
		t.Fatalf("a refused import wrote %d servers and made %d analyses", n, forgotten.analyses.Load())
	}
}

// Export of one server, and of an unknown one.
func TestExportOfOneServer(t *testing.T) {
	t.Parallel()
	src := newInstallation(t, keyring(t, 1, key1, ""))
	src.seed(t, 2, 1)
	var id uuid.UUID
	dbtest.QueryRow(t, src.url, "SELECT id FROM servers WHERE name = 'server1'", []any{&id})
	out, err := src.transfer.Export(t.Context(), who, &id)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Document.Servers) != 1 || out.Document.Servers[0].Name != "server1" || len(out.Document.Servers[0].Tools) != 1 {
		t.Fatalf("document: %+v", out.Document.Servers)
	}
	if n := src.count(t, "SELECT count(*) FROM activity_log WHERE action = 'export.download' AND server_id = $1", id); n != 1 {
		t.Fatalf("%d export.download rows for the server, want 1", n)
	}
	missing := uuid.New()
	if _, err := src.transfer.Export(t.Context(), who, &missing); !errors.Is(err, transfer.ErrServerNotFound) {
		t.Fatalf("unknown server: %v", err)
	}
}
