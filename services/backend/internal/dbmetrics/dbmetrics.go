// Package dbmetrics exports the database metrics of backend.md §3, read from
// the store at each scrape: the pool's connections by state, its size, the
// time spent waiting for a free connection, the newest migration applied to
// the database, and the stored ciphertexts by encryption key id.
package dbmetrics

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/db"
)

// Values of the state label of mcpbox_backend_db_pool_connections.
const (
	stateAcquired     = "acquired"
	stateIdle         = "idle"
	stateConstructing = "constructing"
)

// queryTimeout bounds each database read of one scrape.
const queryTimeout = time.Second

// Collector reports the pool, schema and ciphertext metrics of a store. A
// scrape while the database does not answer still reports the pool; only
// mcpbox_backend_schema_version and mcpbox_backend_encrypted_values are left
// out, so the scrape itself succeeds.
type Collector struct {
	store       *db.Store
	connections *prometheus.Desc
	maxConns    *prometheus.Desc
	acquireWait *prometheus.Desc
	schema      *prometheus.Desc
	encrypted   *prometheus.Desc
}

// New returns the collector of store; register it with the process registry.
func New(store *db.Store) *Collector {
	return &Collector{
		store: store,
		connections: prometheus.NewDesc("mcpbox_backend_db_pool_connections",
			"Connections of the database pool, by state (acquired, idle, constructing).", []string{"state"}, nil),
		maxConns: prometheus.NewDesc("mcpbox_backend_db_pool_max_connections",
			"Size of the database pool (MCPBOX_DB_MAX_CONNS).", nil, nil),
		acquireWait: prometheus.NewDesc("mcpbox_backend_db_pool_acquire_wait_seconds_total",
			"Time spent waiting for a database connection while none was free.", nil, nil),
		schema: prometheus.NewDesc("mcpbox_backend_schema_version",
			"Newest migration applied to the database.", nil, nil),
		encrypted: prometheus.NewDesc("mcpbox_backend_encrypted_values",
			"Stored rows holding a ciphertext sealed with each encryption key id; old ids reach 0 after `backend rekey`.",
			[]string{"key_id"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.connections
	ch <- c.maxConns
	ch <- c.acquireWait
	ch <- c.schema
	ch <- c.encrypted
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.store.Stats()
	for state, n := range map[string]int32{stateAcquired: st.Acquired, stateIdle: st.Idle, stateConstructing: st.Constructing} {
		ch <- prometheus.MustNewConstMetric(c.connections, prometheus.GaugeValue, float64(n), state)
	}
	ch <- prometheus.MustNewConstMetric(c.maxConns, prometheus.GaugeValue, float64(st.Max))
	ch <- prometheus.MustNewConstMetric(c.acquireWait, prometheus.CounterValue, st.AcquireWait.Seconds())

	c.collectSchema(ch)
	c.collectEncrypted(ch)
}

func (c *Collector) collectSchema(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
	defer cancel()
	if v, err := c.store.SchemaVersion(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(c.schema, prometheus.GaugeValue, float64(v))
	}
}

// collectEncrypted sums the per-table counts that `backend rekey` and
// `backend migrate check` use, by key id.
func (c *Collector) collectEncrypted(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
	defer cancel()
	rows, err := c.store.CiphertextKeyIDs(ctx)
	if err != nil {
		return
	}
	byKey := map[int32]int64{}
	for _, r := range rows {
		byKey[r.KeyID] += r.RowCount
	}
	for id, n := range byKey {
		ch <- prometheus.MustNewConstMetric(c.encrypted, prometheus.GaugeValue, float64(n), strconv.Itoa(int(id)))
	}
}
