package db

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Defaults of ListenOptions.
const (
	DefaultListenMinBackoff   = 100 * time.Millisecond
	DefaultListenMaxBackoff   = 5 * time.Second
	DefaultListenPingInterval = 30 * time.Second
	listenDialTimeout         = 5 * time.Second
	listenPingTimeout         = 5 * time.Second
	listenCloseTimeout        = 2 * time.Second
)

// ErrListenerClosed is the state of a Listener after Close.
var ErrListenerClosed = errors.New("db: the LISTEN connection is closed")

// Notification is one NOTIFY received on a LISTEN connection.
type Notification struct {
	Channel string
	Payload string
}

// ListenOptions configures Store.Listen. Every callback runs on the
// listener's own goroutine, one at a time and in order, so a callback that
// blocks holds back the notifications behind it: hand them off, do not wait.
type ListenOptions struct {
	// Channels are LISTENed on; at least one.
	Channels []string
	// OnNotify receives each notification, in the order PostgreSQL sent them.
	OnNotify func(Notification)
	// OnUp runs each time the connection is established and LISTENs on every
	// channel: the first time inside Listen, then after each reconnection.
	// Notifications sent while the connection was down are lost; a consumer
	// resynchronises here.
	OnUp func()
	// OnLost runs once each time an established connection is lost, before
	// reconnecting, with the reason.
	OnLost func(error)
	// MinBackoff and MaxBackoff bound the wait between reconnection attempts
	// (doubling, with jitter); zero means the defaults.
	MinBackoff, MaxBackoff time.Duration
	// PingInterval is how long the connection may be idle before a SELECT 1
	// proves it is still alive (a dead peer that never closed the socket is
	// found this way); zero means DefaultListenPingInterval.
	PingInterval time.Duration
}

// Listener is one dedicated PostgreSQL connection, outside the pool, that
// LISTENs on a fixed set of channels and reconnects with backoff when the
// connection is lost (backend.md §9.2). NOTIFY is issued inside the
// changing transaction, so a notification arrives only after commit.
type Listener struct {
	cfg  *pgx.ConnConfig
	opts ListenOptions
	log  *slog.Logger
	// reset empties the store's pool when the connection is lost (see run).
	reset func()

	up     atomic.Bool
	pid    atomic.Uint32
	mu     sync.Mutex
	reason error // why the connection is down; nil while up

	cancel context.CancelFunc
	done   chan struct{}
}

// Listen opens the dedicated LISTEN connection with the store's connection
// settings and returns once it LISTENs on every channel (OnUp has run). It
// fails when the first connection cannot be made within ctx; later losses
// are retried until Close.
func (s *Store) Listen(ctx context.Context, opts ListenOptions) (*Listener, error) {
	if len(opts.Channels) == 0 {
		return nil, errors.New("db: listen: no channel given; name at least one NOTIFY channel")
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultListenMinBackoff
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(DefaultListenMaxBackoff, opts.MinBackoff)
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = DefaultListenPingInterval
	}
	l := &Listener{
		cfg:   s.pool.Config().ConnConfig,
		opts:  opts,
		log:   s.log,
		reset: s.pool.Reset,
		done:  make(chan struct{}),
	}
	conn, err := l.connect(ctx)
	if err != nil {
		return nil, err
	}
	l.setUp(conn)
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.cancel = cancel
	go l.run(runCtx, conn)
	return l, nil
}

// Up reports whether the connection is established and listening.
func (l *Listener) Up() bool { return l.up.Load() }

// PID is the PostgreSQL backend process id of the current connection (0
// while down), as pg_stat_activity.pid shows it.
func (l *Listener) PID() uint32 { return l.pid.Load() }

