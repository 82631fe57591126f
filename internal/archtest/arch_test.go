package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/quenchhq/quench"

// goList runs `go list` from the module root with a template and returns its lines.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// Workflow code is replayed deterministically; it must not be able to reach
// AWS or Slack, not even by importing a package that could.
func TestWorkflowsImportNoNetworkClients(t *testing.T) {
	for _, pkg := range []string{"./workflows", "./workflows/contract"} {
		for _, dep := range goList(t, "-deps", pkg) {
			if strings.HasPrefix(dep, "github.com/aws/") || strings.HasPrefix(dep, "github.com/slack-go/") {
				t.Errorf("%s depends on %s: move what it needs into workflows/contract", pkg, dep)
			}
		}
	}
}

// Test servers (fake AWS, fake Slack) live in internal/testing and are
// imported only by tests and by each other.
func TestTestServersOnlyInTests(t *testing.T) {
	wing := module + "/internal/testing/"
	lines := goList(t, "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...")
	checked := 0
	for _, line := range lines {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg, imports := fields[0], fields[1:]
		checked++
		if strings.HasPrefix(pkg, wing) {
			continue
		}
		for _, imp := range imports {
			if strings.HasPrefix(imp, wing) {
				t.Errorf("%s imports test server %s outside a _test.go file", pkg, imp)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("go list saw only %d packages; the check would prove nothing", checked)
	}
}
