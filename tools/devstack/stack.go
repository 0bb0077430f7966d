package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mcpbox/mcpbox/tools/devstack/internal/banner"
	"github.com/mcpbox/mcpbox/tools/devstack/internal/console"
	"github.com/mcpbox/mcpbox/tools/devstack/internal/devenv"
	"github.com/mcpbox/mcpbox/tools/devstack/internal/pgcluster"
	"github.com/mcpbox/mcpbox/tools/devstack/internal/pgpick"
	"github.com/mcpbox/mcpbox/tools/devstack/internal/portcheck"
	"github.com/mcpbox/mcpbox/tools/devstack/internal/settings"
	"github.com/mcpbox/mcpbox/tools/devstack/internal/supervisor"
)

const devEnvHeader = `# MCPbox dev settings, written by tools/devstack (make run). Keep this file private.
# Values here override the dev defaults; your environment overrides them. Delete a line to regenerate it.
`

// stack is one `make run`.
type stack struct {
	opt    options
	caller map[string]string
	base   []string // the caller's environment without MCPBOX_*: PATH, HOME, ...
	con    *console.Console
	sup    *supervisor.Supervisor
	client *http.Client

	cluster        *pgcluster.Cluster
	clusterStarted bool
}

func newStack(o options, environ []string, stdout io.Writer) *stack {
	con := console.New(stdout)
	var base []string
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "MCPBOX_") {
			base = append(base, kv)
		}
	}
	return &stack{
		opt: o, caller: envMap(environ), base: base, con: con, sup: supervisor.New(con),
		client: &http.Client{Timeout: 2 * time.Second},
	}
}

func (s *stack) devEnvPath() string { return filepath.Join(s.opt.data, "dev.env") }

// run is operations.md §1.3 steps 1–7.
func (s *stack) run(sigs <-chan os.Signal) error {
	first, second := make(chan struct{}), make(chan struct{})
	go func() {
		<-sigs
		close(first)
		<-sigs
		close(second)
	}()
	startCtx, cancelStart := context.WithCancel(context.Background())
	defer cancelStart()
	go func() {
		<-first
		cancelStart()
	}()

	info, err := s.start(startCtx)
	if err != nil {
		interrupted := startCtx.Err() != nil
		if s.stopAll(second) {
			return exitError{130, nil}
		}
		var died childExitError
		if errors.As(err, &died) {
			s.con.Raw(died.report())
		}
		if interrupted {
			s.con.Printf("stopped before the start completed")
			return nil
		}
		return exitError{1, err}
	}
	s.con.Raw(banner.Render(info))

	restarts := newRestarter(len(settings.Order()))
	for {
		select {
		case p := <-s.sup.Exited():
			if !s.opt.restart {
				s.con.Printf("%s exited (%v); stopping the rest", p.Name(), p.Err())
				if s.stopAll(second) {
					return exitError{130, nil}
				}
				s.con.Raw(childExitError{p}.report())
				return exitError{1, fmt.Errorf("%s exited: %w", p.Name(), p.Err())}
			}
			n, delay := restarts.schedule(p)
			s.con.Printf("%s exited (%v); restarting (restart %d) in %s", p.Name(), p.Err(), n, delay)
		case p := <-restarts.due:
			np, err := s.sup.Restart(p)
			if err != nil {
				s.con.Printf("%s could not be restarted: %v", p.Name(), err)
				restarts.retry(p)
				continue
			}
			restarts.started(p, np)
		case <-first:
			restarts.stop()
			s.con.Printf("stopping (press Ctrl-C again to kill everything at once)")
			if s.stopAll(second) {
				return exitError{130, nil}
			}
			s.con.Printf("stopped")
			return nil
		}
	}
}

// Restart backoff (-restart): the first restart waits restartFirst, each further one twice as long up
// to restartMax; a service that stayed up restartReset starts over at restartFirst.
const (
	restartFirst = 250 * time.Millisecond
	restartMax   = 5 * time.Second
	restartReset = 10 * time.Second
)

