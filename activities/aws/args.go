package aws

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// scalarText is an argument stored as text that a runbook may give as a
// string, a number or a bool (a ${{ }} expression keeps its type).
type scalarText string

func (s *scalarText) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case string:
		*s = scalarText(v)
	case float64, bool:
		*s = scalarText(strings.TrimSpace(string(b)))
	default:
		// An UnmarshalTypeError gets the argument's name added by the decoder.
		return &json.UnmarshalTypeError{Value: "non-scalar " + string(b), Type: reflect.TypeFor[string]()}
	}
	return nil
}

// number is a numeric argument a runbook may give as a number or as a
// numeric string.
type number float64

func (n *number) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case float64:
		*n = number(v)
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return &json.UnmarshalTypeError{Value: fmt.Sprintf("string %q", v), Type: reflect.TypeFor[float64]()}
		}
		*n = number(f)
	default:
		return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[float64]()}
	}
	return nil
}
