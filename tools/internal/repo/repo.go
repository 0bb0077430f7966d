// Package repo finds the MCPbox repository root: the directory that holds
// go.work. Developer programs and tests in tools/ (a module outside the
// workspace) use it to reach the rest of the tree.
package repo

import (
	"errors"
	"os"
	"path/filepath"
)

// Root walks up from dir to the first directory holding go.work.
func Root(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d, nil
		}
		if d == filepath.Dir(d) {
			return "", errors.New("no go.work above " + dir + "; run from the repository or pass -root")
		}
	}
}

// RootFromWD is Root of the working directory.
func RootFromWD() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return Root(wd)
}
