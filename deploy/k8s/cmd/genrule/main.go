// Command genrule writes deploy/k8s/components/monitoring/prometheusrule.yaml from deploy/prometheus/rules.yaml.
// Run it from the deploy module: cd deploy && GOWORK=off go run ./k8s/cmd/genrule (make generate does;
// -check, run by make check-generate, only compares).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/mcpbox/mcpbox/deploy/k8s/promrule"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "genrule:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("genrule", flag.ContinueOnError)
	in := fs.String("in", "prometheus/rules.yaml", "Prometheus rule file, relative to the deploy module")
	out := fs.String("out", "k8s/components/monitoring/prometheusrule.yaml", "PrometheusRule to write")
	check := fs.Bool("check", false, "write nothing; fail naming the file when it is not what rules.yaml generates")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rules, err := os.ReadFile(*in)
	if err != nil {
		return err
	}
	doc, err := promrule.Build(rules)
	if err != nil {
		return err
	}
	if *check {
		have, err := os.ReadFile(*out)
		if err != nil || !bytes.Equal(have, doc) {
			return fmt.Errorf("deploy/%s is stale: it is not what deploy/%s generates; run make generate", *out, *in)
		}
		return nil
	}
	return os.WriteFile(*out, doc, 0o644) //nolint:gosec // a committed manifest, world-readable like every source file
}
