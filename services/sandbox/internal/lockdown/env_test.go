package lockdown

import (
	"testing"
)

func TestCheckEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  []string
		ok   bool
	}{
		{"fixed", WorkerEnv(2), true},
		{"reordered", []string{"TZ=UTC", "GOMAXPROCS=1", "GOTRACEBACK=single"}, true},
		{"empty", nil, false},
		{"extra token", append(WorkerEnv(1), "MCPBOX_SANDBOX_TOKEN=x"), false},
		{"yaegi instead of TZ", []string{"GOMAXPROCS=1", "GOTRACEBACK=single", "YAEGI_DOT_CMD=/bin/sh"}, false},
		{"duplicate", []string{"GOMAXPROCS=1", "GOMAXPROCS=1", "TZ=UTC"}, false},
		{"bad procs", []string{"GOMAXPROCS=0", "GOTRACEBACK=single", "TZ=UTC"}, false},
		{"other traceback", []string{"GOMAXPROCS=1", "GOTRACEBACK=all", "TZ=UTC"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := CheckEnv(tc.env); (err == nil) != tc.ok {
				t.Fatalf("CheckEnv(%q) = %v, want ok=%v", tc.env, err, tc.ok)
			}
		})
	}
}

func TestCommandShape(t *testing.T) {
	t.Parallel()
	cmd := Command(t.Context(), "/bin/true", 2, "a")
	if cmd.Dir != "/" || cmd.Stdin != nil || !cmd.SysProcAttr.Setpgid || cmd.SysProcAttr.Pdeathsig == 0 {
		t.Fatalf("cmd %+v", cmd)
	}
	if err := CheckEnv(cmd.Env); err != nil {
		t.Fatal(err)
	}
}
