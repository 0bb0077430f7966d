package proto_test

import (
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
)

func TestPeerBaseURL(t *testing.T) {
	t.Parallel()
	u, err := proto.PeerBaseURL("MCPBOX_SANDBOX_URL", "http://127.0.0.1:8001/prefix/", "http://127.0.0.1:8001")
	if err != nil || u.String() != "http://127.0.0.1:8001/prefix" {
		t.Fatalf("%v %v", u, err)
	}
	for _, bad := range []string{"", "ftp://h", "http://", "http://u:p@h", "http://h?x=1", "http://h#f", "mailto:x"} {
		_, err := proto.PeerBaseURL("MCPBOX_SANDBOX_URL", bad, "http://127.0.0.1:8001")
		if err == nil || !strings.HasPrefix(err.Error(), "MCPBOX_SANDBOX_URL: must be an http(s) URL") || strings.Contains(err.Error(), ":p@") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
