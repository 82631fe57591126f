package runbooks

import (
	"strings"
	"testing"
	"time"
)

func TestWatchSettingsForms(t *testing.T) {
	steps := "steps:\n  - {id: a, action: core.log, with: {message: hi}}\n"
	tests := []struct {
		name     string
		watch    string
		interval time.Duration
		onDrift  string
	}{
		{"absent: every five minutes", "", DefaultWatchInterval, ""},
		{"zero turns it off", "watch: 0\n", 0, ""},
		{"0s turns it off", "watch: 0s\n", 0, ""},
		{"an interval alone", "watch: 10m\n", 10 * time.Minute, ""},
		{"a mapping", "approvals:\n  approvers: {cli_users: [alice]}\nwatch: {interval: 2s, on_drift: ask}\n", 2 * time.Second, "ask"},
		{"a mapping without interval keeps the default", "watch: {on_drift: record}\n", DefaultWatchInterval, "record"},
		{"interval 0 in a mapping", "watch: {interval: 0, on_drift: reapply}\n", 0, "reapply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rb, err := Load("x.yaml", []byte(header+tt.watch+steps), newTestCatalog())
			if err != nil {
				t.Fatal(err)
			}
			if got := rb.WatchInterval(); got != tt.interval {
				t.Errorf("interval %s, want %s", got, tt.interval)
			}
			got := ""
			if rb.Watch != nil {
				got = rb.Watch.OnDrift
			}
			if got != tt.onDrift {
				t.Errorf("on_drift %q, want %q", got, tt.onDrift)
			}
		})
	}
}

func TestWatchSettingsErrorsPointAtTheField(t *testing.T) {
	steps := "steps:\n  - {id: a, action: core.log, with: {message: hi}}\n"
	tests := []struct {
		name, watch, want string
	}{
		{"unknown policy", "watch: {interval: 5m, on_drift: revert}\n", `x.yaml:6:33: on_drift must be one of reapply, ask, record, got "revert"`},
		{"ask without approvers", "watch: {on_drift: ask}\n", `x.yaml:6:19: on_drift ask asks the runbook's approvers to re-apply a drifted change, but the approvals block lists none`},
		{"too short", "watch: {interval: 10ms}\n", `x.yaml:6:19: watch interval 10ms is shorter than 1s; use 0 to turn the watch off`},
		{"negative", "watch: -5m\n", `x.yaml:6:8: "watch" must be greater than zero, got "-5m"`},
		{"not a duration", "watch: often\n", `x.yaml:6:8: "watch": invalid duration "often"`},
		{"unknown field", "watch: {every: 5m}\n", `x.yaml:6:9: unknown field "every" in watch`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("x.yaml", []byte(header+tt.watch+steps), newTestCatalog())
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if lines := strings.Split(err.Error(), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], tt.want) {
				t.Errorf("got:\n%s\nwant one error starting:\n%s", err, tt.want)
			}
		})
	}
}

func TestDefaultOnDrift(t *testing.T) {
	for action, want := range map[string]string{
		"iam.deactivate_access_key": "reapply", "iam.deny_role_actions": "reapply",
		"lambda.limit_concurrency": "record", "core.record": "record",
	} {
		if got := DefaultOnDrift(action); got != want {
			t.Errorf("DefaultOnDrift(%s) = %s, want %s", action, got, want)
		}
	}
}