// restarter schedules the restarts of -restart: one timer per exited service, which delivers the
// exited Proc on due when its backoff has passed.
type restarter struct {
	due    chan *supervisor.Proc
	state  map[string]*restartState
	timers map[*supervisor.Proc]*time.Timer
}

type restartState struct {
	count   int
	backoff time.Duration
	since   time.Time // when the current instance started
}

func newRestarter(services int) *restarter {
	return &restarter{
		due: make(chan *supervisor.Proc, services), state: map[string]*restartState{},
		timers: map[*supervisor.Proc]*time.Timer{},
	}
}

// schedule arms p's restart and returns its number and delay.
func (r *restarter) schedule(p *supervisor.Proc) (int, time.Duration) {
	st := r.state[p.Name()]
	if st == nil || (!st.since.IsZero() && time.Since(st.since) >= restartReset) {
		if st == nil {
			st = &restartState{}
			r.state[p.Name()] = st
		}
		st.backoff = 0
	}
	st.count++
	st.backoff = nextBackoff(st.backoff)
	r.arm(p, st.backoff)
	return st.count, st.backoff
}

// retry arms another attempt for a restart that failed to start.
func (r *restarter) retry(p *supervisor.Proc) {
	st := r.state[p.Name()]
	st.backoff = nextBackoff(st.backoff)
	r.arm(p, st.backoff)
}

func (r *restarter) arm(p *supervisor.Proc, d time.Duration) {
	r.timers[p] = time.AfterFunc(d, func() { r.due <- p })
}

// started records that old now runs again as p.
func (r *restarter) started(old, p *supervisor.Proc) {
	delete(r.timers, old)
	r.state[p.Name()].since = time.Now()
}

// stop cancels the pending restarts.
func (r *restarter) stop() {
	for _, t := range r.timers {
		t.Stop()
	}
}

func nextBackoff(d time.Duration) time.Duration {
	if d == 0 {
		return restartFirst
	}
	return min(2*d, restartMax)
}

// stopAll stops the services in reverse order, then the cluster devstack started. A second signal
// kills everything at once; stopAll then reports true.
func (s *stack) stopAll(second <-chan struct{}) bool {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.sup.Stop(ctx)
		if s.cluster != nil && s.clusterStarted {
			s.con.Printf("stopping the private cluster")
			if err := s.cluster.Stop(ctx, "fast"); err != nil && ctx.Err() == nil {
				s.con.Printf("pg_ctl stop: %v", err)
			}
		}
	}()
	select {
	case <-done:
		return false
	case <-second:
		s.con.Printf("killing everything")
		cancel()
		s.sup.Kill()
		if s.cluster != nil && s.clusterStarted {
			killCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
			defer stop()
			_ = s.cluster.Stop(killCtx, "immediate")
		}
		<-done
		return true
	}
}

// childExitError is a service that exited on its own.
type childExitError struct{ p *supervisor.Proc }

func (c childExitError) Error() string { return fmt.Sprintf("%s exited: %v", c.p.Name(), c.p.Err()) }

func (c childExitError) report() string {
	var b strings.Builder
	tail := c.p.Tail()
	fmt.Fprintf(&b, "%s exited (%v). Its last %d lines:\n", c.p.Name(), c.p.Err(), len(tail))
	for _, l := range tail {
		fmt.Fprintf(&b, "    %s\n", l)
	}
	return b.String()
}

