package mint_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/tools/devidp/internal/mint"
)

func TestParseRequestAndClaims(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	cases := []struct {
		name string
		body string
		want map[string]any // claims to compare; jti is checked separately
		drop []string       // claims that must be absent
	}{
		{
			name: "defaults",
			body: `{"sub":"alice","email":"alice@example.com"}`,
			want: map[string]any{
				"iss": "http://idp", "sub": "alice", "aud": mint.DefaultAudience, "email": "alice@example.com",
				"email_verified": true, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(mint.DefaultTTL).Unix(),
			},
			drop: []string{"scope"},
		},
		{
			name: "no email means no email_verified",
			body: `{"sub":"bob"}`,
			want: map[string]any{"sub": "bob"},
			drop: []string{"email", "email_verified"},
		},
		{
			name: "explicit fields",
			body: `{"sub":"carol","email":"c@example.com","email_verified":"false","aud":["a","b"],"scope":"openid email","ttl":"-1h"}`,
			want: map[string]any{
				"email_verified": "false", "aud": []string{"a", "b"}, "scope": "openid email",
				"exp": now.Add(-time.Hour).Unix(),
			},
		},
		{
			name: "null email_verified omits it",
			body: `{"sub":"dan","email":"d@example.com","email_verified":null}`,
			drop: []string{"email_verified"},
		},
		{
			name: "ttl in seconds and extra claims win",
			body: `{"sub":"erin","ttl":60,"iss":"http://other","azp":"client-1","groups":["x"]}`,
			want: map[string]any{
				"iss": "http://other", "azp": "client-1", "groups": []any{"x"}, "exp": now.Add(time.Minute).Unix(),
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := mint.ParseRequest([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			claims, err := req.Claims("http://idp", now)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				if !reflect.DeepEqual(claims[k], v) {
					t.Errorf("%s = %#v, want %#v", k, claims[k], v)
				}
			}
			for _, k := range tc.drop {
				if _, ok := claims[k]; ok {
					t.Errorf("claim %s present: %#v", k, claims[k])
				}
			}
			if jti, _ := claims["jti"].(string); len(jti) != 32 {
				t.Errorf("jti %q, want 32 hex characters", jti)
			}
		})
	}
}

func TestParseRequestRejects(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		`{}`:                         "sub: required",
		`[]`:                         "JSON object",
		`{"sub":1}`:                  "sub: must be a string",
		`{"sub":"a","aud":""}`:       "aud: must not be empty",
		`{"sub":"a","aud":[]}`:       "aud: must not be empty",
		`{"sub":"a","aud":{"x":1}}`:  "aud: must be a string or an array",
		`{"sub":"a","ttl":"soon"}`:   "ttl:",
		`{"sub":"a","ttl":true}`:     "ttl: must be a duration",
		`{"sub":"a","email":["x"]}`:  "email: must be a string",
		`{"sub":"a","scope":false}`:  "scope: must be a string",
		`{"sub":"a","email_ver":1,}`: "JSON object",
	} {
		_, err := mint.ParseRequest([]byte(body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", body, err, want)
		}
	}
}
