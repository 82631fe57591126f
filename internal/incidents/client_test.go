package incidents

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidateID(t *testing.T) {
	tests := []struct {
		name, id string
		problem  string // "" means valid
	}{
		{"plain", "spike-2026-11-28", ""},
		{"punctuation", "alert:prod/chatbot#1", ""},
		{"200 characters", strings.Repeat("x", 200), ""},
		{"empty", "", "it is empty"},
		{"201 characters", strings.Repeat("x", 201), "it is 201 bytes long"},
		{"newline", "spike\n1", `character '\n' at byte 5`},
		{"space", "spike 1", `character ' ' at byte 5`},
		{"tab", "\tspike", `character '\t' at byte 0`},
		{"non-ASCII", "spiké", `character 'é' at byte 4`},
		{"DEL", "spike\x7f", `character '\x7f' at byte 5`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateID(tt.id)
			if tt.problem == "" {
				if err != nil {
					t.Fatalf("ValidateID(%q) = %v, want ok", tt.id, err)
				}
				return
			}
			var bad *InvalidIDError
			if !errors.As(err, &bad) {
				t.Fatalf("ValidateID(%q) = %v, want *InvalidIDError", tt.id, err)
			}
			if !strings.Contains(err.Error(), tt.problem) || !strings.Contains(err.Error(), "printable ASCII") {
				t.Errorf("message %q lacks %q", err, tt.problem)
			}
		})
	}
}

func TestErrorMessages(t *testing.T) {
	at := time.Date(2026, 11, 28, 14, 2, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		err  error
		want string
	}{
		{&AlreadyOpenError{ID: "demo-1", Started: at}, "incident demo-1 is already open (started 2026-11-28T13:02:00Z); use a new id or resolve it"},
		{&ClosedError{ID: "demo-1", ClosedAt: at, State: "rolled_back"}, "incident demo-1 is closed (closed at 2026-11-28T13:02:00Z, state rolled_back)"},
		{&ClosedError{ID: "demo-1", ClosedAt: at, State: "cancelled", Hint: "start with a new id"}, "incident demo-1 is closed (closed at 2026-11-28T13:02:00Z, state cancelled); start with a new id"},
		{&NotFoundError{ID: "demo-1"}, "incident demo-1 not found"},
		{&NotFoundError{ID: "demo-1", RunID: "r1"}, "incident demo-1 has no run r1"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
}
