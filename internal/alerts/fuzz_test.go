package alerts

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// Fuzzing: the integration test links the Temporal server, which is slow
// to build with fuzzing instrumentation, so leave it out:
//
//	go test -tags nointegration -run '^$' -fuzz FuzzParseGeneric -fuzztime 15s ./internal/alerts/

func seedFiles(f *testing.F, pattern string) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds match testdata/%s", pattern)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// checkParsed holds for every parser: a refusal is a 400 with a reason,
// and every alert has a name, a known status and the parser's source.
func checkParsed(t *testing.T, source string, alerts []Alert, err error) {
	t.Helper()
	if err != nil {
		var rerr *RequestError
		if !errors.As(err, &rerr) || rerr.Status != http.StatusBadRequest || rerr.Msg == "" {
			t.Fatalf("error %v is not a 400 RequestError with a reason", err)
		}
		if alerts != nil {
			t.Fatal("alerts returned with an error")
		}
		return
	}
	if len(alerts) == 0 {
		t.Fatal("no alerts and no error")
	}
	for _, a := range alerts {
		if a.Name == "" || a.Source != source {
			t.Fatalf("alert %+v: want a name and source %s", a, source)
		}
		switch a.Status {
		case StatusFiring, StatusResolved, StatusUnknown:
		default:
			t.Fatalf("alert status %q", a.Status)
		}
		_ = a.celValue()
	}
}

func FuzzParseAlertmanager(f *testing.F) {
	seedFiles(f, "alertmanager*.json")
	f.Add([]byte(`{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"x"}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		alerts, err := ParseAlertmanager(b)
		checkParsed(t, SourceAlertmanager, alerts, err)
	})
}

func FuzzParseEventBridge(f *testing.F) {
	seedFiles(f, "eventbridge-*.json")
	f.Add([]byte(`{"detail-type":"GuardDuty Finding","detail":{"type":"Recon:IAMUser/UserPermissions","severity":5}}`))
	f.Add([]byte(`{"detail-type":"Security Hub Findings - Imported","detail":{"findings":[{"Id":"f1","Types":["a"]},{"Id":"f2","RecordState":"ARCHIVED"}]}}`))
	f.Add([]byte(`{"detail-type":"AWS API Call via CloudTrail","detail":{"eventName":"DeleteGuardrail","requestParameters":{"guardrailIdentifier":"g","n":1,"o":{}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		alerts, err := ParseEventBridge(b)
		checkParsed(t, SourceEventBridge, alerts, err)
	})
}

func FuzzParseGeneric(f *testing.F) {
	seedFiles(f, "generic*.json")
	f.Add([]byte(`{"alerts":[{"name":"a"},{"name":"b","status":"resolved"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		alerts, err := ParseGeneric(b)
		checkParsed(t, SourceGeneric, alerts, err)
	})
}

// FuzzParseSNS covers the envelope, its string to sign, and the alarm or
// event inside Message.
//
// Seeds: every testdata/sns-*.json (alarms, anomaly-detection alarms, cost
// anomalies, budget notifications).
func FuzzParseSNS(f *testing.F) {
	seedFiles(f, "sns-*.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := ParseSNSEnvelope(b)
		if err != nil {
			checkParsed(t, SourceSNS, nil, err)
			return
		}
		_ = env.StringToSign()
		_, _ = checkSNSURL("SigningCertURL", env.SigningCertURL)
		if env.Type != SNSNotification {
			return
		}
		if err := checkDepth([]byte(env.Message), DefaultMaxDepth); err != nil {
			return
		}
		alerts, err := ParseSNSMessage(env)
		checkParsed(t, SourceSNS, alerts, err)
	})
}

func FuzzParseRoutes(f *testing.F) {
	seedFiles(f, "routes.yaml")
	if b, err := os.ReadFile("../../examples/routes.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(routesHeader + "routes:\n  - name: a\n    match: {alarm_name: '/x(/'}\n    runbook: usage-spike\n"))
	lib := testLibrary(f)
	probe := Alert{Source: SourceSNS, Name: "bedrock-x-token-spike", Status: StatusFiring, Labels: map[string]string{"ModelId": "m", "env": "prod"}}
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := ParseRoutes("routes.yaml", b, lib)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		// A valid file must route without panicking; plan errors are fine.
		_, _ = planAlert(probe, rs, lib)
	})
}
