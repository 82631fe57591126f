package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// quench actions tells which changes a rollback undoes and which it keeps
// on purpose (restores of a control the incident found broken): an
// operator deciding between resolve --rollback and --keep reads this.
func TestActionsSayWhatRollbackKeeps(t *testing.T) {
	res := runQuench(t, "actions")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	for name, want := range map[string]string{
		"lambda.limit_concurrency":           "(mutating, undone on rollback)",
		"bedrock.restore_invocation_logging": "(mutating, kept on rollback by design)",
		"bedrock.revert_guardrail_draft":     "(mutating, kept on rollback by design)",
		"s3.restore_object_version":          "(mutating, kept on rollback by design)",
		"cloudtrail.lookup_events":           "",
	} {
		line := ""
		for _, l := range strings.Split(res.stdout, "\n") {
			if strings.HasPrefix(l, name+" ") || l == name {
				line = l
			}
		}
		if line == "" || !strings.HasSuffix(line, want) || want == "" && strings.Contains(line, "(") {
			t.Errorf("%s listed as %q, want it to end %q", name, line, want)
		}
	}
	// JSON carries the same, for scripts.
	res = runQuench(t, "actions", "-o", "json")
	var specs []struct {
		Name           string `json:"name"`
		KeptOnRollback bool   `json:"kept_on_rollback"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &specs); err != nil {
		t.Fatalf("actions -o json: %v\n%s", err, res.stdout)
	}
	kept := map[string]bool{}
	for _, s := range specs {
		kept[s.Name] = s.KeptOnRollback
	}
	if !kept["bedrock.sync_data_source"] || kept["iam.deny_role_actions"] {
		t.Errorf("kept_on_rollback: sync_data_source %v, deny_role_actions %v", kept["bedrock.sync_data_source"], kept["iam.deny_role_actions"])
	}
}
