package sandboxapi

import (
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
)

func itoa(i int) string { return strconv.Itoa(i) }

func joinPath(prefix, path string) string {
	switch {
	case path == "":
		return prefix
	case strings.HasPrefix(path, "["):
		return prefix + path
	}
	return prefix + "." + path
}

func sortedNames[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// splitPort splits a normalised "host:port" or "[v6]:port" entry; an entry
// without a port is returned whole.
func splitPort(entry string) (host, port string) {
	h, p, err := net.SplitHostPort(entry)
	if err != nil {
		return entry, ""
	}
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	return h, p
}
