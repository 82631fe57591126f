package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// versionInfo is what the binary knows about its own build, from the
// module and VCS stamps `go build` writes into it.
type versionInfo struct {
	Version   string `json:"version"`  // module version; (devel) for a build from a checkout
	Revision  string `json:"revision"` // VCS commit; unknown without VCS stamps
	Time      string `json:"time"`     // commit time; unknown without VCS stamps
	Modified  bool   `json:"modified"` // built from a checkout with uncommitted changes
	GoVersion string `json:"go_version"`
}

func (v versionInfo) String() string {
	rev := v.Revision
	if v.Modified {
		rev += "+modified"
	}
	return fmt.Sprintf("%s (revision %s, %s, %s)", v.Version, rev, v.Time, v.GoVersion)
}

// readVersion reads the build info; read is debug.ReadBuildInfo outside tests.
func readVersion(read func() (*debug.BuildInfo, bool)) versionInfo {
	v := versionInfo{Version: "(devel)", Revision: "unknown", Time: "unknown", GoVersion: "unknown"}
	bi, ok := read()
	if !ok {
		return v
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		v.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func newCmdVersion(a *app) *cobra.Command {
	var o output
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print quench's version and the commit it was built from",
		Long: `Version prints the module version (a tag when installed with go install
…@vX.Y.Z, "(devel)" when built from a checkout), the VCS revision and its
time ("unknown" when the binary has no VCS stamps, e.g. go build -buildvcs=false),
and the Go version. quench --version prints the same line.`,
		Example: `  quench version
  quench version -o json
  quench --version`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(*cobra.Command, []string) error {
			v := readVersion(debug.ReadBuildInfo)
			if o.json() {
				return writeJSON(a.out, v)
			}
			_, err := fmt.Fprintf(a.out, "quench %s\n", v)
			return err
		},
	}
	o.add(cmd)
	return cmd
}
