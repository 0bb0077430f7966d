package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// remoteSetup is what the -bench and -soak runs take from the session: the stack, its URLs, the admin and the
// local seeder, and the fetch target (nil without -bench).
type remoteSetup struct {
	st      *devstack
	urls    stackURLs
	admin   *admin
	seeder  *seeder
	target  *fetchTarget
	logPath string
}

// remoteSession admits -users remote users (the allowlist, one devidp token each), waits until a call through the
// edge succeeds, then makes the bench and the soak. Their findings go to l.problems; an error means the run
// could not be made.
func (l *loadstack) remoteSession(ctx context.Context, s remoteSetup) error {
	if s.urls.remoteMCP == "" {
		return fmt.Errorf("devstack's banner lacks the Remote MCP URL; see %s", s.logPath)
	}
	if err := s.admin.allowRemote(ctx, remoteEmails(l.opt.users)); err != nil {
		return err
	}
	tokens, err := mintTokens(ctx, loopbackURL(devPortDevIDP, l.opt.portOffset, ""), s.urls.remoteMCP, l.opt.users)
	if err != nil {
		return err
	}
	if err := waitRemote(ctx, s.urls.remoteMCP, tokens[0], (*seeder).checkAdd); err != nil {
		return err
	}
	l.say("%d remote users admitted; %s answers through the edge (%s)", l.opt.users, addTool, s.urls.remoteMCP)
	env := benchEnv{
		edgeMCP: s.urls.remoteMCP, localMCP: s.urls.localMCP, tokens: tokens, target: s.target,
		stamp: time.Now().UTC().Format("20060102T150405Z"),
	}
	if l.opt.bench {
		if err := l.bench(ctx, s, &env); err != nil {
			return err
		}
	}
	if l.opt.soak > 0 {
		if s.st.exited() {
			return fmt.Errorf("the stack stopped on its own; the end of %s:\n%s", s.logPath, s.st.log.tail(tailLines))
		}
		if l.opt.bench {
			if err := l.pause(ctx); err != nil {
				return err
			}
		}
		problems, err := l.soak(ctx, env)
		if err != nil {
			return err
		}
		l.problems = append(l.problems, problems...)
	}
	return nil
}

// bench seeds the brokered HTTP tool and the tools/list catalog, starts the bare server, runs every scenario,
// prints the table and writes the JSON, Markdown and SVG reports (and, with -update-docs, the documentation).
func (l *loadstack) bench(ctx context.Context, s remoteSetup, env *benchEnv) error {
	started, loadStart := time.Now(), loadavg()
	t0 := time.Now()
	if err := s.seeder.seedFetch(ctx, s.target); err != nil {
		return fmt.Errorf("seed %s: %w", fetchTool, err)
	}
	l.say("seeded %s (GET %s, the host granted to server %s, approved, started) in %s", fetchTool, s.target.url(), fetchServer, since(t0))
	t0 = time.Now()
	if err := s.seeder.seedList(ctx, 2, l.opt.listTools, func(m string) { l.say("%s", m) }); err != nil {
		return fmt.Errorf("seed %d tools: %w", l.opt.listTools, err)
	}
	l.say("the catalog holds %d user tools (seeded in %s)", max(l.opt.listTools, 2), since(t0))
	for _, check := range []func(*seeder, context.Context) error{(*seeder).checkFetch, (*seeder).checkManage} {
		if err := waitRemote(ctx, env.edgeMCP, env.tokens[0], check); err != nil {
			return err
		}
	}
	bare, err := startBare(ctx, l.opt.loadgen, addTool, l.stderr)
	if err != nil {
		return err
	}
	defer func() {
		if err := bare.stop(); err != nil {
			l.say("%v", err)
		}
	}()
	env.bareMCP = bare.url
	_, bi, err := scrape(ctx, &http.Client{Timeout: 10 * time.Second}, loopbackURL(devPortGatewayLocal, l.opt.portOffset, "/metrics"))
	if err != nil {
		return fmt.Errorf("the gateway's build: %w", err)
	}
	results, machine, problems, err := l.runScenarios(ctx, *env, benchScenarios(max(l.opt.listTools, 2)))
	if err != nil {
		return err
	}
	rep := benchReport{
		StartedAt: started.UTC(), FinishedAt: time.Now().UTC(), Command: l.command(),
		Machine: benchMachine{
			CPUs: machine.CPUs, CPUModel: machine.CPUModel, Kernel: machine.Kernel, GoVersion: bi.GoVersion,
			Version: bi.Version, Revision: bi.Revision, LoadAvgStart: loadStart, LoadAvgEnd: loadavg(),
		},
		Settings: benchSettings{
			Concurrency: l.opt.concurrency, WarmupS: l.opt.benchWarmup.Seconds(), DurationS: l.opt.benchDuration.Seconds(),
			Users: l.opt.users, Workers: max(l.opt.workers, l.opt.users), Era: l.opt.era, ListTools: max(l.opt.listTools, 2),
		},
		Scenarios: results, Ratios: ratios(results), Problems: problems,
	}
	if rep.Problems == nil {
		rep.Problems = []string{}
	}
	l.problems = append(l.problems, problems...)
	return l.writeBench(rep, env.stamp)
}

// writeBench prints the table and writes stack-<stamp>.{json,md,svg} to -out, and the documentation with
// -update-docs.
func (l *loadstack) writeBench(rep benchReport, stamp string) error {
	base := filepath.Join(l.opt.out, "stack-"+stamp)
	svg := chartSVG(rep)
	js, err := rep.json()
	if err != nil {
		return err
	}
	errs := []error{
		writeFile(base+".json", js), writeFile(base+".svg", svg),
		writeFile(base+".md", []byte(rep.markdown(filepath.Base(base)+".svg"))),
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	_, _ = fmt.Fprintf(l.stdout, "\nStack benchmark (%s)\n\n%s\n%s\nreports: %s.{json,md,svg}\n", rep.Machine.line(), rep.table(), rep.ratioLines(), base)
	if l.opt.updateDocs {
		if err := updateDocs(l.opt.root, rep, svg); err != nil {
			return err
		}
		l.say("wrote %s and the generated section of %s", docsChart, docsPerformance)
	}
	return nil
}

// command is loadstack's command line with the repository root left out of paths, for the report.
func (l *loadstack) command() string {
	parts := append([]string{"loadstack"}, l.args...)
	cmd := strings.ReplaceAll(strings.Join(parts, " "), l.opt.root+string(os.PathSeparator), "")
	return strings.ReplaceAll(cmd, l.opt.root, ".")
}
