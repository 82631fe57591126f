package runbooks

import (
	"reflect"
	"strings"
	"testing"
)

const paramsRunbook = header + `params:
  role: {type: string, required: true, pattern: '^[a-z-]+$'}
  limit: {type: int, default: 10}
  dry: {type: bool}
  regions: {type: list, enum: [us-east-1, eu-west-1]}
  mode: {type: string, enum: [deny, audit], default: deny}
steps:
  - {id: a, action: core.log, with: {message: 'hi ${{ params.role }}'}}
`

func loadParamsRunbook(t *testing.T) *Runbook {
	t.Helper()
	rb, err := Load("p.yaml", []byte(paramsRunbook), newTestCatalog())
	if err != nil {
		t.Fatal(err)
	}
	return rb
}

func TestResolveParams(t *testing.T) {
	rb := loadParamsRunbook(t)
	tests := []struct {
		name    string
		given   map[string]string
		want    map[string]any
		wantErr []string
	}{
		{
			name:  "converts types and fills defaults and zero values",
			given: map[string]string{"role": "chatbot", "limit": "3", "dry": "true", "regions": "us-east-1, eu-west-1"},
			want:  map[string]any{"role": "chatbot", "limit": 3, "dry": true, "regions": []any{"us-east-1", "eu-west-1"}, "mode": "deny"},
		},
		{
			name:  "optional params without defaults get zero values",
			given: map[string]string{"role": "chatbot"},
			want:  map[string]any{"role": "chatbot", "limit": 10, "dry": false, "regions": []any{}, "mode": "deny"},
		},
		{
			name:    "missing required param",
			given:   map[string]string{},
			wantErr: []string{`missing required param "role" (string)`},
		},
		{
			name:    "unknown param suggests the close one",
			given:   map[string]string{"role": "x", "limt": "3"},
			wantErr: []string{`unknown param "limt" for runbook demo (did you mean "limit"?) (it takes dry, limit, mode, regions, role)`},
		},
		{
			name:  "every bad value is named",
			given: map[string]string{"role": "Chat_Bot", "limit": "ten", "dry": "maybe", "regions": "us-east-1,mars-1", "mode": "block"},
			wantErr: []string{
				`param "limit" must be an integer, got "ten"`,
				`param "dry" must be true or false, got "maybe"`,
				`param "role": "Chat_Bot" does not match pattern ^[a-z-]+$`,
				`param "regions" must be one of us-east-1, eu-west-1, got "mars-1"`,
				`param "mode" must be one of deny, audit, got "block"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveParams(rb, tt.given)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("got %v, want errors", got)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q\ndoes not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestCheckParams(t *testing.T) {
	rb := loadParamsRunbook(t)
	tests := []struct {
		name    string
		given   map[string]any
		want    map[string]any
		wantErr string
	}{
		{
			name:  "JSON numbers and typed lists",
			given: map[string]any{"role": "chatbot", "limit": float64(7), "dry": true, "regions": []any{"eu-west-1"}},
			want:  map[string]any{"role": "chatbot", "limit": 7, "dry": true, "regions": []any{"eu-west-1"}, "mode": "deny"},
		},
		{
			name:  "strings from alert labels are converted",
			given: map[string]any{"role": "chatbot", "limit": "7", "dry": "false", "regions": "eu-west-1"},
			want:  map[string]any{"role": "chatbot", "limit": 7, "dry": false, "regions": []any{"eu-west-1"}, "mode": "deny"},
		},
		{name: "fractional int", given: map[string]any{"role": "chatbot", "limit": 7.5}, wantErr: `param "limit" must be an integer, got the number 7.5`},
		{name: "number for a string", given: map[string]any{"role": 42}, wantErr: `param "role" must be a string, got the integer 42`},
		{name: "list of non-strings", given: map[string]any{"role": "x", "regions": []any{1}}, wantErr: `param "regions" must be a list of strings; item 1 is the integer 1`},
		{name: "pattern still applies", given: map[string]any{"role": "DROP TABLE"}, wantErr: `param "role": "DROP TABLE" does not match pattern`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckParams(rb, tt.given)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestResolvedParamsFeedExpressions(t *testing.T) {
	rb := loadParamsRunbook(t)
	params, err := ResolveParams(rb, map[string]string{"role": "chatbot", "regions": "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Render("${{ params.limit + size(params.regions) }} ${{ params.role }}", Vars{Params: params})
	if err != nil || got != "11 chatbot" {
		t.Fatalf("got %v, %v", got, err)
	}
}
