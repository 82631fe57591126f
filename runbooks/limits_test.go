package runbooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// bigRunbook writes a valid-looking runbook with n notify steps, each
// message msgLen bytes of fill.
func bigRunbook(n, msgLen int, fill string) []byte {
	var b bytes.Buffer
	b.WriteString(header + "steps:\n")
	msg := strings.Repeat(fill, msgLen/len(fill))
	for i := range n {
		fmt.Fprintf(&b, "  - id: s%d\n    notify: {message: '%s'}\n", i, msg)
	}
	return b.Bytes()
}

// parseErr parses data and returns its one error.
func parseErr(t *testing.T, data []byte) *Error {
	t.Helper()
	_, err := Parse("x.yaml", data)
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 {
		t.Fatalf("want exactly one error, got %v", err)
	}
	return errs[0]
}

func TestHugeRunbookIsRefusedBeforeDecoding(t *testing.T) {
	data := bigRunbook(200_000, 45, "x") // the 17 MB, 200,000 steps
	if len(data) < 17_000_000 {
		t.Fatalf("test premise: runbook is %d bytes", len(data))
	}
	start := time.Now()
	e := parseErr(t, data)
	elapsed := time.Since(start)
	t.Logf("refused a %d-byte, 200,000-step runbook in %v", len(data), elapsed)

	wantLine := bytes.Count(data[:MaxFileBytes], []byte("\n")) + 1
	if e.Line != wantLine || e.Col < 1 {
		t.Errorf("error at %d:%d, want line %d (where 1 MiB is reached)", e.Line, e.Col, wantLine)
	}
	want := fmt.Sprintf("runbook file is %d bytes; a runbook may be at most 1 MiB", len(data))
	if !strings.Contains(e.Msg, want) {
		t.Errorf("got %q, want it to contain %q", e.Msg, want)
	}
	if FileKind(data) != "" {
		t.Error("FileKind decoded a file over the limit")
	}
}

func TestRunbookLimits(t *testing.T) {
	steps := func(n int) string {
		var b strings.Builder
		b.WriteString(header + "steps:\n")
		for i := range n {
			fmt.Fprintf(&b, "  - {id: s%d, wait: {duration: 1s}}\n", i)
		}
		return b.String()
	}
	long := strings.Repeat("a", MaxStringBytes+1)
	tests := []struct {
		name string
		yaml string
		want string // "" for no error
	}{
		{"500 steps are accepted", steps(MaxSteps), ""},
		{"501 steps are refused at step 501", steps(MaxSteps + 1),
			fmt.Sprintf("x.yaml:%d:5: runbook has 501 steps; a runbook may have at most 500 (this is step 501)", 7+MaxSteps)},
		{"a 64 KiB message is accepted", header + "steps:\n  - id: a\n    notify: {message: " + long[1:] + "}\n", ""},
		{"a longer message is refused", header + "steps:\n  - id: a\n    notify: {message: " + long + "}\n",
			`x.yaml:8:23: "message" is 65537 bytes long; a string may be at most 64 KiB (65536 bytes)`},
		{"a long action argument is refused", header + "steps:\n  - id: a\n    action: core.log\n    with:\n      message: [ok, " + long + "]\n",
			`x.yaml:10:21: "message[1]" is 65537 bytes long`},
		{"a long description is refused", header + "  description: " + long + "\nsteps: []\n",
			`x.yaml:6:16: "description" is 65537 bytes long`},
		{"a long param description is refused", header + "params:\n  p: {type: string, description: " + long + "}\nsteps: []\n",
			`x.yaml:7:34: "description" is 65537 bytes long`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tt.yaml))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v\nwant an error containing %s", err, tt.want)
			}
		})
	}
}

func TestRunbookTooLargeAsJSONIsRefusedAtTheStep(t *testing.T) {
	// Under 1 MiB as YAML, but JSON writes each < as \u003c: ~5.6 MiB.
	data := bigRunbook(16, 60<<10, "<")
	if len(data) > MaxFileBytes {
		t.Fatalf("test premise: %d bytes", len(data))
	}
	e := parseErr(t, data)
	// Steps take 2 lines from line 7; each is ~360 KiB of JSON, so the
	// fourth crosses 1.25 MiB.
	if e.Line != 7+3*2 || !strings.Contains(e.Msg, "a runbook may be at most 1280 KiB (1310720 bytes) as JSON") {
		t.Errorf("got %v, want the JSON limit at line %d", e, 7+3*2)
	}
}

// TestLimitsKeepWorkflowInputSmall measures the runbook's JSON (the
// Incident workflow's input) at the limits; the figures are in parse.go.
func TestLimitsKeepWorkflowInputSmall(t *testing.T) {
	cases := []struct {
		name string
		data []byte
	}{
		{"500 minimal steps", bigRunbook(MaxSteps, 1, "x")},
		{"500 steps of plain text, just under 1 MiB", bigRunbook(MaxSteps, (MaxFileBytes-40_000)/MaxSteps, "x")},
		{"16 steps of 60 KiB plain text", bigRunbook(16, 60<<10, "x")},
		{"3 steps of 60 KiB of '<' (6 bytes each in JSON)", bigRunbook(3, 60<<10, "<")},
	}
	for _, c := range cases {
		rb, err := Parse("x.yaml", c.data)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		b, err := json.Marshal(rb)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes of YAML, %d bytes of JSON", c.name, len(c.data), len(b))
		if len(b) > MaxJSONBytes {
			t.Errorf("%s: accepted with %d bytes of JSON, over MaxJSONBytes", c.name, len(b))
		}
	}
}
