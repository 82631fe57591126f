package awsfake

// Helpers for Smithy RPC v2 CBOR (CloudWatch): reading the generic values
// smithy-go's cbor package decodes, and writing replies and errors.

import (
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// cborWrite writes an rpc-v2-cbor reply.
func cborWrite(w http.ResponseWriter, status int, v cbor.Value) {
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.WriteHeader(status)
	_, _ = w.Write(cbor.Encode(v))
}

// cborWriteError writes an rpc-v2-cbor error. The body's __type names the
// error; services that are awsQuery-compatible (CloudWatch) also send the
// query error code in X-Amzn-Query-Error, which the SDK prefers.
func cborWriteError(w http.ResponseWriter, status int, code, message string) {
	fault := "Sender"
	if status >= 500 {
		fault = "Receiver"
	}
	w.Header().Set("X-Amzn-Query-Error", code+";"+fault)
	cborWrite(w, status, cbor.Map{"__type": cbor.String(code), "message": cbor.String(message)})
}

// cborTime encodes t as an epoch-seconds timestamp (tag 1, float64), as the
// protocol requires.
func cborTime(t time.Time) cbor.Value {
	return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(t.UnixMilli()) / 1e3)}
}

// cborFields reads a CBOR map with typed accessors; the first type error is kept.
type cborFields struct {
	m    cbor.Map
	path string
	err  error
}

func newCBORFields(v cbor.Value, path string) *cborFields {
	m, ok := v.(cbor.Map)
	f := &cborFields{m: m, path: path}
	if !ok && v != nil {
		f.err = fmt.Errorf("%s: expected a structure, got %T", path, v)
	}
	return f
}

func (f *cborFields) fail(key, want string, v cbor.Value) {
	if f.err == nil {
		f.err = fmt.Errorf("%s.%s: expected %s, got %T", f.path, key, want, v)
	}
}

func (f *cborFields) str(key string) string {
	v, ok := f.m[key]
	if !ok {
		return ""
	}
	s, ok := v.(cbor.String)
	if !ok {
		f.fail(key, "a string", v)
	}
	return string(s)
}

func (f *cborFields) int(key string) (int64, bool) {
	v, ok := f.m[key]
	if !ok {
		return 0, false
	}
	switch n := v.(type) {
	case cbor.Uint:
		if n > math.MaxInt64 {
			f.fail(key, "an int64", v)
		}
		return int64(n), true
	case cbor.NegInt:
		return -int64(n) - 1, true
	}
	f.fail(key, "an integer", v)
	return 0, false
}

func (f *cborFields) boolean(key string, def bool) bool {
	v, ok := f.m[key]
	if !ok {
		return def
	}
	b, ok := v.(cbor.Bool)
	if !ok {
		f.fail(key, "a boolean", v)
	}
	return bool(b)
}

func (f *cborFields) time(key string) (time.Time, bool) {
	v, ok := f.m[key]
	if !ok {
		return time.Time{}, false
	}
	tag, ok := v.(*cbor.Tag)
	if !ok || tag.ID != 1 {
		f.fail(key, "a timestamp (tag 1)", v)
		return time.Time{}, false
	}
	switch n := tag.Value.(type) {
	case cbor.Uint:
		return time.Unix(int64(n), 0).UTC(), true
	case cbor.NegInt:
		return time.Unix(-int64(n)-1, 0).UTC(), true
	case cbor.Float64:
		return time.UnixMilli(int64(math.Round(float64(n) * 1e3))).UTC(), true
	case cbor.Float32:
		return time.UnixMilli(int64(math.Round(float64(n) * 1e3))).UTC(), true
	}
	f.fail(key, "an epoch timestamp", tag.Value)
	return time.Time{}, false
}

func (f *cborFields) list(key string) cbor.List {
	v, ok := f.m[key]
	if !ok {
		return nil
	}
	l, ok := v.(cbor.List)
	if !ok {
		f.fail(key, "a list", v)
	}
	return l
}

func (f *cborFields) sub(key string) *cborFields {
	return newCBORFields(f.m[key], f.path+"."+key)
}
