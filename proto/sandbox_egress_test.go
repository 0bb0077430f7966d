package proto

import "testing"

func TestPrivateLookingName(t *testing.T) {
	t.Parallel()
	cases := map[string]bool{
		"localhost":               true,
		"api.localhost":           true,
		"nas":                     true,
		"nas.local":               true,
		"db.internal":             true,
		"NAS.LAN.":                true,
		"router.home.arpa":        true,
		"box.localdomain":         true,
		"api.example.com":         false,
		"internal.example.com":    false,
		"lan":                     true,
		"example.lan.example.com": false,
		"10.0.0.5":                false,
		"[fc00::1]":               false,
		"":                        false,
	}
	for host, want := range cases {
		if got := PrivateLookingName(host); got != want {
			t.Errorf("PrivateLookingName(%q) = %v, want %v", host, got, want)
		}
	}
}
