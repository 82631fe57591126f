package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionFromBuildInfo(t *testing.T) {
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		want versionInfo
		line string
	}{
		{"no build info", nil, versionInfo{"(devel)", "unknown", "unknown", false, "unknown"}, "(devel) (revision unknown, unknown, unknown)"},
		{"checkout without vcs stamps", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			versionInfo{"(devel)", "unknown", "unknown", false, "go1.26.8"}, "(devel) (revision unknown, unknown, go1.26.8)"},
		{"tagged and stamped", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.4.0"}, Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "4907d87abc"}, {Key: "vcs.time", Value: "2026-11-29T10:00:00Z"}, {Key: "vcs.modified", Value: "true"},
		}}, versionInfo{"v0.4.0", "4907d87abc", "2026-11-29T10:00:00Z", true, "go1.26.8"}, "v0.4.0 (revision 4907d87abc+modified, 2026-11-29T10:00:00Z, go1.26.8)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := readVersion(func() (*debug.BuildInfo, bool) { return tc.bi, tc.bi != nil })
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if got.String() != tc.line {
				t.Errorf("line %q, want %q", got.String(), tc.line)
			}
		})
	}
}

func TestVersionCommands(t *testing.T) {
	want := readVersion(debug.ReadBuildInfo)
	r := execute(newApp, []string{"--version"})
	if r.code != 0 || r.stdout != "quench "+want.String()+"\n" {
		t.Errorf("--version: exit %d, %q", r.code, r.stdout)
	}
	r = execute(newApp, []string{"version"})
	if r.code != 0 || r.stdout != "quench "+want.String()+"\n" {
		t.Errorf("version: exit %d, %q", r.code, r.stdout)
	}
	r = execute(newApp, []string{"version", "-o", "json"})
	var got versionInfo
	decodeJSON(t, r.stdout, &got)
	if r.code != 0 || got != want || !strings.Contains(r.stdout, `"revision"`) {
		t.Errorf("version -o json: exit %d, %+v, want %+v", r.code, got, want)
	}
}