// start runs steps 1–5 and returns what the banner shows.
func (s *stack) start(ctx context.Context) (banner.Info, error) {
	// 1. .data/, 0700.
	if err := os.MkdirAll(s.opt.data, 0o700); err != nil {
		return banner.Info{}, fmt.Errorf("data directory: %w", err)
	}
	if err := os.Chmod(s.opt.data, 0o700); err != nil {
		return banner.Info{}, fmt.Errorf("data directory: %w", err)
	}

	// 2. PostgreSQL.
	file, err := devenv.Read(s.devEnvPath())
	if err != nil {
		return banner.Info{}, err
	}
	defaults := settings.Defaults(s.opt.portOffset)
	vars := settings.Resolve(defaults, file, s.caller)
	choice, err := pgpick.Choose(ctx, pgpick.Input{
		CallerURL: s.caller[devenv.DatabaseURL], Recorded: vars[devenv.DevDB], ProbeAddr: s.opt.probeAddr,
		Database: pgcluster.Database,
	}, pgpick.Deps{
		Answers: pgpick.Answers, EnsureDatabase: pgpick.EnsureDatabase, Say: s.con.Printf,
		Private: func(ctx context.Context) (pgpick.Choice, error) { return s.private(ctx, vars) },
	})
	if err != nil {
		return banner.Info{}, err
	}
	s.con.Printf("PostgreSQL: %s", choice.Desc)

	// 3. dev.env.
	entries, err := devenv.Secrets()
	if err != nil {
		return banner.Info{}, err
	}
	switch choice.Kind {
	case pgpick.System:
		entries = append(entries, devenv.Entry{Key: devenv.DevDB, Value: string(pgpick.System)})
	case pgpick.Private:
		entries = append(entries, devenv.Entry{Key: devenv.DevDB, Value: string(pgpick.Private)},
			devenv.Entry{Key: devenv.DatabaseURL, Value: choice.URL})
	case pgpick.FromURL:
	}
	added, err := devenv.Ensure(s.devEnvPath(), devEnvHeader, entries)
	if err != nil {
		return banner.Info{}, err
	}
	if len(added) > 0 {
		s.con.Printf("wrote %s to %s", strings.Join(added, ", "), s.devEnvPath())
	}
	if file, err = devenv.Read(s.devEnvPath()); err != nil {
		return banner.Info{}, err
	}
	vars = settings.Resolve(defaults, file, s.caller)
	vars[devenv.DatabaseURL] = choice.URL

	// 4. Migrations.
	if err := s.migrate(ctx, vars); err != nil {
		return banner.Info{}, err
	}

	// 5. Ports, then the services in order, each ready before the next.
	if err := portcheck.Check(ctx, settings.Listeners(vars)); err != nil {
		return banner.Info{}, fmt.Errorf("nothing was started:\n%w", err)
	}
	for _, name := range settings.Order() {
		select {
		case p := <-s.sup.Exited():
			return banner.Info{}, childExitError{p}
		default:
		}
		if err := s.startService(ctx, name, vars); err != nil {
			return banner.Info{}, err
		}
	}

	info := banner.Info{
		PostgreSQL:   choice.Desc,
		AdminURL:     "http://" + settings.DialAddr(vars[settings.BackendListen]) + "/",
		InternalURL:  "http://" + settings.DialAddr(vars[settings.BackendInternalListen]) + "/",
		LocalMCPURL:  "http://" + settings.DialAddr(vars[settings.GatewayLocalListen]) + "/mcp",
		RemoteMCPURL: strings.TrimSuffix(vars[settings.EdgePublicURL], "/") + "/mcp",
		DevEnv:       s.displayPath(s.devEnvPath()),
	}
	tok, err := s.bannerToken(ctx, vars, info.RemoteMCPURL)
	if err != nil {
		s.con.Printf("could not mint a devidp token for the banner: %v", err)
	}
	info.RemoteToken = tok
	return info, nil
}

// private finds or installs PostgreSQL and starts the cluster in .data/pg.
func (s *stack) private(ctx context.Context, vars map[string]string) (pgpick.Choice, error) {
	port, err := strconv.Atoi(vars[settings.DevPGPort])
	if err != nil || port <= 0 || port > 65535 {
		return pgpick.Choice{}, exitError{2, fmt.Errorf("%s=%q: must be a port number", settings.DevPGPort, vars[settings.DevPGPort])}
	}
	out := s.con.Stream("postgres", 0)
	defer out.Flush()
	host := pgcluster.OSHost()
	bins, err := pgcluster.Find(ctx, host, out)
	if err != nil {
		return pgpick.Choice{}, err
	}
	s.cluster = &pgcluster.Cluster{
		Dir: filepath.Join(s.opt.data, "pg"), Port: port, Bin: bins, Host: host, Out: out, PortVar: settings.DevPGPort,
	}
	u, started, err := s.cluster.Start(ctx)
	// An interrupted pg_ctl start may still leave a server behind: stop it with the rest.
	s.clusterStarted = started || (err != nil && ctx.Err() != nil && s.cluster.Running(context.WithoutCancel(ctx)))
	if err != nil {
		return pgpick.Choice{}, err
	}
	desc := "private cluster"
	if pu, perr := url.Parse(u); perr == nil {
		desc += " on " + pu.Host
	}
	if !started {
		desc += " (already running)"
	}
	return pgpick.Choice{Kind: pgpick.Private, URL: u, Desc: desc}, nil
}

