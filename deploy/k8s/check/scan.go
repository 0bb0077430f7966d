package check

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
)

// ScanSecrets walks root and reports every YAML document that is a Secret or carries a top-level data or stringData
// map, as "path: rule" (OPS-29: nothing under deploy/ is a Secret or holds a secret value). testdata directories are
// skipped: they hold deliberately bad fixtures, never deployable manifests.
func ScanSecrets(root string) ([]string, error) {
	var ps problems
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "testdata" || d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(path); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		b, err := os.ReadFile(path) //nolint:gosec // paths come from walking the deploy tree
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for i, doc := range yamlDocs(b) {
			if doc.Kind != yamlv3.MappingNode {
				continue
			}
			keys := topKeys(doc)
			ref := fmt.Sprintf("%s (document %d)", filepath.ToSlash(rel), i+1)
			if keys["kind"] == "Secret" {
				ps.addf(ref, "is a Secret; secrets are never committed (§4.3)")
			}
			for _, k := range []string{"data", "stringData"} {
				if _, ok := keys[k]; ok && keys["kind"] != "" {
					ps.addf(ref, "has %s:; no secret values under deploy/ (§4.3)", k)
				}
			}
		}
		return nil
	})
	return ps, err
}

// yamlDocs parses every document of a file; files that are not YAML (templates) are skipped.
func yamlDocs(b []byte) []*yamlv3.Node {
	dec := yamlv3.NewDecoder(bytes.NewReader(b))
	var docs []*yamlv3.Node
	for {
		var n yamlv3.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) || err != nil {
			return docs
		}
		if len(n.Content) == 1 {
			docs = append(docs, n.Content[0])
		}
	}
}

// topKeys maps a mapping node's keys to their scalar values ("" for non-scalars).
func topKeys(n *yamlv3.Node) map[string]string {
	keys := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		keys[n.Content[i].Value] = strings.TrimSpace(n.Content[i+1].Value)
	}
	return keys
}

// DeployRoot is deploy/ relative to deploy/k8s, where the tests run.
const DeployRoot = ".."
