package secret

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFromEnv(t *testing.T) {
	const env = "QUENCH_TEST_SECRET"
	file := filepath.Join(t.TempDir(), "s")
	if err := os.WriteFile(file, []byte(" from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, val, file  string
		want, wantSource string
		wantErr          string
	}{
		{name: "unset", wantSource: env},
		{name: "variable", val: " v ", want: "v", wantSource: env},
		{name: "file", file: file, want: "from-file", wantSource: env + "_FILE " + file},
		{name: "both", val: "v", file: file, wantErr: "both " + env + " and " + env + "_FILE are set"},
		{name: "missing file", file: file + "-gone", wantErr: "read " + env + "_FILE"},
		{name: "empty file", file: empty, wantErr: env + "_FILE " + empty + " is empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(env, tt.val)
			t.Setenv(env+"_FILE", tt.file)
			got, source, err := FromEnv(env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "from-file") {
					t.Fatalf("err %v, want %q and no secret echoed", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want || source != tt.wantSource {
				t.Errorf("got %q from %q, %v; want %q from %q", got, source, err, tt.want, tt.wantSource)
			}
		})
	}
}