func (s *stack) env(service string, vars map[string]string) []string {
	return append(append([]string(nil), s.base...), settings.ServiceEnv(service, vars)...)
}

// migrate runs `bin/backend migrate` with the backend's environment.
func (s *stack) migrate(ctx context.Context, vars map[string]string) error {
	s.con.Printf("running backend migrate")
	out := s.con.Stream("migrate", supervisor.TailLines)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(s.opt.bin, settings.Backend), "migrate")
	cmd.Env = s.env(settings.Backend, vars)
	cmd.Dir = s.opt.root
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	out.Flush()
	if err != nil {
		return fmt.Errorf("backend migrate failed (%w); nothing was started", err)
	}
	return nil
}

func (s *stack) startService(ctx context.Context, name string, vars map[string]string) error {
	spec := supervisor.Spec{
		Name: name, Path: filepath.Join(s.opt.bin, name), Env: s.env(name, vars), Dir: s.opt.root,
		StopTimeout: stopTimeout(vars), PidFile: filepath.Join(s.opt.data, "run", name+".pid"),
	}
	if name == settings.Sandbox {
		spec.Path = s.opt.sandboxBin
	}
	if name == settings.DevIDP {
		spec.Args = []string{"serve", "--addr", vars[settings.DevIDPAddr], "--state", filepath.Join(s.opt.data, "devidp")}
	}
	s.con.Printf("starting %s", name)
	p, err := s.sup.Start(spec)
	if err != nil {
		return err
	}
	if err := supervisor.WaitReady(ctx, s.client, p, settings.ReadyURLs(name, vars), s.opt.readyTimeout); err != nil {
		if errors.Is(err, supervisor.ErrExited) {
			return childExitError{p}
		}
		return err
	}
	return nil
}

// stopTimeout is MCPBOX_SHUTDOWN_DELAY + MCPBOX_SHUTDOWN_TIMEOUT + 5 s: the longest a service may take
// to stop before it is killed.
func stopTimeout(vars map[string]string) time.Duration {
	d := 5 * time.Second
	for name, fallback := range map[string]time.Duration{"MCPBOX_SHUTDOWN_DELAY": 0, settings.ShutdownTimeout: 20 * time.Second} {
		v, err := time.ParseDuration(vars[name])
		if err != nil || v < 0 {
			v = fallback
		}
		d += v
	}
	return d
}

// bannerToken asks devidp for a token for the remote `claude mcp add` line.
func (s *stack) bannerToken(ctx context.Context, vars map[string]string, remoteMCPURL string) (string, error) {
	aud := remoteMCPURL
	if r := vars["MCPBOX_EDGE_RESOURCE"]; r != "" {
		aud = r
	}
	body, err := json.Marshal(map[string]string{"sub": "you", "email": "you@example.com", "aud": aud})
	if err != nil {
		return "", fmt.Errorf("encode: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		"http://"+settings.DialAddr(vars[settings.DevIDPAddr])+"/dev/token", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("POST /dev/token: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tr); err != nil || resp.StatusCode != http.StatusOK || tr.AccessToken == "" {
		return "", fmt.Errorf("POST /dev/token: status %d", resp.StatusCode)
	}
	return tr.AccessToken, nil
}

// displayPath shows p relative to the repository root when it is inside it.
func (s *stack) displayPath(p string) string {
	if rel, err := filepath.Rel(s.opt.root, p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}