// Ready returns nil while the connection is up, else an error naming why it
// is down; it is the LISTEN check of /readyz (backend.md §3).
func (l *Listener) Ready(context.Context) error {
	if l.up.Load() {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if errors.Is(l.reason, ErrListenerClosed) {
		return ErrListenerClosed
	}
	return fmt.Errorf("LISTEN connection lost, reconnecting: %w", l.reason)
}

// Close stops listening, closes the connection and waits for the listener's
// goroutine; no callback runs after it returns. OnLost is not called.
func (l *Listener) Close() {
	l.cancel()
	<-l.done
}

func (l *Listener) setUp(conn *pgx.Conn) {
	l.pid.Store(conn.PgConn().PID())
	l.mu.Lock()
	l.reason = nil
	l.mu.Unlock()
	l.up.Store(true)
	if l.opts.OnUp != nil {
		l.opts.OnUp()
	}
}

func (l *Listener) setDown(err error) {
	l.up.Store(false)
	l.pid.Store(0)
	l.mu.Lock()
	l.reason = err
	l.mu.Unlock()
}

// run receives notifications until the connection fails, then reconnects,
// until ctx ends.
func (l *Listener) run(ctx context.Context, conn *pgx.Conn) {
	defer close(l.done)
	for {
		err := l.receive(ctx, conn)
		closeConn(conn)
		if ctx.Err() != nil {
			l.setDown(ErrListenerClosed)
			return
		}
		l.setDown(err)
		l.log.Warn("LISTEN connection lost; open event streams close, reconnecting", slog.String("error", err.Error()))
		// What ended this session (a server restart, a failover, an
		// administrator's command) has most likely ended the pool's sessions
		// too, and pgx pings an idle connection only after a second of rest:
		// under load every stale connection would fail one request after
		// the database is back. Reset closes the idle ones now and the busy
		// ones when they are released, so requests get fresh sessions.
		l.reset()
		if l.opts.OnLost != nil {
			l.opts.OnLost(err)
		}
		conn = l.reconnect(ctx)
		if conn == nil {
			l.setDown(ErrListenerClosed)
			return
		}
		l.setUp(conn)
	}
}

// receive delivers notifications until the connection fails or ctx ends.
// An idle connection is pinged every PingInterval.
func (l *Listener) receive(ctx context.Context, conn *pgx.Conn) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, l.opts.PingInterval)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			if l.opts.OnNotify != nil {
				l.opts.OnNotify(Notification{Channel: n.Channel, Payload: n.Payload})
			}
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case !errors.Is(err, context.DeadlineExceeded) && !pgconn.Timeout(err):
			return fmt.Errorf("wait for notification: %w", err)
		}
		// Idle for PingInterval: prove the connection is alive.
		pctx, cancel := context.WithTimeout(ctx, listenPingTimeout)
		_, err = conn.Exec(pctx, "SELECT 1")
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("ping: %w", err)
		}
	}
}

// reconnect retries connect with doubling, jittered backoff until it
// succeeds or ctx ends (then nil).
func (l *Listener) reconnect(ctx context.Context) *pgx.Conn {
	backoff := l.opts.MinBackoff
	for attempt := 1; ; attempt++ {
		// Jitter: wait between half and all of the backoff, so replicas that
		// lost the database together do not reconnect in step.
		wait := backoff/2 + rand.N(backoff/2+1) //nolint:gosec // G404: jitter, not a secret
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
		conn, err := l.connect(ctx)
		if err == nil {
			l.log.Info("LISTEN connection restored", slog.Int("attempt", attempt))
			return conn
		}
		if ctx.Err() != nil {
			return nil
		}
		l.setDown(err)
		l.log.Warn("LISTEN connection not restored yet, retrying", slog.Int("attempt", attempt), slog.String("error", err.Error()))
		backoff = min(backoff*2, l.opts.MaxBackoff)
	}
}

// connect opens a connection and LISTENs on every channel.
func (l *Listener) connect(ctx context.Context) (*pgx.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, listenDialTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(dctx, l.cfg.Copy())
	if err != nil {
		return nil, fmt.Errorf("db: open the LISTEN connection: %w", err)
	}
	for _, ch := range l.opts.Channels {
		if _, err := conn.Exec(dctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			closeConn(conn)
			return nil, fmt.Errorf("db: LISTEN %s: %w", ch, err)
		}
	}
	return conn, nil
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), listenCloseTimeout)
	defer cancel()
	_ = conn.Close(ctx)
}
