package dbmetrics_test

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/services/backend/internal/accesstoken"
	"github.com/mcpbox/mcpbox/services/backend/internal/dbmetrics"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
)

// sample returns the value of name{label=value} (no label: the unlabelled
// series) in reg, and whether it is exposed.
func sample(t *testing.T, reg *prometheus.Registry, name string, label ...string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if len(label) == 2 && (len(m.GetLabel()) != 1 || m.GetLabel()[0].GetName() != label[0] || m.GetLabel()[0].GetValue() != label[1]) {
				continue
			}
			switch {
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue(), true
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue(), true
			}
		}
	}
	return 0, false
}

func open(t *testing.T, dsn string, maxConns int32) *db.Store {
	t.Helper()
	store, err := db.Open(t.Context(), dsn, db.WithMaxConns(maxConns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	return store
}

// The pool gauges follow the pool: its configured size, the connections in
// use while transactions hold them, and the time a caller waited for one;
// schema_version is the newest migration.
func TestPoolAndSchemaMetricsMove(t *testing.T) {
	t.Parallel()
	store := open(t, dbtest.URL(t), 2)
	reg := prometheus.NewRegistry()
	reg.MustRegister(dbmetrics.New(store))
	if probs, err := testutil.GatherAndLint(reg); err != nil || len(probs) > 0 {
		t.Fatalf("lint: %v %v", err, probs)
	}
	if v, ok := sample(t, reg, "mcpbox_backend_db_pool_max_connections"); !ok || v != 2 {
		t.Errorf("max connections = %v (exposed %v), want the configured 2", v, ok)
	}
	if v, ok := sample(t, reg, "mcpbox_backend_schema_version"); !ok || v != float64(db.NewestMigration()) {
		t.Errorf("schema_version = %v (exposed %v), want %d", v, ok, db.NewestMigration())
	}
	for _, state := range []string{"acquired", "idle", "constructing"} {
		if _, ok := sample(t, reg, "mcpbox_backend_db_pool_connections", "state", state); !ok {
			t.Errorf("no db_pool_connections{state=%q}", state)
		}
	}
	if v, _ := sample(t, reg, "mcpbox_backend_db_pool_connections", "state", "acquired"); v != 0 {
		t.Errorf("acquired = %v with nothing running", v)
	}

	// Two transactions hold the whole pool; a third caller waits for one.
	release := make(chan struct{})
	held := make(chan struct{}, 2)
	done := make(chan error, 3)
	for range 2 {
		go func() {
			done <- store.InTx(t.Context(), db.ReadCommitted, func(*dbq.Queries) error {
				held <- struct{}{}
				<-release
				return nil
			})
		}()
	}
	<-held
	<-held
	if v, _ := sample(t, reg, "mcpbox_backend_db_pool_connections", "state", "acquired"); v != 2 {
		t.Errorf("acquired = %v while two transactions run, want 2", v)
	}
	go func() { done <- store.Ping(t.Context()) }()
	time.Sleep(200 * time.Millisecond)
	close(release)
	for range 3 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if v, _ := sample(t, reg, "mcpbox_backend_db_pool_acquire_wait_seconds_total"); v < 0.1 {
		t.Errorf("acquire wait = %vs after a caller waited 200ms for a connection", v)
	}
	if v, _ := sample(t, reg, "mcpbox_backend_db_pool_connections", "state", "acquired"); v != 0 {
		t.Errorf("acquired = %v after the transactions ended", v)
	}
}

// A scrape while the database is gone still succeeds: the pool gauges are
// there, only schema_version and encrypted_values are left out.
func TestScrapeWithoutDatabaseSucceeds(t *testing.T) {
	t.Parallel()
	dsn := dbtest.URL(t)
	store := open(t, dsn, 3)
	reg := prometheus.NewRegistry()
	reg.MustRegister(dbmetrics.New(store))
	if _, ok := sample(t, reg, "mcpbox_backend_schema_version"); !ok {
		t.Fatal("no schema_version with the database up")
	}
	dbtest.Drop(t, dsn)
	start := time.Now()
	if _, ok := sample(t, reg, "mcpbox_backend_schema_version"); ok {
		t.Error("schema_version exposed without a database")
	}
	if n := testutil.CollectAndCount(reg, "mcpbox_backend_encrypted_values"); n != 0 {
		t.Errorf("%d encrypted_values series without a database", n)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("scrape without a database took %s", took)
	}
	if v, ok := sample(t, reg, "mcpbox_backend_db_pool_max_connections"); !ok || v != 3 {
		t.Errorf("max connections = %v (exposed %v) without a database", v, ok)
	}
}

// encrypted_values counts the stored ciphertexts by the key id that sealed
// them: a signing key under key 1 and the key check under key 2.
func TestEncryptedValuesByKeyID(t *testing.T) {
	t.Parallel()
	dsn := dbtest.URL(t)
	store := open(t, dsn, 2)
	reg := prometheus.NewRegistry()
	reg.MustRegister(dbmetrics.New(store))
	if n := testutil.CollectAndCount(reg, "mcpbox_backend_encrypted_values"); n != 0 {
		t.Fatalf("%d encrypted_values series on a database without ciphertexts", n)
	}
	const (
		key1 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
		key2 = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100"
	)
	keys1, err := seal.New(1, key1, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := accesstoken.New(store, keys1).EnsureKey(t.Context()); err != nil {
		t.Fatal(err)
	}
	keys2, err := seal.New(2, key2, "1:"+key1)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := keys2.Seal("metrics-test", []byte("check"))
	if err != nil {
		t.Fatal(err)
	}
	dbtest.Exec(t, dsn, "INSERT INTO settings (key, value) VALUES ('encryption_key_check', to_jsonb($1::text))",
		base64.StdEncoding.EncodeToString(ct))
	for id, want := range map[string]float64{"1": 1, "2": 1} {
		if got, ok := sample(t, reg, "mcpbox_backend_encrypted_values", "key_id", id); !ok || got != want {
			t.Errorf("encrypted_values{key_id=%q} = %v (exposed %v), want %v", id, got, ok, want)
		}
	}
	if probs, err := testutil.GatherAndLint(reg); err != nil || len(probs) > 0 {
		t.Errorf("lint: %v %v", err, probs)
	}
}
