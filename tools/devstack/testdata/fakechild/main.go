// Command fakechild stands in for a service binary in devstack's tests. The name it runs under
// (backend, sandbox, gateway, edge) says which service it plays; it serves /healthz and /readyz on that
// service's listen addresses and appends what it does to the file FAKE_EVENTS, one line per event:
// "<role> <event> <pid> [detail]".
//
//	FAKE_MIGRATE_FAIL=1      `backend migrate` fails
//	FAKE_MIGRATE_DB=1        `backend migrate` inserts a row into MCPBOX_DATABASE_URL and prints the count
//	FAKE_DIE=<role>:<delay>  that role exits 3 after the delay
//	FAKE_IGNORE_TERM=<role>  that role ignores SIGTERM
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

func main() {
	role, _, _ := strings.Cut(filepath.Base(os.Args[0]), "-") // sandbox-e2e plays the sandbox
	if role == "backend" && len(os.Args) > 1 && os.Args[1] == "migrate" {
		os.Exit(migrate())
	}
	var names []string
	switch role {
	case "sandbox":
		names = []string{"MCPBOX_SANDBOX_LISTEN"}
	case "backend":
		names = []string{"MCPBOX_BACKEND_LISTEN", "MCPBOX_BACKEND_INTERNAL_LISTEN"}
	case "gateway":
		names = []string{"MCPBOX_GATEWAY_LOCAL_LISTEN", "MCPBOX_GATEWAY_REMOTE_LISTEN"}
	case "edge":
		names = []string{"MCPBOX_EDGE_LISTEN", "MCPBOX_EDGE_ADMIN_LISTEN"}
	default:
		fmt.Fprintln(os.Stderr, "fakechild: unknown role", role)
		os.Exit(2)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	if os.Getenv("FAKE_IGNORE_TERM") == role {
		signal.Ignore(syscall.SIGTERM)
	}
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) }
	mux.HandleFunc("GET /healthz", ok)
	mux.HandleFunc("GET /readyz", ok)
	for _, n := range names {
		ln, err := net.Listen("tcp", os.Getenv(n))
		if err != nil {
			fmt.Fprintln(os.Stderr, "fakechild:", err)
			os.Exit(1)
		}
		go func() { _ = http.Serve(ln, mux) }() //nolint:gosec // test double on loopback
	}
	record(role, "start", envNames())
	fmt.Printf("%s listening (%s)\n", role, filepath.Base(os.Args[0]))
	if die, ok := strings.CutPrefix(os.Getenv("FAKE_DIE"), role+":"); ok {
		d, _ := time.ParseDuration(die)
		go func() {
			time.Sleep(d)
			fmt.Println("dying on purpose")
			record(role, "died", "")
			os.Exit(3)
		}()
	}
	<-sigs
	record(role, "stop", "")
	fmt.Printf("%s stopped\n", role)
}

func migrate() int {
	record("backend", "migrate", envNames())
	if os.Getenv("FAKE_MIGRATE_FAIL") != "" {
		fmt.Println("migration 00001 failed: boom")
		return 1
	}
	if os.Getenv("FAKE_MIGRATE_DB") != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, os.Getenv("MCPBOX_DATABASE_URL"))
		if err != nil {
			fmt.Println("connect:", err)
			return 1
		}
		defer func() { _ = conn.Close(ctx) }()
		var n int
		for _, q := range []string{"CREATE TABLE IF NOT EXISTS devstack_marker (id serial PRIMARY KEY)", "INSERT INTO devstack_marker DEFAULT VALUES"} {
			if _, err := conn.Exec(ctx, q); err != nil {
				fmt.Println("exec:", err)
				return 1
			}
		}
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM devstack_marker").Scan(&n); err != nil {
			fmt.Println("count:", err)
			return 1
		}
		fmt.Printf("marker rows: %d\n", n)
	}
	fmt.Println("migrations applied")
	return 0
}

// envNames lists the MCPBOX_* variables this process received.
func envNames() string {
	var names []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "MCPBOX_") {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}

func record(role, event, detail string) {
	path := os.Getenv("FAKE_EVENTS")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	_, _ = fmt.Fprintf(f, "%s %s %d %s\n", role, event, os.Getpid(), detail)
	_ = f.Close()
}
